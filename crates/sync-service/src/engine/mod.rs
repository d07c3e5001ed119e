//! The sync engine (ARCHITECTURE.md, "Sync engine", steps 1–8): lease, streaming fetch and
//! map, bulk diff, create batches and update events, one transaction per batch, a bounded
//! log. One run is [`SyncEngine::sync`]; the gRPC handler and the scheduler both call it.

mod convert;
mod messages;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel_async::AsyncConnection;
use mapper::{Mapped, MappedProspect};
use proto::events::client_create_result::Outcome;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use messages::{MAX_MESSAGES, Messages};

use crate::crypto::TokenCipher;
use crate::db::configs::ConfigStore;
use crate::db::logs::{Lease, LogStore, Progress};
use crate::db::mappings::{self, Known, MappingUpsert};
use crate::db::models::{ConfigRow, LogRow, LogStatus};
use crate::db::{DbError, DbPool, contrats};
use crate::domain::Endpoint;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::nats::ClientEvents;
use crate::winleadplus::{Record, WinLeadPlusClient};

/// What started a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `SyncProspects`.
    Manual,
    /// A scheduler tick: runs only if the organisation is due when the lease is taken.
    Scheduler,
}

/// The end of a call to [`SyncEngine::sync`].
#[derive(Debug, Clone)]
pub enum SyncOutcome {
    /// The run ended (SUCCESS or FAILED): its log.
    Finished(LogRow),
    /// Another run of the organisation holds the lease: its log.
    AlreadyRunning(LogRow),
    /// A scheduled run found the organisation no longer due (another replica synced it).
    NotDue,
}

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Prospects per batch.
    pub batch_size: usize,
    /// A RUNNING log without heartbeat for this long is taken over.
    pub lease_timeout: Duration,
    /// Token for organisations without one.
    pub fallback_token: Option<String>,
}

/// The sync engine (cheap to clone).
#[derive(Clone)]
pub struct SyncEngine {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    configs: ConfigStore,
    logs: LogStore,
    winleadplus: WinLeadPlusClient,
    events: ClientEvents,
    cipher: TokenCipher,
    settings: EngineSettings,
    metrics: Metrics,
    /// Fired on service shutdown: runs stop at the next batch boundary.
    shutdown: CancellationToken,
}

/// The state of one run, written to its log after each batch.
struct Run {
    organisation_id: Uuid,
    log_id: Uuid,
    dry_run: bool,
    counts: Progress,
    errors: Messages,
    warnings: Messages,
}

impl Run {
    fn progress(&self) -> Progress {
        Progress {
            errors: self.errors.kept().to_vec(),
            warnings: self.warnings.kept().to_vec(),
            errors_dropped: self.errors.dropped(),
            warnings_dropped: self.warnings.dropped(),
            ..self.counts.clone()
        }
    }

    fn fail(&mut self, who: &str, reason: impl std::fmt::Display) {
        self.counts.failed += 1;
        self.errors.push(format!("prospect {who}: {reason}"));
    }
}

impl SyncEngine {
    /// An engine over these parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pool: DbPool,
        winleadplus: WinLeadPlusClient,
        events: ClientEvents,
        cipher: TokenCipher,
        settings: EngineSettings,
        metrics: Metrics,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                configs: ConfigStore::new(pool.clone()),
                logs: LogStore::new(pool.clone()),
                pool,
                winleadplus,
                events,
                cipher,
                settings,
                metrics,
                shutdown,
            }),
        }
    }

    /// The token to use for an organisation: its own (decrypted), else the fallback.
    pub fn token_of(&self, config: &ConfigRow) -> Result<Option<String>, Error> {
        match &config.api_token_encrypted {
            Some(sealed) => Ok(Some(self.inner.cipher.open(sealed)?)),
            None => Ok(self.inner.settings.fallback_token.clone()),
        }
    }

    /// Runs one sync of an organisation to its end and returns its log (or the running log
    /// of another run). Errors are for requests that cannot start a run at all.
    #[tracing::instrument(skip_all, fields(%organisation_id, dry_run, ?trigger, sync_id))]
    pub async fn sync(
        &self,
        organisation_id: Uuid,
        dry_run: bool,
        trigger: Trigger,
    ) -> Result<SyncOutcome, Error> {
        let inner = &self.inner;
        let config = inner.configs.by_organisation(organisation_id).await?.ok_or_else(|| {
            Error::FailedPrecondition(format!(
                "organisation {organisation_id} has no WinLeadPlus config: call SaveConfig first"
            ))
        })?;
        if !config.enabled {
            return Err(Error::FailedPrecondition(format!(
                "the WinLeadPlus config of organisation {organisation_id} is disabled"
            )));
        }
        let endpoint = Endpoint::parse(&config.api_endpoint)?;
        let token = self.token_of(&config)?.ok_or_else(|| {
            Error::FailedPrecondition(format!(
                "organisation {organisation_id} has no WinLeadPlus API token (SaveConfig api_token)"
            ))
        })?;

        let stale_after = chrono::Duration::from_std(inner.settings.lease_timeout)
            .unwrap_or(chrono::Duration::MAX);
        let log = match inner
            .logs
            .acquire(organisation_id, dry_run, stale_after)
            .await?
        {
            Lease::Acquired(log) => log,
            Lease::Busy(running) => return Ok(SyncOutcome::AlreadyRunning(running)),
        };
        tracing::Span::current().record("sync_id", tracing::field::display(log.id));
        if trigger == Trigger::Scheduler
            && !inner.configs.is_due(organisation_id, Utc::now()).await?
        {
            inner.logs.delete_unstarted(log.id).await?;
            return Ok(SyncOutcome::NotDue);
        }

        let started = Instant::now();
        let heartbeat = self.spawn_heartbeat(log.id);
        let mut run = Run {
            organisation_id,
            log_id: log.id,
            dry_run,
            counts: Progress::default(),
            errors: Messages::default(),
            warnings: Messages::default(),
        };
        let result = self.run(&mut run, endpoint, token).await;
        heartbeat.abort();

        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, message) = match &result {
            Ok(()) => (LogStatus::Success, None),
            Err(reason) => {
                run.errors.push(format!("sync failed: {reason}"));
                (LogStatus::Failed, Some(reason.clone()))
            }
        };
        let finished = inner
            .logs
            .finish(run.log_id, status, &run.progress(), message, duration_ms)
            .await?;
        if !dry_run && status == LogStatus::Success {
            inner
                .configs
                .set_last_sync(organisation_id, Utc::now())
                .await?;
        }
        inner
            .metrics
            .sync_finished(status.as_str(), dry_run, started.elapsed());
        tracing::info!(
            status = status.as_str(),
            total = finished.total_prospects,
            created = finished.created,
            updated = finished.updated,
            skipped = finished.skipped,
            failed = finished.failed,
            duration_ms,
            "sync finished"
        );
        Ok(SyncOutcome::Finished(finished))
    }

    /// Keeps the lease alive while the run works (fetches can be long between batches).
    fn spawn_heartbeat(&self, log_id: Uuid) -> tokio::task::JoinHandle<()> {
        let logs = self.inner.logs.clone();
        let every = (self.inner.settings.lease_timeout / 3).max(Duration::from_secs(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                match logs.heartbeat(log_id).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                }
            }
        })
    }

    /// Fetch, map, diff, apply. `Err` is the reason the run failed as a whole.
    async fn run(&self, run: &mut Run, endpoint: Endpoint, token: String) -> Result<(), String> {
        let inner = &self.inner;
        let batch_size = inner.settings.batch_size.max(1);
        // What is already applied, read once. The parser consults it to skip the mapping of
        // unchanged prospects; each prospect appears once per payload, so it stays as read.
        let known = Arc::new(
            mappings::load(&inner.pool, run.organisation_id)
                .await
                .map_err(|e| e.to_string())?,
        );
        let lookup = Arc::clone(&known);
        let unchanged: crate::winleadplus::Unchanged =
            Arc::new(move |id, hash| lookup.get(&id).is_some_and(|k| k.data_hash == hash));
        let (mut records, fetch) =
            inner
                .winleadplus
                .fetch(endpoint, token, batch_size * 2, unchanged);
        let mut batch: Vec<Record> = Vec::with_capacity(batch_size);
        let mut interrupted = false;
        // Recording a batch (crm_commercial) overlaps with publishing the next one (NATS,
        // client-core's database): at most one recording is in flight.
        let mut recording: Option<tokio::task::JoinHandle<Result<(), String>>> = None;
        while let Some(record) = records.recv().await {
            batch.push(record);
            if batch.len() >= batch_size {
                let next = self
                    .publish_batch(run, &known, std::mem::take(&mut batch))
                    .await;
                self.chain(&mut recording, next).await?;
                if inner.shutdown.is_cancelled() {
                    interrupted = true;
                    break;
                }
            }
        }
        if !interrupted && !batch.is_empty() {
            let next = self.publish_batch(run, &known, batch).await;
            self.chain(&mut recording, next).await?;
        }
        if let Some(last) = recording.take() {
            last.await
                .map_err(|e| format!("recording task failed: {e}"))??;
        }
        if interrupted {
            drop(records);
            fetch.abort();
            return Err("interrupted by shutdown".to_owned());
        }
        match fetch.await {
            Ok(Ok(summary)) => {
                tracing::debug!(?summary, "fetch finished");
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("fetch task failed: {e}")),
        }
    }

    /// Waits for the recording in flight, then starts recording `next` (a publish error is
    /// returned once the previous recording has landed).
    async fn chain(
        &self,
        in_flight: &mut Option<tokio::task::JoinHandle<Result<(), String>>>,
        next: Result<Option<Recording>, String>,
    ) -> Result<(), String> {
        if let Some(previous) = in_flight.take() {
            previous
                .await
                .map_err(|e| format!("recording task failed: {e}"))??;
        }
        if let Some(recording) = next? {
            let pool = self.inner.pool.clone();
            *in_flight = Some(tokio::spawn(record(pool, recording)));
        }
        Ok(())
    }

    /// Classifies and publishes one batch; returns what to record (nothing for a dry run,
    /// whose progress is written here).
    async fn publish_batch(
        &self,
        run: &mut Run,
        known: &HashMap<i64, Known>,
        batch: Vec<Record>,
    ) -> Result<Option<Recording>, String> {
        let inner = &self.inner;
        let mut creates: Vec<MappedProspect> = Vec::new();
        let mut updates: Vec<(Uuid, MappedProspect)> = Vec::new();
        run.counts.total_prospects += i32::try_from(batch.len()).unwrap_or(i32::MAX);
        for record in batch {
            match record {
                Err(e) => {
                    run.counts.failed += 1;
                    run.errors.push(e.to_string());
                    inner.metrics.prospect("failed");
                }
                Ok(Mapped::Unchanged { .. }) => {
                    run.counts.skipped += 1;
                    inner.metrics.prospect("skipped");
                }
                Ok(Mapped::Changed(p)) => {
                    let p = *p;
                    for w in &p.warnings {
                        run.warnings
                            .push(format!("prospect {}: {w}", p.external_id));
                    }
                    match known.get(&p.external_id.get()) {
                        None => creates.push(p),
                        Some(k) if k.data_hash == p.data_hash => {
                            run.counts.skipped += 1;
                            inner.metrics.prospect("skipped");
                        }
                        Some(k) => updates.push((k.client_id, p)),
                    }
                }
            }
        }

        if run.dry_run {
            run.counts.created += i32::try_from(creates.len()).unwrap_or(i32::MAX);
            run.counts.updated += i32::try_from(updates.len()).unwrap_or(i32::MAX);
            run.counts.processed = run.counts.total_prospects;
            return match inner.logs.progress(run.log_id, &run.progress()).await {
                Ok(true) => Ok(None),
                Ok(false) => Err(lease_lost()),
                Err(e) => Err(e.to_string()),
            };
        }

        // Publish first, record second: a crash in between re-sends next time, harmlessly.
        let source_version = Utc::now().timestamp_micros();
        let mut applied: Vec<(Uuid, MappedProspect)> =
            Vec::with_capacity(creates.len() + updates.len());
        if !creates.is_empty() {
            let items = creates
                .iter()
                .map(|p| convert::create_item(run.organisation_id, p, source_version))
                .collect();
            let started = Instant::now();
            let results = inner
                .events
                .create(items)
                .await
                .map_err(|e| e.to_string())?;
            tracing::debug!(
                items = results.len(),
                elapsed_ms = started.elapsed().as_millis(),
                "create batch answered"
            );
            for (p, result) in creates.into_iter().zip(results) {
                match result.outcome.as_ref() {
                    Some(Outcome::ClientId(id)) => match Uuid::parse_str(id) {
                        Ok(client_id) => {
                            run.counts.created += 1;
                            inner.metrics.prospect("created");
                            applied.push((client_id, p));
                        }
                        Err(_) => run.fail(
                            &p.external_id.to_string(),
                            format!("client-core returned a bad id {id:?}"),
                        ),
                    },
                    Some(Outcome::Error(e)) => {
                        inner.metrics.prospect("failed");
                        run.fail(
                            &p.external_id.to_string(),
                            format!("client not created: {e}"),
                        );
                    }
                    None => run.fail(&p.external_id.to_string(), "client-core gave no result"),
                }
            }
        }
        if !updates.is_empty() {
            let events = updates
                .iter()
                .map(|(client_id, p)| {
                    convert::update_event(run.organisation_id, *client_id, p, source_version)
                })
                .collect();
            let acks = inner.events.publish_updates(events).await;
            for ((client_id, p), ack) in updates.into_iter().zip(acks) {
                match ack {
                    Ok(()) => {
                        run.counts.updated += 1;
                        inner.metrics.prospect("updated");
                        applied.push((client_id, p));
                    }
                    // Its hash is not advanced: the next sync sends it again.
                    Err(e) => {
                        inner.metrics.prospect("failed");
                        run.fail(&p.external_id.to_string(), e);
                    }
                }
            }
        }

        // Contracts: a reference listed by two prospects of this batch goes to the first.
        let mut contract_rows = Vec::new();
        let mut owner: HashMap<String, i64> = HashMap::new();
        for (client_id, p) in &applied {
            for row in convert::contrat_upserts(*client_id, &p.contrats) {
                match owner.get(&row.reference) {
                    Some(first) => run.warnings.push(format!(
                        "prospect {}: contract {} already imported for prospect {first} in this batch; skipped",
                        p.external_id, row.reference
                    )),
                    None => {
                        owner.insert(row.reference.clone(), p.external_id.get());
                        contract_rows.push(row);
                    }
                }
            }
        }
        run.counts.processed = run.counts.total_prospects;
        let mappings = applied
            .into_iter()
            .map(|(client_id, p)| {
                let prospect_id = p.external_id.get();
                let references = p
                    .contrats
                    .into_iter()
                    .map(|c| c.reference)
                    .filter(|r| owner.get(r) == Some(&prospect_id))
                    .collect();
                (
                    MappingUpsert {
                        prospect_id,
                        client_id,
                        contrat_ids: Vec::new(),
                        data_hash: p.data_hash,
                        source_version,
                    },
                    references,
                )
            })
            .collect();
        Ok(Some(Recording {
            organisation_id: run.organisation_id,
            log_id: run.log_id,
            contracts: contract_rows,
            mappings,
            progress: run.progress(),
        }))
    }
}

/// What one batch leaves to write to crm_commercial once its events are confirmed.
struct Recording {
    organisation_id: Uuid,
    log_id: Uuid,
    contracts: Vec<contrats::ContratUpsert>,
    /// Each mapping with the references of its contracts (their ids come from the upsert).
    mappings: Vec<(MappingUpsert, Vec<String>)>,
    progress: Progress,
}

/// Records a batch in one transaction: contracts and lines, mappings, log counters and
/// heartbeat. Fails with "lease lost" when the log is no longer this run's.
async fn record(pool: DbPool, recording: Recording) -> Result<(), String> {
    let started = Instant::now();
    let Recording {
        organisation_id,
        log_id,
        contracts,
        mut mappings,
        progress,
    } = recording;
    let mut conn = pool.get().await.map_err(|e| DbError::from(e).to_string())?;
    let recorded = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let ids =
                contrats::upsert_on(conn, organisation_id, mapper::SOURCE, &contracts).await?;
            let rows: Vec<MappingUpsert> = mappings
                .drain(..)
                .map(|(mut m, references)| {
                    m.contrat_ids = references
                        .iter()
                        .filter_map(|r| ids.get(r).copied())
                        .collect();
                    m
                })
                .collect();
            mappings::upsert_on(conn, organisation_id, &rows).await?;
            let still_ours = crate::db::logs::progress_on(conn, log_id, &progress)
                .await
                .map_err(|e| match e {
                    DbError::Query(q) => q,
                    DbError::Pool(_) => diesel::result::Error::RollbackTransaction,
                })?;
            if !still_ours {
                return Err(diesel::result::Error::RollbackTransaction);
            }
            Ok(())
        })
        .await;
    tracing::debug!(
        contracts = contracts.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "batch recorded"
    );
    match recorded {
        Ok(()) => Ok(()),
        Err(diesel::result::Error::RollbackTransaction) => Err(lease_lost()),
        Err(e) => Err(format!("cannot record the batch: {e}")),
    }
}

fn lease_lost() -> String {
    "the sync lease was lost (another worker took it over): stopped".to_owned()
}
