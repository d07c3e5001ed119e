//! Reads and writes of CRM clients for the gRPC service. Every method is bounded by the
//! caller: those that name an organisation take a [`Tenant`](service_kit::auth::Tenant) the handler has
//! checked, those that take a client id take the caller's [`Organisations`] and filter by
//! them in SQL, so that a client of another organisation is not found, like a missing one.

use std::collections::HashMap;

use chrono::Utc;
use crm_db::core::functions::{clientbase_search_text, f_unaccent};
use crm_db::core::schema::{adresses, clientbases};
use diesel::dsl::count_star;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;
use service_kit::auth::{Organisations, Tenant};
use uuid::Uuid;

use super::models::{AddressRow, ClientPatchRow, ClientRow, NewClientRow};
use super::{DbError, DbPool};
use crate::domain::{ListQuery, SortField, SourceFilter};
use crate::error::Error;

diesel::define_sql_function! {
    /// PostgreSQL's `lower`.
    fn lower(value: Text) -> Text;
}

/// A client and its addresses.
#[derive(Debug, Clone)]
pub struct ClientWithAddresses {
    /// The client.
    pub client: ClientRow,
    /// Its addresses, principal first.
    pub addresses: Vec<AddressRow>,
}

/// Client queries over the pool.
#[derive(Clone)]
pub struct ClientStore {
    pool: DbPool,
}

type BoxedClients<'a> = clientbases::BoxedQuery<'a, Pg>;

/// A condition on `clientbases` rows, boxed so that it can be built at run time.
type ClientCondition = Box<dyn BoxableExpression<clientbases::table, Pg, SqlType = Bool>>;

impl ClientStore {
    /// A store over this pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Inserts a client created in the CRM into one of the caller's organisations.
    #[tracing::instrument(skip_all, fields(op = "create_client", organisation_id = %organisation.id()))]
    pub async fn create(
        &self,
        organisation: Tenant,
        row: NewClientRow,
    ) -> Result<ClientWithAddresses, DbError> {
        let mut conn = self.pool.get().await?;
        let client = diesel::insert_into(clientbases::table)
            .values((clientbases::organisation_id.eq(organisation.id()), &row))
            .returning(ClientRow::as_returning())
            .get_result(&mut conn)
            .await?;
        Ok(ClientWithAddresses {
            client,
            addresses: Vec::new(),
        })
    }

    /// A live client of the caller's organisations, with its addresses.
    #[tracing::instrument(skip_all, fields(op = "get_client", client_id = %id))]
    pub async fn get(
        &self,
        organisations: &Organisations,
        id: Uuid,
    ) -> Result<ClientWithAddresses, Error> {
        self.find(organisations, id)
            .await?
            .ok_or(Error::NotFound { id })
    }

    async fn find(
        &self,
        organisations: &Organisations,
        id: Uuid,
    ) -> Result<Option<ClientWithAddresses>, DbError> {
        let mut conn = self.pool.get().await?;
        let client = clientbases::table
            .filter(clientbases::id.eq(id))
            .filter(clientbases::deleted_at.is_null())
            .filter(within(organisations))
            .select(ClientRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        let Some(client) = client else {
            return Ok(None);
        };
        let addresses = addresses_of(&mut conn, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        Ok(Some(ClientWithAddresses { client, addresses }))
    }

    /// Applies a partial change to a live client of the caller's organisations. `source` may
    /// only be changed on a client without an external link (an imported client keeps its
    /// origin). The patch has no organisation: a client never moves to another one.
    #[tracing::instrument(skip_all, fields(op = "update_client", client_id = %id))]
    pub async fn update(
        &self,
        organisations: &Organisations,
        id: Uuid,
        mut patch: ClientPatchRow,
    ) -> Result<ClientWithAddresses, Error> {
        let mut conn = self.pool.get().await.map_err(DbError::from)?;
        let current: Option<Option<String>> = clientbases::table
            .filter(clientbases::id.eq(id))
            .filter(clientbases::deleted_at.is_null())
            .filter(within(organisations))
            .select(clientbases::external_source)
            .first(&mut conn)
            .await
            .optional()
            .map_err(DbError::from)?;
        let Some(external_source) = current else {
            return Err(Error::NotFound { id });
        };
        if let (Some(linked), Some(_)) = (&external_source, &patch.source) {
            return Err(Error::FailedPrecondition(format!(
                "the source of a client imported from {linked} cannot be changed"
            )));
        }
        patch.updated_at = Some(Utc::now());
        let updated = diesel::update(clientbases::table)
            .filter(clientbases::id.eq(id))
            .filter(clientbases::deleted_at.is_null())
            .filter(within(organisations))
            .set(&patch)
            .execute(&mut conn)
            .await
            .map_err(DbError::from)?;
        if updated == 0 {
            return Err(Error::NotFound { id });
        }
        drop(conn);
        self.get(organisations, id).await
    }

    /// Soft-deletes a live client of the caller's organisations: it disappears from Get, List
    /// and Search. It also clears the import's archive mark (`archived_at`, left on a manual
    /// client the import unlinked): a CRM user's own Delete is never undone by a restore.
    #[tracing::instrument(skip_all, fields(op = "delete_client", client_id = %id))]
    pub async fn delete(&self, organisations: &Organisations, id: Uuid) -> Result<(), Error> {
        let mut conn = self.pool.get().await.map_err(DbError::from)?;
        let now = Utc::now();
        let deleted = diesel::update(clientbases::table)
            .filter(clientbases::id.eq(id))
            .filter(clientbases::deleted_at.is_null())
            .filter(within(organisations))
            .set((
                clientbases::deleted_at.eq(now),
                clientbases::archived_at.eq(None::<chrono::DateTime<Utc>>),
                clientbases::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .await
            .map_err(DbError::from)?;
        if deleted == 0 {
            Err(Error::NotFound { id })
        } else {
            Ok(())
        }
    }

    /// One page of the live clients of one of the caller's organisations and the total count
    /// of the filter.
    #[tracing::instrument(
        skip_all,
        fields(op = "list_clients", organisation_id = %query.organisation.id(), batch = query.limit)
    )]
    pub async fn list(
        &self,
        query: &ListQuery,
    ) -> Result<(Vec<ClientWithAddresses>, i64), DbError> {
        let mut conn = self.pool.get().await?;
        let total: i64 = filtered(query)
            .select(count_star())
            .first(&mut conn)
            .await?;
        let mut page = filtered(query);
        page = match (query.sort, query.descending) {
            (SortField::CreatedAt, false) => page.order_by(clientbases::created_at.asc()),
            (SortField::CreatedAt, true) => page.order_by(clientbases::created_at.desc()),
            (SortField::UpdatedAt, false) => page.order_by(clientbases::updated_at.asc()),
            (SortField::UpdatedAt, true) => page.order_by(clientbases::updated_at.desc()),
            (SortField::Nom, false) => page.order_by(clientbases::nom.asc()),
            (SortField::Nom, true) => page.order_by(clientbases::nom.desc()),
            (SortField::Prenom, false) => page.order_by(clientbases::prenom.asc()),
            (SortField::Prenom, true) => page.order_by(clientbases::prenom.desc()),
            (SortField::Email, false) => page.order_by(clientbases::email.asc()),
            (SortField::Email, true) => page.order_by(clientbases::email.desc()),
        };
        // The id breaks ties so that a row never shows on two pages.
        page = if query.descending {
            page.then_order_by(clientbases::id.desc())
        } else {
            page.then_order_by(clientbases::id.asc())
        };
        let clients: Vec<ClientRow> = page
            .select(ClientRow::as_select())
            .limit(query.limit)
            .offset((query.page - 1).saturating_mul(query.limit))
            .load(&mut conn)
            .await?;
        let ids: Vec<Uuid> = clients.iter().map(|c| c.id).collect();
        let mut addresses = addresses_of(&mut conn, &ids).await?;
        let clients = clients
            .into_iter()
            .map(|client| {
                let addresses = addresses.remove(&client.id).unwrap_or_default();
                ClientWithAddresses { client, addresses }
            })
            .collect();
        Ok((clients, total))
    }

    /// The oldest live client of one of the caller's organisations matching a normalized
    /// phone and/or a name (case- and accent-insensitive).
    #[tracing::instrument(skip_all, fields(op = "search_clients", organisation_id = %organisation.id()))]
    pub async fn search(
        &self,
        organisation: Tenant,
        telephone_normalized: Option<String>,
        nom: Option<String>,
    ) -> Result<Option<ClientWithAddresses>, DbError> {
        let mut conn = self.pool.get().await?;
        let mut q = clientbases::table
            .filter(clientbases::organisation_id.eq(organisation.id()))
            .filter(clientbases::deleted_at.is_null())
            .into_boxed();
        if let Some(phone) = telephone_normalized {
            q = q.filter(clientbases::telephone_normalized.eq(phone));
        }
        if let Some(nom) = nom {
            q = q.filter(f_unaccent(lower(clientbases::nom)).eq(f_unaccent(lower(nom))));
        }
        let found = q
            .order_by((clientbases::created_at.asc(), clientbases::id.asc()))
            .select(ClientRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        let Some(client) = found else { return Ok(None) };
        let addresses = addresses_of(&mut conn, &[client.id])
            .await?
            .remove(&client.id)
            .unwrap_or_default();
        Ok(Some(ClientWithAddresses { client, addresses }))
    }
}

/// Rows of the caller's organisations: every row when it may see them all, none when it has
/// none (`= ANY('{}')` is false).
fn within(organisations: &Organisations) -> ClientCondition {
    match organisations.limited_to() {
        None => Box::new(true.into_sql::<Bool>()),
        Some(set) => Box::new(
            clientbases::organisation_id.eq_any(set.iter().copied().collect::<Vec<Uuid>>()),
        ),
    }
}

/// The `WHERE` part of a list query.
fn filtered(query: &ListQuery) -> BoxedClients<'static> {
    let mut q = clientbases::table
        .filter(clientbases::organisation_id.eq(query.organisation.id()))
        .filter(clientbases::deleted_at.is_null())
        .into_boxed();
    if let Some(statut) = &query.statut {
        q = q.filter(clientbases::statut.eq(statut.clone()));
    }
    if let Some(societe) = query.societe_id {
        q = q.filter(clientbases::societe_id.eq(societe));
    }
    match query.source {
        Some(SourceFilter::WinLeadPlus) => {
            q = q.filter(clientbases::source.eq(crate::domain::SOURCE_WINLEADPLUS));
        }
        Some(SourceFilter::Crm) => q = q.filter(clientbases::source.is_null()),
        None => {}
    }
    if let Some(term) = &query.search {
        let pattern = format!("%{}%", escape_like(term));
        q = q.filter(
            clientbase_search_text(
                clientbases::nom,
                clientbases::prenom,
                clientbases::email,
                clientbases::telephone,
            )
            .like(f_unaccent(lower(pattern))),
        );
    }
    q
}

/// Escapes the LIKE wildcards of a search term (PostgreSQL's default escape is `\`).
fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The addresses of some clients, principal first, grouped by client.
async fn addresses_of(
    conn: &mut diesel_async::AsyncPgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AddressRow>>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<AddressRow> = adresses::table
        .filter(adresses::client_base_id.eq_any(ids))
        .order_by((
            adresses::client_base_id,
            (adresses::type_.ne("PRINCIPALE")),
            adresses::created_at,
        ))
        .select(AddressRow::as_select())
        .load(conn)
        .await?;
    let mut grouped: HashMap<Uuid, Vec<AddressRow>> = HashMap::new();
    for row in rows {
        grouped.entry(row.client_base_id).or_default().push(row);
    }
    Ok(grouped)
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_in_a_search_term_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(escape_like("Zoë"), "Zoë");
    }
}
