//! `contrats` and `lignes_contrat`: imported contracts, upserted by (organisation,
//! reference) with their lines replaced as a whole (which also gives an archived contract
//! its statut from the data again), set `ARCHIVE` when their prospect vanished; read by
//! `contrats.ContratService`.

use std::collections::HashMap;

use chrono::NaiveDate;
use crm_db::commercial::schema::{contrats as c, lignes_contrat as l};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::models::{ContratRow, LigneRow};
use super::{DbError, DbPool};
use crate::domain::{Contrat, ContratLigne, ContratWithLignes};
use service_kit::auth::{Organisations, Tenant};

/// A contract to write, with its client and lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContratUpsert {
    pub reference: String,
    pub external_id: String,
    pub client_id: Uuid,
    pub titre: String,
    pub statut: String,
    pub montant: Option<Decimal>,
    pub date_signature: Option<NaiveDate>,
    pub date_debut: Option<NaiveDate>,
    pub devise: String,
    pub frequence_facturation: Option<String>,
    pub fournisseur: String,
    pub commercial_id: Option<String>,
    pub notes: Option<String>,
    pub lignes: Vec<LigneUpsert>,
}

/// A contract line to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LigneUpsert {
    pub nom: String,
    pub prix_unitaire: Option<Decimal>,
    pub quantite: i32,
    pub categorie: Option<String>,
    pub offre_id: Option<String>,
}

/// Upserts contracts and replaces their lines, in three statements whatever their number
/// (inside the batch transaction). References must be unique within `rows`. Returns the
/// contract id of each reference.
#[tracing::instrument(name = "db", skip_all, fields(op = "upsert_contrats", batch = rows.len()))]
pub(crate) async fn upsert_on(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    source: &str,
    rows: &[ContratUpsert],
) -> Result<HashMap<String, Uuid>, diesel::result::Error> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    fn col<T>(rows: &[ContratUpsert], f: impl Fn(&ContratUpsert) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    #[derive(QueryableByName)]
    struct Returned {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        reference: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        inserted: bool,
    }
    let returned: Vec<Returned> = diesel::sql_query(
        "INSERT INTO contrats (organisation_id, reference, external_id, client_id, titre, statut, montant, \
           date_signature, date_debut, devise, frequence_facturation, fournisseur, commercial_id, notes, source) \
         SELECT $1, u.reference, u.external_id, u.client_id, u.titre, u.statut, u.montant::numeric, \
           u.date_signature::date, u.date_debut::date, u.devise, u.frequence, u.fournisseur, u.commercial_id, \
           u.notes, $2 \
         FROM UNNEST($3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], \
           $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) \
           AS u(reference, external_id, client_id, titre, statut, montant, date_signature, date_debut, devise, \
                frequence, fournisseur, commercial_id, notes) \
         ON CONFLICT (organisation_id, reference) DO UPDATE SET \
           external_id = EXCLUDED.external_id, client_id = EXCLUDED.client_id, titre = EXCLUDED.titre, \
           statut = EXCLUDED.statut, montant = EXCLUDED.montant, date_signature = EXCLUDED.date_signature, \
           date_debut = EXCLUDED.date_debut, devise = EXCLUDED.devise, \
           frequence_facturation = EXCLUDED.frequence_facturation, fournisseur = EXCLUDED.fournisseur, \
           commercial_id = EXCLUDED.commercial_id, notes = EXCLUDED.notes, source = EXCLUDED.source, \
           updated_at = now() \
         RETURNING id, reference::text AS reference, (xmax = 0) AS inserted",
    )
    .bind::<diesel::sql_types::Uuid, _>(organisation_id)
    .bind::<Text, _>(source)
    .bind::<Array<Text>, _>(col(rows, |r| r.reference.clone()))
    .bind::<Array<Text>, _>(col(rows, |r| r.external_id.clone()))
    .bind::<Array<diesel::sql_types::Uuid>, _>(col(rows, |r| r.client_id))
    .bind::<Array<Text>, _>(col(rows, |r| r.titre.clone()))
    .bind::<Array<Text>, _>(col(rows, |r| r.statut.clone()))
    .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.montant.map(|d| d.to_string())))
    .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.date_signature.map(|d| d.to_string())))
    .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.date_debut.map(|d| d.to_string())))
    .bind::<Array<Text>, _>(col(rows, |r| r.devise.clone()))
    .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.frequence_facturation.clone()))
    .bind::<Array<Text>, _>(col(rows, |r| r.fournisseur.clone()))
    .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.commercial_id.clone()))
    .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.notes.clone()))
    .load(conn)
    .await?;
    // Only contracts that existed before have lines to replace (`xmax = 0` marks a row this
    // statement inserted): a first import deletes nothing.
    let existing: Vec<Uuid> = returned
        .iter()
        .filter(|r| !r.inserted)
        .map(|r| r.id)
        .collect();
    let ids: HashMap<String, Uuid> = returned.into_iter().map(|r| (r.reference, r.id)).collect();
    if !existing.is_empty() {
        diesel::delete(l::table.filter(l::contrat_id.eq_any(&existing)))
            .execute(conn)
            .await?;
    }

    let mut line_contrat = Vec::new();
    let mut position = Vec::new();
    let mut nom = Vec::new();
    let mut prix = Vec::new();
    let mut quantite = Vec::new();
    let mut categorie = Vec::new();
    let mut offre = Vec::new();
    for row in rows {
        let Some(id) = ids.get(&row.reference) else {
            continue;
        };
        for (i, line) in row.lignes.iter().enumerate() {
            line_contrat.push(*id);
            position.push(i32::try_from(i).unwrap_or(i32::MAX));
            nom.push(line.nom.clone());
            prix.push(line.prix_unitaire.map(|d| d.to_string()));
            quantite.push(line.quantite);
            categorie.push(line.categorie.clone());
            offre.push(line.offre_id.clone());
        }
    }
    if !line_contrat.is_empty() {
        diesel::sql_query(
            "INSERT INTO lignes_contrat (contrat_id, position, nom, prix_unitaire, quantite, categorie, offre_id) \
             SELECT u.c, u.p, u.n, u.prix::numeric, u.q, u.cat, u.o \
             FROM UNNEST($1::uuid[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[]) \
               AS u(c, p, n, prix, q, cat, o)",
        )
        .bind::<Array<diesel::sql_types::Uuid>, _>(line_contrat)
        .bind::<Array<Integer>, _>(position)
        .bind::<Array<Text>, _>(nom)
        .bind::<Array<Nullable<Text>>, _>(prix)
        .bind::<Array<Integer>, _>(quantite)
        .bind::<Array<Nullable<Text>>, _>(categorie)
        .bind::<Array<Nullable<Text>>, _>(offre)
        .execute(conn)
        .await?;
    }
    Ok(ids)
}

/// The statut of the contracts of a prospect that vanished from WinLeadPlus.
pub const ARCHIVE_STATUT: &str = "ARCHIVE";

/// Sets the statut of the organisation's contracts `ids` to [`ARCHIVE_STATUT`], in one
/// statement (inside the archive's transaction). Returns how many it changed.
#[tracing::instrument(name = "db", skip_all, fields(op = "archive_contrats", batch = ids.len()))]
pub(crate) async fn archive_on(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    ids: &[Uuid],
) -> Result<usize, diesel::result::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(
        c::table
            .filter(c::organisation_id.eq(organisation_id))
            .filter(c::id.eq_any(ids))
            .filter(c::statut.ne(ARCHIVE_STATUT)),
    )
    .set((
        c::statut.eq(ARCHIVE_STATUT),
        c::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
}

/// The filters of a contract listing; `None` is no filter.
#[derive(Debug, Clone, Default)]
pub struct ContratFilter {
    pub client_id: Option<Uuid>,
    pub commercial_id: Option<String>,
    /// Imported contracts belong to no company: any value matches none of them.
    pub societe_id: Option<Uuid>,
    pub statut: Option<String>,
    /// Text to find in reference or titre, ignoring case.
    pub search: Option<String>,
}

/// One page of a listing, in a stable order.
#[derive(Debug, Clone, Copy)]
pub struct ContratPage {
    /// From 1.
    pub page: i64,
    pub limit: i64,
    pub sort: crate::domain::ContratSort,
    pub descending: bool,
}

/// Contract reads over the pool. Every read is bounded by organisations: the one a request
/// names ([`Tenant`]) or, by id, the caller's ([`Organisations`]).
#[derive(Clone)]
pub struct ContratStore {
    pool: DbPool,
}

impl ContratStore {
    /// A store over this pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// A contract by id, when one of `organisations` owns it: another organisation's is
    /// `None`, exactly as one that does not exist.
    #[tracing::instrument(name = "db", skip_all, fields(op = "get_contrat"))]
    pub async fn get(
        &self,
        organisations: &Organisations,
        id: Uuid,
    ) -> Result<Option<Contrat>, DbError> {
        let mut conn = self.pool.get().await?;
        Ok(get_on(&mut conn, organisations, id)
            .await?
            .map(Contrat::from))
    }

    /// A contract by its reference within one organisation (references are unique there).
    #[tracing::instrument(name = "db", skip_all, fields(op = "contrat_by_reference"))]
    pub async fn get_by_reference(
        &self,
        tenant: Tenant,
        reference: &str,
    ) -> Result<Option<Contrat>, DbError> {
        let mut conn = self.pool.get().await?;
        let row: Option<ContratRow> = c::table
            .filter(c::organisation_id.eq(tenant.id()))
            .filter(c::reference.eq(reference))
            .select(ContratRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        Ok(row.map(Contrat::from))
    }

    /// A contract by id with its lines in order, when one of `organisations` owns it.
    #[tracing::instrument(name = "db", skip_all, fields(op = "contrat_with_lines"))]
    pub async fn get_with_lines(
        &self,
        organisations: &Organisations,
        id: Uuid,
    ) -> Result<Option<ContratWithLignes>, DbError> {
        let mut conn = self.pool.get().await?;
        let Some(contrat) = get_on(&mut conn, organisations, id).await? else {
            return Ok(None);
        };
        let lignes: Vec<LigneRow> = l::table
            .filter(l::contrat_id.eq(id))
            .order_by(l::position)
            .select(LigneRow::as_select())
            .load(&mut conn)
            .await?;
        Ok(Some(ContratWithLignes {
            contrat: contrat.into(),
            lignes: lignes.into_iter().map(ContratLigne::from).collect(),
        }))
    }

    /// One page of the organisation's contracts matching `filter`, and how many match.
    #[tracing::instrument(name = "db", skip_all, fields(op = "list_contrats"))]
    pub async fn list(
        &self,
        tenant: Tenant,
        filter: &ContratFilter,
        page: ContratPage,
    ) -> Result<(Vec<Contrat>, i64), DbError> {
        use crate::domain::ContratSort;

        if filter.societe_id.is_some() {
            return Ok((Vec::new(), 0));
        }
        let mut conn = self.pool.get().await?;
        let pattern = filter
            .search
            .as_deref()
            .map(|s| format!("%{}%", escape_like(s)));
        let filtered = || {
            let mut q = c::table
                .filter(c::organisation_id.eq(tenant.id()))
                .into_boxed();
            if let Some(client) = filter.client_id {
                q = q.filter(c::client_id.eq(client));
            }
            if let Some(commercial) = &filter.commercial_id {
                q = q.filter(c::commercial_id.eq(commercial.clone()));
            }
            if let Some(statut) = &filter.statut {
                q = q.filter(c::statut.eq(statut.clone()));
            }
            if let Some(pattern) = &pattern {
                q = q.filter(
                    c::reference
                        .ilike(pattern.clone())
                        .or(c::titre.ilike(pattern.clone())),
                );
            }
            q
        };
        let total: i64 = filtered().select(count_star()).first(&mut conn).await?;
        let q = filtered();
        // Nullable columns put their NULLs last either way: unknown amounts or dates are
        // never what a sorted page starts with.
        let q = match (page.sort, page.descending) {
            (ContratSort::CreatedAt, false) => q.order_by(c::created_at.asc()),
            (ContratSort::CreatedAt, true) => q.order_by(c::created_at.desc()),
            (ContratSort::UpdatedAt, false) => q.order_by(c::updated_at.asc()),
            (ContratSort::UpdatedAt, true) => q.order_by(c::updated_at.desc()),
            (ContratSort::Reference, false) => q.order_by(c::reference.asc()),
            (ContratSort::Reference, true) => q.order_by(c::reference.desc()),
            (ContratSort::Titre, false) => q.order_by(c::titre.asc()),
            (ContratSort::Titre, true) => q.order_by(c::titre.desc()),
            (ContratSort::Statut, false) => q.order_by(c::statut.asc()),
            (ContratSort::Statut, true) => q.order_by(c::statut.desc()),
            (ContratSort::Montant, false) => q.order_by(c::montant.asc().nulls_last()),
            (ContratSort::Montant, true) => q.order_by(c::montant.desc().nulls_last()),
            (ContratSort::DateSignature, false) => q.order_by(c::date_signature.asc().nulls_last()),
            (ContratSort::DateSignature, true) => q.order_by(c::date_signature.desc().nulls_last()),
            (ContratSort::DateDebut, false) => q.order_by(c::date_debut.asc().nulls_last()),
            (ContratSort::DateDebut, true) => q.order_by(c::date_debut.desc().nulls_last()),
        };
        // Ties broken by id, so that consecutive pages never overlap nor skip a row.
        let q = if page.descending {
            q.then_order_by(c::id.desc())
        } else {
            q.then_order_by(c::id.asc())
        };
        let rows: Vec<ContratRow> = q
            .limit(page.limit)
            .offset((page.page - 1).saturating_mul(page.limit))
            .select(ContratRow::as_select())
            .load(&mut conn)
            .await?;
        Ok((rows.into_iter().map(Contrat::from).collect(), total))
    }
}

/// `s` as a literal inside a LIKE pattern (PostgreSQL's default escape is the backslash).
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A contract by id on a connection, when one of `organisations` owns it.
async fn get_on(
    conn: &mut AsyncPgConnection,
    organisations: &Organisations,
    id: Uuid,
) -> Result<Option<ContratRow>, DbError> {
    let mut q = c::table.filter(c::id.eq(id)).into_boxed();
    if let Some(scope) = organisations.scope() {
        q = q.filter(c::organisation_id.eq_any(scope));
    }
    Ok(q.select(ContratRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_in_a_search_are_matched_literally() {
        let cases = [
            ("abc", "abc"),
            ("50%", "50\\%"),
            ("a_b", "a\\_b"),
            ("a\\b", "a\\\\b"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape_like(input), expected, "{input:?}");
        }
    }
}
