//! Recording a batch once its events are confirmed: contracts and their lines, mappings, log
//! counters and heartbeat, in one transaction. An archive batch (prospects that vanished from
//! WinLeadPlus, their archive events confirmed) is recorded the same way: mappings marked
//! archived, their contracts set `ARCHIVE`, the log's counters, in one transaction.
//!
//! The batch is first written set-based, in a few statements whatever its size. If the
//! database refuses that (one row it cannot take), the batch is written again prospect by
//! prospect, each under its own savepoint: the prospect whose rows fail is reported with the
//! reason and its mapping is not advanced (the next sync retries it), the others are recorded.
//! Only what stops every prospect alike (no connection, a failed commit, the lease lost) fails
//! the batch as a whole.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::contrats::{self, ContratUpsert};
use super::logs::{Progress, progress_on};
use super::mappings::{self, MappingUpsert};
use super::{DbError, DbPool};

/// How a prospect of the batch was counted when it was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Its client was created (counted in `created`).
    Created,
    /// Its update was acknowledged (counted in `updated`).
    Updated,
}

/// What one prospect leaves to record.
#[derive(Debug, Clone)]
pub struct ProspectRows {
    /// Its mapping; `contrat_ids` is filled here from the contracts written.
    pub mapping: MappingUpsert,
    /// The contracts this prospect owns in the batch, with their lines.
    pub contracts: Vec<ContratUpsert>,
    /// How it was counted.
    pub published: Published,
}

/// One batch to record.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The organisation.
    pub organisation_id: Uuid,
    /// The running sync's log (its lease).
    pub log_id: Uuid,
    /// The prospects to record.
    pub prospects: Vec<ProspectRows>,
    /// The log's counters, as the engine counted them when it published the batch.
    pub progress: Progress,
}

/// Archived prospects to record, their archive events confirmed by JetStream.
#[derive(Debug, Clone)]
pub struct ArchiveBatch {
    /// The organisation.
    pub organisation_id: Uuid,
    /// The running sync's log (its lease).
    pub log_id: Uuid,
    /// Each prospect and the version its archive was published under.
    pub prospects: Vec<(i64, i64)>,
    /// The log's counters, these archives counted.
    pub progress: Progress,
}

/// A prospect the database refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The prospect.
    pub prospect_id: i64,
    /// How it had been counted (to take it back).
    pub published: Published,
    /// What the database said, escaped and cut.
    pub reason: String,
}

/// Why a batch could not be recorded at all.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The log is no longer RUNNING: another worker took the lease over.
    #[error("the sync lease was lost (another worker took it over): stopped")]
    LeaseLost,
    /// The database failed for the batch as a whole.
    #[error("cannot record the batch: {0}")]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for RecordError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(DbError::Query(e))
    }
}

/// Records `batch`; returns the prospects the database refused (empty when all went in).
#[tracing::instrument(
    name = "db",
    skip_all,
    fields(op = "record_batch", batch = batch.prospects.len(), refused)
)]
pub async fn record(pool: &DbPool, batch: Batch) -> Result<Vec<Refused>, RecordError> {
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let whole = conn
        .transaction::<_, TxError, _>(async |conn| {
            let all: Vec<&ProspectRows> = batch.prospects.iter().collect();
            write(conn, batch.organisation_id, &all).await?;
            write_progress(conn, batch.log_id, &batch.progress).await
        })
        .await;
    match whole {
        Ok(()) => {
            tracing::Span::current().record("refused", 0);
            return Ok(Vec::new());
        }
        Err(TxError::LeaseLost) => return Err(RecordError::LeaseLost),
        Err(TxError::Db(e)) if is_connection_lost(&e) => return Err(e.into()),
        Err(TxError::Db(e)) => tracing::warn!(
            error = %e,
            prospects = batch.prospects.len(),
            "the batch was refused as a whole; recording it prospect by prospect"
        ),
    }
    let refused = one_by_one(&mut conn, batch).await?;
    tracing::Span::current().record("refused", refused.len());
    Ok(refused)
}

/// Records archived prospects: their mappings marked archived, their contracts `ARCHIVE`,
/// the log's counters, in one transaction. Returns how many contracts were archived.
#[tracing::instrument(
    name = "db",
    skip_all,
    fields(op = "record_archives", batch = batch.prospects.len())
)]
pub async fn record_archives(pool: &DbPool, batch: ArchiveBatch) -> Result<usize, RecordError> {
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let outcome = conn
        .transaction::<_, TxError, _>(async |conn| {
            let contrat_ids =
                mappings::archive_on(conn, batch.organisation_id, &batch.prospects).await?;
            let contracts = contrats::archive_on(conn, batch.organisation_id, &contrat_ids).await?;
            write_progress(conn, batch.log_id, &batch.progress).await?;
            Ok(contracts)
        })
        .await;
    outcome.map_err(RecordError::from)
}

/// The fallback: each prospect under its own savepoint, the refused ones reported.
#[tracing::instrument(
    name = "db",
    skip_all,
    fields(op = "record_one_by_one", batch = batch.prospects.len())
)]
async fn one_by_one(
    conn: &mut AsyncPgConnection,
    batch: Batch,
) -> Result<Vec<Refused>, RecordError> {
    let outcome = conn
        .transaction::<_, TxError, _>(async |conn| {
            let mut refused = Vec::new();
            for prospect in &batch.prospects {
                let saved = conn
                    .transaction::<_, diesel::result::Error, _>(async |conn| {
                        write(conn, batch.organisation_id, &[prospect]).await
                    })
                    .await;
                match saved {
                    Ok(()) => {}
                    Err(e) if is_connection_lost(&e) => return Err(TxError::Db(e)),
                    Err(e) => refused.push(Refused {
                        prospect_id: prospect.mapping.prospect_id,
                        published: prospect.published,
                        reason: format!("not recorded: {}", mapper::mask::excerpt(&e.to_string())),
                    }),
                }
            }
            let mut progress = batch.progress.clone();
            for r in &refused {
                progress.take_back(r.published);
            }
            write_progress(conn, batch.log_id, &progress).await?;
            Ok(refused)
        })
        .await;
    outcome.map_err(RecordError::from)
}

/// Writes the contracts (with lines) and then the mappings of `prospects`.
async fn write(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    prospects: &[&ProspectRows],
) -> Result<(), diesel::result::Error> {
    let contracts: Vec<ContratUpsert> = prospects
        .iter()
        .flat_map(|p| p.contracts.iter().cloned())
        .collect();
    let ids: HashMap<String, Uuid> =
        contrats::upsert_on(conn, organisation_id, mapper::SOURCE, &contracts).await?;
    let rows: Vec<MappingUpsert> = prospects
        .iter()
        .map(|p| MappingUpsert {
            contrat_ids: p
                .contracts
                .iter()
                .filter_map(|c| ids.get(&c.reference).copied())
                .collect(),
            ..p.mapping.clone()
        })
        .collect();
    mappings::upsert_on(conn, organisation_id, &rows).await
}

async fn write_progress(
    conn: &mut AsyncPgConnection,
    log_id: Uuid,
    progress: &Progress,
) -> Result<(), TxError> {
    if progress_on(conn, log_id, progress).await? {
        Ok(())
    } else {
        Err(TxError::LeaseLost)
    }
}

/// Why a recording transaction rolled back.
#[derive(Debug)]
enum TxError {
    LeaseLost,
    Db(diesel::result::Error),
}

impl From<TxError> for RecordError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::LeaseLost => RecordError::LeaseLost,
            TxError::Db(e) => e.into(),
        }
    }
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// Errors that no other attempt on this connection can get past.
fn is_connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::BrokenTransactionManager
            | Error::AlreadyInTransaction
            | Error::NotInTransaction
    )
}
