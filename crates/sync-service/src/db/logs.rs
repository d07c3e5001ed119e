//! `winleadplus_sync_logs`: one row per sync run. The RUNNING row of an organisation is its
//! lease (a unique partial index allows one), kept alive by heartbeats. What reads or starts
//! an organisation's runs names it as a [`Tenant`]; the rest addresses a run its caller holds
//! the lease of, by the log id [`LogStore::acquire`] returned. Heartbeats and their
//! staleness are read off the database's clock only: replicas' clocks may disagree.

use crm_db::commercial::schema::winleadplus_sync_logs as logs;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{LogRow, LogStatus};
use super::{DbError, DbPool};
use crate::domain::{SyncLog, SyncStatus};
use service_kit::auth::Tenant;

/// Counters and bounded messages of a run, as written to its log.
#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = logs, check_for_backend(diesel::pg::Pg))]
pub struct Progress {
    pub total_prospects: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub failed: i32,
    pub processed: i32,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub errors_dropped: i32,
    pub warnings_dropped: i32,
    /// Mapped prospects archived (missing from a complete answer); not part of the total.
    pub archived: i32,
}

impl Progress {
    /// Takes back a prospect counted as created (or updated) that could not be recorded,
    /// and counts it failed.
    pub fn take_back(&mut self, published: super::batches::Published) {
        match published {
            super::batches::Published::Created => self.created -= 1,
            super::batches::Published::Updated => self.updated -= 1,
        }
        self.failed += 1;
    }
}

/// The outcome of asking for an organisation's lease.
#[derive(Debug, Clone)]
pub enum Lease {
    /// This caller holds the lease: a new RUNNING log.
    Acquired(SyncLog),
    /// Another sync of the organisation is running: its log.
    Busy(SyncLog),
}

/// Log queries over the pool.
#[derive(Clone)]
pub struct LogStore {
    pool: DbPool,
}

impl LogStore {
    /// A store over this pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Takes the organisation's lease by inserting a RUNNING log. A RUNNING log whose
    /// heartbeat is older than `stale_after` belongs to a worker that died: it is marked
    /// FAILED and the lease taken over.
    #[tracing::instrument(name = "db", skip_all, fields(op = "lease"))]
    pub async fn acquire(
        &self,
        tenant: Tenant,
        dry_run: bool,
        stale_after: chrono::Duration,
    ) -> Result<Lease, DbError> {
        let organisation_id = tenant.id();
        let mut conn = self.pool.get().await?;
        let stale_secs = stale_after.num_milliseconds() as f64 / 1000.0;
        for _ in 0..5 {
            let inserted = diesel::insert_into(logs::table)
                .values((
                    logs::organisation_id.eq(organisation_id),
                    logs::status.eq(LogStatus::Running),
                    logs::started_at.eq(diesel::dsl::now),
                    logs::heartbeat_at.eq(diesel::dsl::now),
                    logs::dry_run.eq(dry_run),
                ))
                .on_conflict(logs::organisation_id)
                // A literal, not a bind: PostgreSQL matches a partial unique index to ON
                // CONFLICT only when the predicate is known at plan time (a generic plan, after
                // five executions of a prepared statement, fails with "no unique constraint").
                .filter_target(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "status = 'RUNNING'",
                ))
                .do_nothing()
                .returning(LogRow::as_returning())
                .get_result(&mut conn)
                .await
                .optional()?;
            if let Some(row) = inserted {
                return Ok(Lease::Acquired(row.into()));
            }
            let Some(running) = running_on(&mut conn, tenant).await? else {
                continue; // it finished in between: try again
            };
            let message = format!(
                "abandoned: its worker stopped heart-beating at {}; lease taken over",
                running.heartbeat_at.to_rfc3339()
            );
            // Stale by the database's clock, and still as read: otherwise it is alive.
            let taken = diesel::update(logs::table)
                .filter(logs::id.eq(running.id))
                .filter(logs::status.eq(LogStatus::Running))
                .filter(logs::heartbeat_at.eq(running.heartbeat_at))
                .filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "heartbeat_at < now() - make_interval(secs => ",
                    )
                    .bind::<diesel::sql_types::Double, _>(stale_secs)
                    .sql(")"),
                )
                .set((
                    logs::status.eq(LogStatus::Failed),
                    logs::finished_at.eq(diesel::dsl::now),
                    logs::message.eq(&message),
                    logs::errors.eq(vec![message.clone()]),
                ))
                .execute(&mut conn)
                .await?;
            if taken == 0 {
                return Ok(Lease::Busy(running.into()));
            }
            tracing::warn!(%organisation_id, log_id = %running.id, "took over a stale sync lease");
        }
        Err(DbError::Query(diesel::result::Error::RollbackTransaction))
    }

    /// Refreshes the heartbeat of a running log; false when the lease was lost.
    #[tracing::instrument(name = "db", skip_all, fields(op = "heartbeat"))]
    pub async fn heartbeat(&self, log_id: Uuid) -> Result<bool, DbError> {
        let mut conn = self.pool.get().await?;
        let n = diesel::update(logs::table)
            .filter(logs::id.eq(log_id))
            .filter(logs::status.eq(LogStatus::Running))
            .set(logs::heartbeat_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await?;
        Ok(n == 1)
    }

    /// Writes progress (outside of a batch transaction, e.g. a dry run).
    #[tracing::instrument(name = "db", skip_all, fields(op = "progress"))]
    pub async fn progress(&self, log_id: Uuid, progress: &Progress) -> Result<bool, DbError> {
        let mut conn = self.pool.get().await?;
        Ok(progress_on(&mut conn, log_id, progress).await?)
    }

    /// Ends a run: its log, and with `synced` the organisation's `last_sync_at`, in one
    /// transaction. The lease (the RUNNING status) is released in the same commit that says
    /// the organisation was synced, so no other replica finds it free and still due. A run
    /// whose lease was taken over (its log no longer RUNNING) changes nothing: the log keeps
    /// what the taker wrote, and `last_sync_at` is left to the run that holds the lease.
    #[tracing::instrument(name = "db", skip_all, fields(op = "finish"))]
    pub async fn finish(
        &self,
        log_id: Uuid,
        status: SyncStatus,
        progress: &Progress,
        message: Option<String>,
        duration_ms: i64,
        synced: Option<Tenant>,
    ) -> Result<SyncLog, DbError> {
        let mut conn = self.pool.get().await?;
        let row: LogRow = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let finished: Option<LogRow> = diesel::update(
                    logs::table
                        .filter(logs::id.eq(log_id))
                        .filter(logs::status.eq(LogStatus::Running)),
                )
                .set((
                    progress,
                    logs::status.eq(LogStatus::from(status)),
                    logs::finished_at.eq(diesel::dsl::now),
                    logs::heartbeat_at.eq(diesel::dsl::now),
                    logs::message.eq(message),
                    logs::duration_ms.eq(duration_ms),
                ))
                .returning(LogRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                let Some(row) = finished else {
                    tracing::warn!(%log_id, "the run's lease was taken over; its log is left as the taker wrote it");
                    return logs::table
                        .filter(logs::id.eq(log_id))
                        .select(LogRow::as_select())
                        .first(conn)
                        .await;
                };
                if let Some(tenant) = synced {
                    super::configs::set_last_sync_on(conn, tenant).await?;
                }
                Ok(row)
            })
            .await?;
        Ok(row.into())
    }

    /// Removes a RUNNING log that did no work (a scheduled run that found nothing due),
    /// releasing the lease.
    #[tracing::instrument(name = "db", skip_all, fields(op = "release_unstarted"))]
    pub async fn delete_unstarted(&self, log_id: Uuid) -> Result<(), DbError> {
        let mut conn = self.pool.get().await?;
        diesel::delete(
            logs::table
                .filter(logs::id.eq(log_id))
                .filter(logs::processed.eq(0)),
        )
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    /// The running log of an organisation.
    #[tracing::instrument(name = "db", skip_all, fields(op = "running_log"))]
    pub async fn running(&self, tenant: Tenant) -> Result<Option<SyncLog>, DbError> {
        let mut conn = self.pool.get().await?;
        Ok(running_on(&mut conn, tenant).await?.map(SyncLog::from))
    }

    /// The newest logs of an organisation, newest first.
    #[tracing::instrument(name = "db", skip_all, fields(op = "recent_logs", limit = limit))]
    pub async fn recent(&self, tenant: Tenant, limit: i64) -> Result<Vec<SyncLog>, DbError> {
        let mut conn = self.pool.get().await?;
        let rows: Vec<LogRow> = logs::table
            .filter(logs::organisation_id.eq(tenant.id()))
            .order_by((logs::started_at.desc(), logs::id.desc()))
            .limit(limit)
            .select(LogRow::as_select())
            .load(&mut conn)
            .await?;
        Ok(rows.into_iter().map(SyncLog::from).collect())
    }
}

async fn running_on(
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
) -> Result<Option<LogRow>, DbError> {
    Ok(logs::table
        .filter(logs::organisation_id.eq(tenant.id()))
        .filter(logs::status.eq(LogStatus::Running))
        .select(LogRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Writes progress and a heartbeat on a connection (inside a batch transaction); false when
/// the log is no longer RUNNING (the lease was lost).
pub(crate) async fn progress_on(
    conn: &mut AsyncPgConnection,
    log_id: Uuid,
    progress: &Progress,
) -> Result<bool, diesel::result::Error> {
    let n = diesel::update(logs::table)
        .filter(logs::id.eq(log_id))
        .filter(logs::status.eq(LogStatus::Running))
        .set((progress, logs::heartbeat_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(n == 1)
}
