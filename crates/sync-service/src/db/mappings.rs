//! `winleadplus_mappings`: what each prospect became (client, contracts), the hash of the
//! data last applied, the last `source_version` sent for it, and whether it is archived (no
//! longer in WinLeadPlus's answer). Versions only grow: an update's or an archive's version
//! is reserved here, before it is published, from the database's one clock and the previous
//! version (ARCHITECTURE.md, "NATS": core applies only newer versions).

use std::collections::HashMap;

use crm_db::commercial::schema::winleadplus_mappings as m;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{DbError, DbPool};

/// What the database knows of a prospect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The CRM client it became.
    pub client_id: Uuid,
    /// Hash of the data last applied.
    pub data_hash: String,
    /// Archived: the prospect was missing from a complete answer of WinLeadPlus. Seen again,
    /// it is restored whatever its hash.
    pub archived: bool,
}

/// The next version of a client's data in microseconds: the database's clock, or one past
/// the previous version when that is ahead (a replica's clock ran fast when it was sent).
const NEXT_VERSION: &str =
    "GREATEST(source_version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)";

/// A mapping to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingUpsert {
    /// The prospect.
    pub prospect_id: i64,
    /// Its CRM client.
    pub client_id: Uuid,
    /// Its imported contracts.
    pub contrat_ids: Vec<Uuid>,
    /// Hash of the data now applied.
    pub data_hash: String,
    /// Version sent to client-core.
    pub source_version: i64,
}

/// Every mapping of an organisation, by prospect id: the one query of a sync's diff.
#[tracing::instrument(name = "db", skip_all, fields(op = "load_mappings", mappings))]
pub async fn load(pool: &DbPool, organisation_id: Uuid) -> Result<HashMap<i64, Known>, DbError> {
    let mut conn = pool.get().await?;
    let rows: Vec<(i64, Uuid, String, bool)> = m::table
        .filter(m::organisation_id.eq(organisation_id))
        .select((
            m::winleadplus_prospect_id,
            m::crm_client_id,
            m::data_hash,
            m::archived_at.is_not_null(),
        ))
        .load(&mut conn)
        .await?;
    tracing::Span::current().record("mappings", rows.len());
    Ok(rows
        .into_iter()
        .map(|(prospect, client_id, data_hash, archived)| {
            (
                prospect,
                Known {
                    client_id,
                    data_hash,
                    archived,
                },
            )
        })
        .collect())
}

/// The database's clock in microseconds: the first version of new clients.
#[tracing::instrument(name = "db", skip_all, fields(op = "database_clock"))]
pub async fn database_clock(pool: &DbPool) -> Result<i64, DbError> {
    #[derive(QueryableByName)]
    struct Clock {
        #[diesel(sql_type = BigInt)]
        now: i64,
    }
    let mut conn = pool.get().await?;
    let clock: Clock = diesel::sql_query(
        "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now",
    )
    .get_result(&mut conn)
    .await?;
    Ok(clock.now)
}

/// Reserves the next version of each of `prospects` (mapped prospects of the organisation)
/// before their updates are published, in one statement: every version is above any sent
/// before for that prospect, whichever replica sent it and whatever its clock said. A
/// version reserved but never published is only a gap.
///
/// The same statement forgets the mapping's hash until the batch is recorded with the new
/// one. A change published but never recorded (a crash in between) then never looks
/// "unchanged": even if WinLeadPlus goes back to the data last recorded, the next sync sends
/// it again, and client-core does not keep the change that was undone.
#[tracing::instrument(name = "db", skip_all, fields(op = "reserve_versions", batch = prospects.len()))]
pub async fn reserve_versions(
    pool: &DbPool,
    organisation_id: Uuid,
    prospects: &[i64],
) -> Result<HashMap<i64, i64>, DbError> {
    #[derive(QueryableByName)]
    struct Reserved {
        #[diesel(sql_type = BigInt)]
        prospect: i64,
        #[diesel(sql_type = BigInt)]
        version: i64,
    }
    if prospects.is_empty() {
        return Ok(HashMap::new());
    }
    let mut conn = pool.get().await?;
    let rows: Vec<Reserved> = diesel::sql_query(format!(
        "UPDATE winleadplus_mappings SET source_version = {NEXT_VERSION}, data_hash = '' \
         WHERE organisation_id = $1 AND winleadplus_prospect_id = ANY($2) \
         RETURNING winleadplus_prospect_id AS prospect, source_version AS version"
    ))
    .bind::<diesel::sql_types::Uuid, _>(organisation_id)
    .bind::<Array<BigInt>, _>(prospects)
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.prospect, r.version)).collect())
}

/// Upserts mappings in one statement (inside the batch transaction). A mapping's version
/// never goes back: a batch recorded late keeps the newer version another run reserved. A
/// prospect recorded here was in WinLeadPlus's answer: an archived mapping is restored.
#[tracing::instrument(name = "db", skip_all, fields(op = "upsert_mappings", batch = rows.len()))]
pub(crate) async fn upsert_on(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    rows: &[MappingUpsert],
) -> Result<(), diesel::result::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let prospects: Vec<i64> = rows.iter().map(|r| r.prospect_id).collect();
    let clients: Vec<Uuid> = rows.iter().map(|r| r.client_id).collect();
    // One uuid[] per row: UNNEST flattens 2-D arrays, so each row's list travels as text.
    let contrat_ids: Vec<String> = rows
        .iter()
        .map(|r| {
            let ids: Vec<String> = r.contrat_ids.iter().map(Uuid::to_string).collect();
            format!("{{{}}}", ids.join(","))
        })
        .collect();
    let hashes: Vec<&str> = rows.iter().map(|r| r.data_hash.as_str()).collect();
    let versions: Vec<i64> = rows.iter().map(|r| r.source_version).collect();
    diesel::sql_query(
        "INSERT INTO winleadplus_mappings \
           (organisation_id, winleadplus_prospect_id, crm_client_id, crm_contrat_ids, data_hash, \
            source_version, last_synced_at) \
         SELECT $1, u.p, u.c, u.ids::uuid[], u.h, u.v, now() \
         FROM UNNEST($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::bigint[]) AS u(p, c, ids, h, v) \
         ON CONFLICT (organisation_id, winleadplus_prospect_id) DO UPDATE SET \
           crm_client_id = EXCLUDED.crm_client_id, crm_contrat_ids = EXCLUDED.crm_contrat_ids, \
           data_hash = EXCLUDED.data_hash, \
           source_version = GREATEST(winleadplus_mappings.source_version, EXCLUDED.source_version), \
           last_synced_at = EXCLUDED.last_synced_at, archived_at = NULL, updated_at = now()",
    )
    .bind::<diesel::sql_types::Uuid, _>(organisation_id)
    .bind::<Array<BigInt>, _>(prospects)
    .bind::<Array<diesel::sql_types::Uuid>, _>(clients)
    .bind::<Array<Text>, _>(contrat_ids)
    .bind::<Array<Text>, _>(hashes)
    .bind::<Array<BigInt>, _>(versions)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the mappings of `prospects` (with the version their archive was published under)
/// archived, in one statement inside the archive's transaction; returns the contract ids of
/// those it marked. A mapping already archived, or gone, is left as it is.
#[tracing::instrument(name = "db", skip_all, fields(op = "archive_mappings", batch = prospects.len()))]
pub(crate) async fn archive_on(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    prospects: &[(i64, i64)],
) -> Result<Vec<Uuid>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Marked {
        #[diesel(sql_type = Array<diesel::sql_types::Uuid>)]
        contrat_ids: Vec<Uuid>,
    }
    if prospects.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = prospects.iter().map(|(p, _)| *p).collect();
    let versions: Vec<i64> = prospects.iter().map(|(_, v)| *v).collect();
    let marked: Vec<Marked> = diesel::sql_query(
        "UPDATE winleadplus_mappings m SET archived_at = now(), \
           source_version = GREATEST(m.source_version, u.v), updated_at = now() \
         FROM UNNEST($2::bigint[], $3::bigint[]) AS u(p, v) \
         WHERE m.organisation_id = $1 AND m.winleadplus_prospect_id = u.p AND m.archived_at IS NULL \
         RETURNING m.crm_contrat_ids AS contrat_ids",
    )
    .bind::<diesel::sql_types::Uuid, _>(organisation_id)
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<BigInt>, _>(versions)
    .load(conn)
    .await?;
    Ok(marked.into_iter().flat_map(|m| m.contrat_ids).collect())
}
