//! Set-based creation of imported clients: a create batch costs a handful of statements,
//! whatever its size (look up the linked ones, link matching manual clients, insert the
//! rest, write their addresses). Same semantics as the item-by-item path in `events.rs`,
//! which takes over when this one fails.

use std::collections::HashMap;

use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::events::{CreateOutcome, UpdateError, UpdateOutcome};
use crate::domain::DEFAULT_STATUT;
use crate::events::{CreateCommand, SourceAddress, UpdateCommand};

type Key<'a> = (Uuid, &'a str, &'a str);

#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    i: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Returned {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// Creates, finds or links every command's client, in the caller's transaction.
pub(super) async fn create_all(
    conn: &mut AsyncPgConnection,
    commands: &[CreateCommand],
) -> Result<Vec<CreateOutcome>, diesel::result::Error> {
    // The same external record twice in a batch: the first occurrence decides.
    let mut first_of: HashMap<Key<'_>, usize> = HashMap::new();
    let mut unique: Vec<usize> = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(slot) = first_of.entry(key_of(c)) {
            slot.insert(i);
            unique.push(i);
        }
    }
    let mut outcomes: Vec<Option<CreateOutcome>> = vec![None; commands.len()];

    // 1. Already linked.
    for (i, id) in linked(conn, commands, &unique).await? {
        outcomes[i] = Some(CreateOutcome {
            client_id: id,
            created: false,
        });
    }

    // 2. Link unlinked manual clients with the same normalized phone and name.
    let candidates: Vec<(usize, String)> = unique
        .iter()
        .filter(|&&i| outcomes[i].is_none())
        .filter_map(|&i| {
            let phone = commands[i]
                .client
                .telephone
                .as_deref()
                .and_then(mapper::normalize_phone)?;
            Some((i, phone))
        })
        .collect();
    if !candidates.is_empty() {
        let hits: Vec<Hit> = diesel::sql_query(
            "SELECT DISTINCT ON (u.i) u.i, c.id \
             FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::text[]) AS u(i, org, phone, nom) \
             JOIN clientbases c ON c.organisation_id = u.org AND c.external_id IS NULL \
               AND c.deleted_at IS NULL AND c.telephone_normalized = u.phone AND lower(c.nom) = lower(u.nom) \
             ORDER BY u.i, c.created_at, c.id",
        )
        .bind::<Array<BigInt>, _>(candidates.iter().map(|(i, _)| *i as i64).collect::<Vec<_>>())
        .bind::<Array<diesel::sql_types::Uuid>, _>(
            candidates.iter().map(|(i, _)| commands[*i].reference.organisation_id).collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(candidates.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(candidates.iter().map(|(i, _)| commands[*i].client.nom.clone()).collect::<Vec<_>>())
        .load(conn)
        .await?;
        // One manual client links to one record: the first that matched it.
        let mut taken: HashMap<Uuid, usize> = HashMap::new();
        for hit in hits {
            let Ok(i) = usize::try_from(hit.i) else {
                continue;
            };
            taken.entry(hit.id).or_insert(i);
        }
        if !taken.is_empty() {
            let pairs: Vec<(Uuid, usize)> = taken.into_iter().collect();
            let linked: Vec<Returned> = diesel::sql_query(
                "UPDATE clientbases c SET external_source = u.src, external_id = u.ext, \
                   source = COALESCE(c.source, u.src), source_version = u.v, updated_at = now() \
                 FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bigint[]) AS u(id, src, ext, v) \
                 WHERE c.id = u.id AND c.external_id IS NULL \
                 RETURNING c.id",
            )
            .bind::<Array<diesel::sql_types::Uuid>, _>(pairs.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(pairs.iter().map(|(_, i)| commands[*i].reference.source.clone()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(
                pairs.iter().map(|(_, i)| commands[*i].reference.external_id.clone()).collect::<Vec<_>>(),
            )
            .bind::<Array<BigInt>, _>(pairs.iter().map(|(_, i)| commands[*i].source_version).collect::<Vec<_>>())
            .load(conn)
            .await?;
            let done: std::collections::HashSet<Uuid> = linked.into_iter().map(|r| r.id).collect();
            for (id, i) in pairs {
                if done.contains(&id) {
                    outcomes[i] = Some(CreateOutcome {
                        client_id: id,
                        created: true,
                    });
                }
            }
        }
    }

    // 3. Insert the rest; a concurrent insert of the same record is found afterwards.
    let to_insert: Vec<usize> = unique
        .iter()
        .copied()
        .filter(|&i| outcomes[i].is_none())
        .collect();
    if !to_insert.is_empty() {
        for (org, src, ext, id) in insert(conn, commands, &to_insert).await? {
            if let Some(&i) = first_of.get(&(org, src.as_str(), ext.as_str())) {
                outcomes[i] = Some(CreateOutcome {
                    client_id: id,
                    created: true,
                });
            }
        }
        let missing: Vec<usize> = to_insert
            .iter()
            .copied()
            .filter(|&i| outcomes[i].is_none())
            .collect();
        for (i, id) in linked(conn, commands, &missing).await? {
            outcomes[i] = Some(CreateOutcome {
                client_id: id,
                created: false,
            });
        }
        // 4. Principal addresses of the new clients.
        let with_address: Vec<(Uuid, usize)> = to_insert
            .iter()
            .filter_map(|&i| match (&outcomes[i], &commands[i].address) {
                (Some(o), Some(_)) if o.created => Some((o.client_id, i)),
                _ => None,
            })
            .collect();
        let with_address: Vec<(Uuid, &SourceAddress)> = with_address
            .iter()
            .filter_map(|&(id, i)| commands[i].address.as_ref().map(|a| (id, a)))
            .collect();
        upsert_addresses(conn, &with_address).await?;
    }

    // Later duplicates share the outcome of their first occurrence.
    for (i, c) in commands.iter().enumerate() {
        if outcomes[i].is_none()
            && let Some(&first) = first_of.get(&key_of(c))
        {
            outcomes[i] = outcomes[first].map(|o| CreateOutcome {
                created: false,
                ..o
            });
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or(diesel::result::Error::NotFound))
        .collect()
}

fn key_of(c: &CreateCommand) -> Key<'_> {
    (
        c.reference.organisation_id,
        c.reference.source.as_str(),
        c.reference.external_id.as_str(),
    )
}

/// Which of `indices` are already linked to a client: (index, client id).
async fn linked(
    conn: &mut AsyncPgConnection,
    commands: &[CreateCommand],
    indices: &[usize],
) -> Result<Vec<(usize, Uuid)>, diesel::result::Error> {
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let hits: Vec<Hit> = diesel::sql_query(
        "SELECT u.i, c.id FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::text[]) AS u(i, org, src, ext) \
         JOIN clientbases c ON c.organisation_id = u.org AND c.external_source = u.src AND c.external_id = u.ext",
    )
    .bind::<Array<BigInt>, _>(indices.iter().map(|&i| i as i64).collect::<Vec<_>>())
    .bind::<Array<diesel::sql_types::Uuid>, _>(indices.iter().map(|&i| commands[i].reference.organisation_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(indices.iter().map(|&i| commands[i].reference.source.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(indices.iter().map(|&i| commands[i].reference.external_id.clone()).collect::<Vec<_>>())
    .load(conn)
    .await?;
    Ok(hits
        .into_iter()
        .filter_map(|h| usize::try_from(h.i).ok().map(|i| (i, h.id)))
        .collect())
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    organisation_id: Uuid,
    #[diesel(sql_type = Text)]
    external_source: String,
    #[diesel(sql_type = Text)]
    external_id: String,
}

async fn insert(
    conn: &mut AsyncPgConnection,
    commands: &[CreateCommand],
    indices: &[usize],
) -> Result<Vec<(Uuid, String, String, Uuid)>, diesel::result::Error> {
    let pick = |f: &dyn Fn(&CreateCommand) -> Option<String>| -> Vec<Option<String>> {
        indices.iter().map(|&i| f(&commands[i])).collect()
    };
    let flag = |f: &dyn Fn(&CreateCommand) -> Option<bool>| -> Vec<Option<bool>> {
        indices.iter().map(|&i| f(&commands[i])).collect()
    };
    let rows: Vec<Inserted> = diesel::sql_query(
        "INSERT INTO clientbases (organisation_id, type_client, nom, prenom, date_naissance, compte_code, \
           telephone, telephone_normalized, email, statut, canal_acquisition, source, commercial_id, civilite, csp, \
           regime_social, lieu_naissance, pays_naissance, etape_courante, statut_prospect, numss, \
           is_politically_exposed, gdpr_consent, gdpr_consent_communications, iban, bic, mandat_sepa, \
           external_source, external_id, source_version) \
         SELECT u.org, u.type_client, u.nom, u.prenom, u.date_naissance::date, u.compte_code, u.telephone, \
           u.telephone_normalized, u.email, $29, u.canal_acquisition, u.src, u.commercial_id, u.civilite, u.csp, \
           u.regime_social, u.lieu_naissance, u.pays_naissance, u.etape_courante, u.statut_prospect, u.numss, \
           u.pep, u.gdpr, u.gdpr_com, u.iban, u.bic, u.mandat, u.src, u.ext, u.v \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
           $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
           $16::text[], $17::text[], $18::text[], $19::text[], $20::bool[], $21::bool[], $22::bool[], \
           $23::text[], $24::text[], $25::bool[], $26::text[], $27::text[], $28::bigint[]) \
           AS u(org, type_client, nom, prenom, date_naissance, compte_code, telephone, telephone_normalized, email, \
                canal_acquisition, commercial_id, civilite, csp, regime_social, lieu_naissance, pays_naissance, \
                etape_courante, statut_prospect, numss, pep, gdpr, gdpr_com, iban, bic, mandat, src, ext, v) \
         ON CONFLICT (organisation_id, external_source, external_id) WHERE external_id IS NOT NULL DO NOTHING \
         RETURNING id, organisation_id, external_source::text AS external_source, external_id::text AS external_id",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(indices.iter().map(|&i| commands[i].reference.organisation_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(indices.iter().map(|&i| commands[i].client.type_client.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(indices.iter().map(|&i| commands[i].client.nom.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(indices.iter().map(|&i| commands[i].client.prenom.clone()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.date_naissance.map(|d| d.to_string())))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.compte_code.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.telephone.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.telephone.as_deref().and_then(mapper::normalize_phone)))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.email.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.canal_acquisition.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.commercial_id.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.civilite.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.csp.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.regime_social.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.lieu_naissance.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.pays_naissance.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.etape_courante.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.statut_prospect.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.numss.clone()))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.is_politically_exposed))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.gdpr_consent))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.gdpr_consent_communications))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.iban.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.bic.clone()))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.mandat_sepa))
    .bind::<Array<Text>, _>(indices.iter().map(|&i| commands[i].reference.source.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(indices.iter().map(|&i| commands[i].reference.external_id.clone()).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(indices.iter().map(|&i| commands[i].source_version).collect::<Vec<_>>())
    .bind::<Text, _>(DEFAULT_STATUT)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.organisation_id, r.external_source, r.external_id, r.id))
        .collect())
}

pub(super) async fn upsert_addresses(
    conn: &mut AsyncPgConnection,
    rows: &[(Uuid, &SourceAddress)],
) -> Result<(), diesel::result::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let field = |f: &dyn Fn(&SourceAddress) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(|(_, a)| f(a)).collect()
    };
    diesel::sql_query(
        "INSERT INTO adresses (client_base_id, ligne1, ligne2, code_postal, ville, pays, type) \
         SELECT u.id, u.l1, u.l2, u.cp, u.ville, u.pays, 'PRINCIPALE' \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(id, l1, l2, cp, ville, pays) \
         ON CONFLICT (client_base_id) WHERE type = 'PRINCIPALE' DO UPDATE SET \
           ligne1 = EXCLUDED.ligne1, ligne2 = EXCLUDED.ligne2, code_postal = EXCLUDED.code_postal, \
           ville = EXCLUDED.ville, pays = EXCLUDED.pays, updated_at = now()",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.ligne1.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.ligne2.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.code_postal.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.ville.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.pays.clone()))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Owned {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    organisation_id: Uuid,
}

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    organisation_id: Uuid,
    #[diesel(sql_type = Bool)]
    deleted: bool,
}

/// Applies updates set-based, in the caller's transaction: one statement for the rows, one
/// for the addresses, one to explain the rows left alone. One outcome per command, in order.
pub(super) async fn update_all(
    conn: &mut AsyncPgConnection,
    commands: &[UpdateCommand],
) -> Result<Vec<Result<UpdateOutcome, UpdateError>>, diesel::result::Error> {
    // Several updates of one client in a batch: only the newest can apply. (Keyed with the
    // organisation too: an update naming the wrong organisation must fail, not be outdated.)
    let mut newest: HashMap<(Uuid, Uuid), usize> = HashMap::new();
    for (i, c) in commands.iter().enumerate() {
        let entry = newest
            .entry((c.client_id, c.reference.organisation_id))
            .or_insert(i);
        if commands[*entry].source_version < c.source_version {
            *entry = i;
        }
    }
    let chosen: Vec<usize> = {
        let mut v: Vec<usize> = newest.values().copied().collect();
        v.sort_unstable();
        v
    };
    let pick = |f: &dyn Fn(&UpdateCommand) -> Option<String>| -> Vec<Option<String>> {
        chosen.iter().map(|&i| f(&commands[i])).collect()
    };
    let flag = |f: &dyn Fn(&UpdateCommand) -> Option<bool>| -> Vec<Option<bool>> {
        chosen.iter().map(|&i| f(&commands[i])).collect()
    };
    let applied: Vec<Owned> = diesel::sql_query(
        "UPDATE clientbases c SET type_client = u.type_client, nom = u.nom, prenom = u.prenom, \
           date_naissance = u.date_naissance::date, compte_code = u.compte_code, telephone = u.telephone, \
           telephone_normalized = u.telephone_normalized, email = u.email, canal_acquisition = u.canal_acquisition, \
           commercial_id = u.commercial_id, civilite = u.civilite, csp = u.csp, regime_social = u.regime_social, \
           lieu_naissance = u.lieu_naissance, pays_naissance = u.pays_naissance, etape_courante = u.etape_courante, \
           statut_prospect = u.statut_prospect, numss = u.numss, is_politically_exposed = u.pep, \
           gdpr_consent = u.gdpr, gdpr_consent_communications = u.gdpr_com, iban = u.iban, bic = u.bic, \
           mandat_sepa = u.mandat, source_version = u.v, updated_at = now() \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], \
           $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
           $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::bool[], $23::bool[], \
           $24::bool[], $25::text[], $26::text[], $27::bool[]) \
           AS u(id, org, v, type_client, nom, prenom, date_naissance, compte_code, telephone, telephone_normalized, \
                email, canal_acquisition, commercial_id, civilite, csp, regime_social, lieu_naissance, \
                pays_naissance, etape_courante, statut_prospect, numss, pep, gdpr, gdpr_com, iban, bic, mandat) \
         WHERE c.id = u.id AND c.organisation_id = u.org AND c.deleted_at IS NULL AND c.source_version < u.v \
         RETURNING c.id, c.organisation_id",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(chosen.iter().map(|&i| commands[i].client_id).collect::<Vec<_>>())
    .bind::<Array<diesel::sql_types::Uuid>, _>(chosen.iter().map(|&i| commands[i].reference.organisation_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(chosen.iter().map(|&i| commands[i].source_version).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(chosen.iter().map(|&i| commands[i].client.type_client.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(chosen.iter().map(|&i| commands[i].client.nom.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(chosen.iter().map(|&i| commands[i].client.prenom.clone()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.date_naissance.map(|d| d.to_string())))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.compte_code.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.telephone.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.telephone.as_deref().and_then(mapper::normalize_phone)))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.email.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.canal_acquisition.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.commercial_id.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.civilite.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.csp.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.regime_social.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.lieu_naissance.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.pays_naissance.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.etape_courante.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.statut_prospect.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.numss.clone()))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.is_politically_exposed))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.gdpr_consent))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.gdpr_consent_communications))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.iban.clone()))
    .bind::<Array<Nullable<Text>>, _>(pick(&|c| c.client.bic.clone()))
    .bind::<Array<Nullable<Bool>>, _>(flag(&|c| c.client.mandat_sepa))
    .load(conn)
    .await?;
    let applied: std::collections::HashSet<(Uuid, Uuid)> = applied
        .into_iter()
        .map(|r| (r.id, r.organisation_id))
        .collect();

    let addresses: Vec<(Uuid, &SourceAddress)> = chosen
        .iter()
        .filter(|&&i| {
            applied.contains(&(commands[i].client_id, commands[i].reference.organisation_id))
        })
        .filter_map(|&i| {
            commands[i]
                .address
                .as_ref()
                .map(|a| (commands[i].client_id, a))
        })
        .collect();
    upsert_addresses(conn, &addresses).await?;

    let others: Vec<Uuid> = newest
        .keys()
        .filter(|key| !applied.contains(key))
        .map(|(id, _)| *id)
        .collect();
    let states: HashMap<Uuid, State> = if others.is_empty() {
        HashMap::new()
    } else {
        diesel::sql_query(
            "SELECT id, organisation_id, deleted_at IS NOT NULL AS deleted FROM clientbases WHERE id = ANY($1)",
        )
        .bind::<Array<diesel::sql_types::Uuid>, _>(others)
        .load::<State>(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect()
    };
    Ok(commands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if newest.get(&(c.client_id, c.reference.organisation_id)) != Some(&i) {
                return Ok(UpdateOutcome::Stale);
            }
            if applied.contains(&(c.client_id, c.reference.organisation_id)) {
                return Ok(UpdateOutcome::Applied);
            }
            match states.get(&c.client_id) {
                Some(s) if s.organisation_id == c.reference.organisation_id => Ok(if s.deleted {
                    UpdateOutcome::Deleted
                } else {
                    UpdateOutcome::Stale
                }),
                _ => Err(UpdateError::UnknownClient {
                    client_id: c.client_id,
                    organisation_id: c.reference.organisation_id,
                }),
            }
        })
        .collect())
}
