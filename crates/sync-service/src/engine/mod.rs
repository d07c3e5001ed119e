//! The sync engine (ARCHITECTURE.md, "Sync engine", steps 1–8): lease, streaming fetch and
//! map, bulk diff, create batches and update events, one transaction per batch, a bounded
//! log; after a complete fetch, the archive of the mapped prospects WinLeadPlus no longer
//! lists (`archive.rs`). One run is [`SyncEngine::sync`]; the gRPC handler and the scheduler
//! both call it.

mod archive;
mod convert;
mod messages;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use mapper::{Mapped, MappedProspect};
use proto::events::ClientUpdated;
use proto::events::client_create_result::Outcome;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

pub use messages::{MAX_MESSAGES, Messages};

use crate::crypto::{TokenBinding, TokenCipher};
use crate::db::batches::{self, Batch, ProspectRows, Published, RecordError, Refused};
use crate::db::configs::ConfigStore;
use crate::db::logs::{Lease, LogStore, Progress};
use crate::db::mappings::{self, Known, MappingUpsert};
use crate::db::{DbError, DbPool};
use crate::domain::{Endpoint, SyncConfig, SyncLog, SyncStatus};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::nats::{ClientEvents, EventError, UpdateError};
use crate::winleadplus::{FetchError, Record, WinLeadPlusClient};
use service_kit::auth::Tenant;

/// What started a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `SyncProspects`.
    Manual,
    /// A scheduler tick: runs only if the organisation is due when the lease is taken.
    Scheduler,
}

/// What a run is asked to do besides syncing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Count what would happen; write nothing but the log, publish nothing.
    pub dry_run: bool,
    /// Archive the prospects missing from the answer even past the archive guard.
    pub force_archive: bool,
}

/// The end of a call to [`SyncEngine::sync`].
#[derive(Debug, Clone)]
pub enum SyncOutcome {
    /// The run ended (SUCCESS or FAILED): its log.
    Finished(SyncLog),
    /// Another run of the organisation holds the lease: its log.
    AlreadyRunning(SyncLog),
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
    /// Longest run: past it, the run stops at a batch boundary and ends FAILED.
    pub max_duration: Duration,
    /// Largest share of an organisation's (non-archived) mapped prospects a run archives
    /// without `force_archive` (`SYNC_MAX_ARCHIVE_RATIO`).
    pub max_archive_ratio: f64,
    /// Token for organisations without one, sent only to its own origin.
    pub fallback: Option<FallbackToken>,
}

/// The service's own token (`WINLEADPLUS_API_TOKEN`) for organisations without one, and the
/// origin of `WINLEADPLUS_API_URL`, the only one it is ever sent to.
#[derive(Clone)]
pub struct FallbackToken {
    token: String,
    origin: Endpoint,
}

impl FallbackToken {
    /// `token`, for `endpoint`'s origin only.
    pub fn new(token: impl Into<String>, endpoint: Endpoint) -> Self {
        Self {
            token: token.into(),
            origin: endpoint,
        }
    }
}

impl std::fmt::Debug for FallbackToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FallbackToken(*** for {})", origin(&self.origin))
    }
}

/// `scheme://host[:port]` of an endpoint, as messages name it.
fn origin(endpoint: &Endpoint) -> String {
    endpoint.url().origin().ascii_serialization()
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
    force_archive: bool,
    counts: Progress,
    errors: Messages,
    warnings: Messages,
    /// The mapped prospects the answer holds so far (parsed or not, when their id could be
    /// read): the others, once the answer is known to be whole, are archived.
    seen: HashSet<i64>,
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

    /// Takes back the count of prospects the database refused to record, as failures.
    fn refused(&mut self, refused: Vec<Refused>, metrics: &Metrics) {
        for r in refused {
            self.counts.take_back(r.published);
            metrics.prospect("failed");
            self.errors
                .push(format!("prospect {}: {}", r.prospect_id, r.reason));
        }
    }
}

/// Why a run stopped before its end. Its message is the log's `message` and goes to the
/// service log at WARN.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// WinLeadPlus could not be read (after retries), or its envelope is broken.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The organisation's mappings could not be read.
    #[error("cannot read the organisation's mappings: {0}")]
    Mappings(DbError),
    /// The versions of a batch of updates could not be reserved (nothing was published).
    #[error("cannot reserve the versions of a batch of updates: {0}")]
    Versions(DbError),
    /// A batch could not be recorded at all.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The progress of a dry run could not be written.
    #[error("cannot write the sync's progress: {0}")]
    Progress(DbError),
    /// client-core or NATS failed for a whole batch.
    #[error(transparent)]
    Events(#[from] EventError),
    /// `SYNC_MAX_DURATION_SECS` passed.
    #[error("the sync ran past its deadline of {secs} s (SYNC_MAX_DURATION_SECS) and was stopped")]
    Deadline {
        /// The deadline.
        secs: u64,
    },
    /// The service is shutting down.
    #[error("interrupted by shutdown")]
    Shutdown,
    /// There is no token to send to the endpoint (none, the fallback's origin is another,
    /// or the stored one does not open).
    #[error("{0}")]
    Token(String),
    /// A task of the run died.
    #[error("{0} task failed: {1}")]
    Task(&'static str, String),
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

    /// The token to send to an organisation's stored endpoint: its own, opened for the
    /// config's organisation and the endpoint's origin, else the fallback when that origin
    /// is the fallback's. Every refusal says why and what to do (`FAILED_PRECONDITION`).
    pub fn token_of(&self, config: &SyncConfig) -> Result<String, Error> {
        let endpoint = Endpoint::parse(&config.api_endpoint)?;
        match &config.api_token_sealed {
            Some(sealed) => {
                let binding = TokenBinding::new(config.organisation_id, &endpoint);
                Ok(self.inner.cipher.open(sealed, &binding)?)
            }
            None => self.fallback_for(config.organisation_id, &endpoint),
        }
    }

    /// The service's fallback token, if `endpoint` is on its origin.
    pub fn fallback_for(
        &self,
        organisation_id: Uuid,
        endpoint: &Endpoint,
    ) -> Result<String, Error> {
        match &self.inner.settings.fallback {
            Some(fallback) if fallback.origin.same_origin(endpoint) => Ok(fallback.token.clone()),
            Some(fallback) => Err(Error::FailedPrecondition(format!(
                "no API token for {}: the service's fallback token is only sent to {}; save an api_token",
                origin(endpoint),
                origin(&fallback.origin)
            ))),
            None => Err(Error::FailedPrecondition(format!(
                "organisation {organisation_id} has no WinLeadPlus API token: save an api_token"
            ))),
        }
    }

    /// Runs one sync of an organisation to its end and returns its log (or the running log
    /// of another run). Errors are for requests that cannot start a run at all.
    #[tracing::instrument(skip_all, fields(organisation_id = %tenant, dry_run = options.dry_run, ?trigger, sync_id))]
    pub async fn sync(
        &self,
        tenant: Tenant,
        options: RunOptions,
        trigger: Trigger,
    ) -> Result<SyncOutcome, Error> {
        let inner = &self.inner;
        let dry_run = options.dry_run;
        let organisation_id = tenant.id();
        let config = inner.configs.by_organisation(tenant).await?.ok_or_else(|| {
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
        // A token that cannot be had ends the run FAILED with the reason, so a scheduled run
        // leaves it in the logs too; nothing is sent.
        let token = self.token_of(&config);

        let stale_after = chrono::Duration::from_std(inner.settings.lease_timeout)
            .unwrap_or(chrono::Duration::MAX);
        let log = match inner.logs.acquire(tenant, dry_run, stale_after).await? {
            Lease::Acquired(log) => log,
            Lease::Busy(running) => return Ok(SyncOutcome::AlreadyRunning(running)),
        };
        tracing::Span::current().record("sync_id", tracing::field::display(log.id));
        if trigger == Trigger::Scheduler && !inner.configs.is_due(tenant, Utc::now()).await? {
            inner.logs.delete_unstarted(log.id).await?;
            return Ok(SyncOutcome::NotDue);
        }

        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + inner.settings.max_duration;
        // Dropped when this returns or unwinds: a panicking run stops heart-beating, and its
        // lease goes stale and is taken over.
        let heartbeat = self.spawn_heartbeat(log.id);
        let mut run = Run {
            organisation_id,
            log_id: log.id,
            dry_run,
            force_archive: options.force_archive,
            counts: Progress::default(),
            errors: Messages::default(),
            warnings: Messages::default(),
            seen: HashSet::new(),
        };
        let result = match token {
            Ok(token) => self.run(&mut run, endpoint, token, deadline).await,
            Err(e) => Err(RunError::Token(e.to_string())),
        };
        drop(heartbeat);

        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, message) = match &result {
            Ok(()) => (SyncStatus::Success, None),
            Err(reason) => {
                let reason = reason.to_string();
                tracing::warn!(
                    %organisation_id,
                    sync_id = %run.log_id,
                    reason = %reason,
                    "sync failed"
                );
                run.errors.push(format!("sync failed: {reason}"));
                (SyncStatus::Failed, Some(reason))
            }
        };
        let synced = (!dry_run && status == SyncStatus::Success).then_some(tenant);
        // The run's end is written even when the database just dropped the pool's
        // connections (the pool hands out dead ones until each has failed once): a few
        // attempts, or the caller gets an opaque error and the lease stays held until stale.
        let progress = run.progress();
        let mut attempt = 0;
        let finished = loop {
            attempt += 1;
            match inner
                .logs
                .finish(
                    run.log_id,
                    status,
                    &progress,
                    message.clone(),
                    duration_ms,
                    synced,
                )
                .await
            {
                Ok(log) => break log,
                Err(e) if attempt < FINISH_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "cannot write the end of the sync; trying again");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
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
            archived = finished.archived,
            duration_ms,
            "sync finished"
        );
        Ok(SyncOutcome::Finished(finished))
    }

    /// Keeps the lease alive while the run works (fetches can be long between batches),
    /// until the returned guard is dropped.
    fn spawn_heartbeat(&self, log_id: Uuid) -> Heartbeat {
        let logs = self.inner.logs.clone();
        let every = (self.inner.settings.lease_timeout / 3).max(Duration::from_secs(1));
        // Spawned tasks start outside any span: each one carries the sync's along, so what it
        // does is read under `organisation_id` and `sync_id`.
        let heartbeat = async move {
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
        };
        Heartbeat(tokio::spawn(heartbeat.in_current_span()))
    }

    /// Fetch, map, diff, apply. `Err` is the reason the run failed as a whole.
    async fn run(
        &self,
        run: &mut Run,
        endpoint: Endpoint,
        token: String,
        deadline: tokio::time::Instant,
    ) -> Result<(), RunError> {
        let inner = &self.inner;
        let batch_size = inner.settings.batch_size.max(1);
        // What is already applied, read once. The parser consults it to skip the mapping of
        // unchanged prospects; each prospect appears once per payload, so it stays as read.
        let known = Arc::new(
            mappings::load(&inner.pool, run.organisation_id)
                .await
                .map_err(RunError::Mappings)?,
        );
        let lookup = Arc::clone(&known);
        // An archived prospect that is back is mapped whatever its hash: it is restored.
        let unchanged: crate::winleadplus::Unchanged = Arc::new(move |id, hash| {
            lookup
                .get(&id)
                .is_some_and(|k| k.data_hash == hash && !k.archived)
        });
        // Cancelled when the run stops early: cuts off a response being read. Also cancelled
        // when this returns, however it returns: the fetch never outlives its run.
        let stop_fetch = inner.shutdown.child_token();
        let _fetch_ends_with_the_run = stop_fetch.clone().drop_guard();
        let (mut records, fetch) = inner.winleadplus.fetch(
            endpoint,
            token,
            batch_size * 2,
            unchanged,
            stop_fetch.clone(),
        );
        let mut batch: Vec<Record> = Vec::with_capacity(batch_size);
        let mut stopped: Option<RunError> = None;
        // Up to two batches are being sent (create requests answered, updates confirmed)
        // while the records of the next one arrive; they are recorded in their order.
        let mut sending = SendQueue::default();
        // Recording a batch (crm_commercial) overlaps with sending the next ones (NATS,
        // client-core's database): at most one recording is in flight.
        let mut recording: Option<InFlight> = None;
        // One timer and one shutdown wait for the whole run, not one per record.
        let past_deadline = tokio::time::sleep_until(deadline);
        let shutdown = inner.shutdown.cancelled();
        tokio::pin!(past_deadline, shutdown);
        loop {
            let next = tokio::select! {
                biased;
                () = &mut shutdown => Err(RunError::Shutdown),
                () = &mut past_deadline => Err(self.deadline_error()),
                record = records.recv() => Ok(record),
            };
            let record = match next {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(stop) => {
                    stopped = Some(stop);
                    break;
                }
            };
            batch.push(record);
            if batch.len() >= batch_size {
                let dispatched = self.dispatch(run, &known, std::mem::take(&mut batch)).await;
                self.queue(run, &mut sending, &mut recording, dispatched)
                    .await?;
                if inner.shutdown.is_cancelled() {
                    stopped = Some(RunError::Shutdown);
                    break;
                }
            }
        }
        if stopped.is_none() && !batch.is_empty() {
            let dispatched = self.dispatch(run, &known, batch).await;
            self.queue(run, &mut sending, &mut recording, dispatched)
                .await?;
        }
        // What was sent is recorded, even when the run stops: it was published.
        while !sending.is_empty() {
            self.land(run, &mut sending, &mut recording).await?;
        }
        self.chain(run, &mut recording, Ok(None)).await?;
        if let Some(stop) = stopped {
            stop_fetch.cancel();
            drop(records);
            fetch.abort();
            return Err(stop);
        }
        let summary = match fetch.await {
            Ok(Ok(summary)) => summary,
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => return Err(RunError::Task("fetch", e.to_string())),
        };
        tracing::debug!(?summary, "fetch finished");
        // Only a whole answer tells which prospects are gone.
        if summary.complete {
            self.archive_vanished(run, &known, deadline).await
        } else {
            run.warnings.push(format!(
                "the answer was not read whole (stopped after {} pages); nothing archived",
                summary.pages
            ));
            Ok(())
        }
    }

    fn deadline_error(&self) -> RunError {
        RunError::Deadline {
            secs: self.inner.settings.max_duration.as_secs(),
        }
    }

    /// Waits for the recording in flight and takes back the prospects it refused, then
    /// starts recording `next` (a publish error is returned once the previous recording has
    /// landed).
    async fn chain(
        &self,
        run: &mut Run,
        in_flight: &mut Option<InFlight>,
        next: Result<Option<Batch>, RunError>,
    ) -> Result<(), RunError> {
        if let Some(previous) = in_flight.take() {
            let refused = previous
                .await
                .map_err(|e| RunError::Task("recording", e.to_string()))??;
            run.refused(refused, &self.inner.metrics);
        }
        if let Some(batch) = next? {
            let pool = self.inner.pool.clone();
            let recording = async move {
                let started = Instant::now();
                let prospects = batch.prospects.len();
                let recorded = batches::record(&pool, batch).await;
                tracing::debug!(
                    prospects,
                    elapsed_ms = started.elapsed().as_millis(),
                    "batch recorded"
                );
                recorded
            };
            *in_flight = Some(tokio::spawn(recording.in_current_span()));
        }
        Ok(())
    }

    /// Adds a dispatched batch to those being sent; once [`IN_FLIGHT`] are, waits for the
    /// oldest and records it. A batch that could not be dispatched (a dry run's progress not
    /// written) stops the run once what was sent before is recorded.
    async fn queue(
        &self,
        run: &mut Run,
        sending: &mut VecDeque<Sending>,
        recording: &mut Option<InFlight>,
        dispatched: Result<Option<Sending>, RunError>,
    ) -> Result<(), RunError> {
        match dispatched {
            Ok(Some(send)) => sending.push_back(send),
            Ok(None) => {}
            Err(e) => {
                while !sending.is_empty() {
                    self.land(run, sending, recording).await?;
                }
                return self.chain(run, recording, Err(e)).await;
            }
        }
        if sending.len() >= IN_FLIGHT {
            self.land(run, sending, recording).await?;
        }
        Ok(())
    }

    /// Waits for the oldest batch being sent, counts its answers and starts recording it. If
    /// it failed as a whole, the batches sent after it are still recorded before the run
    /// stops with its error.
    async fn land(
        &self,
        run: &mut Run,
        sending: &mut VecDeque<Sending>,
        recording: &mut Option<InFlight>,
    ) -> Result<(), RunError> {
        let Some(oldest) = sending.pop_front() else {
            return Ok(());
        };
        match joined(oldest).await {
            Ok(sent) => {
                let batch = self.settle(run, sent);
                self.chain(run, recording, Ok(Some(batch))).await
            }
            Err(e) => {
                while let Some(next) = sending.pop_front() {
                    if let Ok(sent) = joined(next).await {
                        let batch = self.settle(run, sent);
                        self.chain(run, recording, Ok(Some(batch))).await?;
                    }
                }
                self.chain(run, recording, Err(e)).await
            }
        }
    }

    /// Classifies one batch and starts sending it: creates to client-core, updates to
    /// JetStream, in a task of their own. A dry run sends nothing: its counts and progress
    /// are written here, and there is nothing to record.
    async fn dispatch(
        &self,
        run: &mut Run,
        known: &HashMap<i64, Known>,
        batch: Vec<Record>,
    ) -> Result<Option<Sending>, RunError> {
        let inner = &self.inner;
        let mut creates: Vec<MappedProspect> = Vec::new();
        let mut updates: Vec<Update> = Vec::new();
        run.counts.total_prospects += i32::try_from(batch.len()).unwrap_or(i32::MAX);
        for record in batch {
            match record {
                Err(e) => {
                    // Present, if its id could be read: a broken record is no removal.
                    if let Some(id) = e
                        .prospect_id
                        .as_deref()
                        .and_then(|raw| raw.parse::<mapper::ProspectId>().ok())
                        .filter(|id| known.contains_key(&id.get()))
                    {
                        run.seen.insert(id.get());
                    }
                    run.counts.failed += 1;
                    run.errors.push(e.to_string());
                    inner.metrics.prospect("failed");
                }
                Ok(Mapped::Unchanged { external_id, .. }) => {
                    run.seen.insert(external_id.get());
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
                        Some(k) => {
                            run.seen.insert(p.external_id.get());
                            if k.data_hash == p.data_hash && !k.archived {
                                run.counts.skipped += 1;
                                inner.metrics.prospect("skipped");
                            } else {
                                updates.push(Update {
                                    client_id: k.client_id,
                                    prospect: p,
                                    restore: k.archived,
                                });
                            }
                        }
                    }
                }
            }
        }
        run.counts.processed = run.counts.total_prospects;

        if run.dry_run {
            run.counts.created += i32::try_from(creates.len()).unwrap_or(i32::MAX);
            run.counts.updated += i32::try_from(updates.len()).unwrap_or(i32::MAX);
            return match inner.logs.progress(run.log_id, &run.progress()).await {
                Ok(true) => Ok(None),
                Ok(false) => Err(RecordError::LeaseLost.into()),
                Err(e) => Err(RunError::Progress(e)),
            };
        }
        let engine = self.clone();
        let organisation_id = run.organisation_id;
        let send = async move { engine.send(organisation_id, creates, updates).await };
        Ok(Some(tokio::spawn(send.in_current_span())))
    }

    /// Sends one batch: its creates to client-core (request/reply), its updates to JetStream
    /// under versions reserved first. Publish first, record second: a crash before the
    /// recording re-sends next time, harmlessly. Fails as a whole only when client-core,
    /// NATS or the version reservation does.
    async fn send(
        &self,
        organisation_id: Uuid,
        creates: Vec<MappedProspect>,
        updates: Vec<Update>,
    ) -> Result<Sent, RunError> {
        let inner = &self.inner;
        // A new client's first version is the database's clock, as every later one is (reserved
        // above it): a create sent again after a crash carries a newer version than the one
        // that reached client-core first, whichever replica sends it, so its data applies.
        let created_version = if creates.is_empty() {
            0
        } else {
            mappings::database_clock(&inner.pool)
                .await
                .map_err(RunError::Versions)?
        };
        let mut sent = Sent {
            created_version,
            ..Sent::default()
        };
        if !creates.is_empty() {
            let items = creates
                .iter()
                .map(|p| convert::create_item(organisation_id, p, created_version))
                .collect();
            let started = Instant::now();
            let results = inner.events.create(items).await?;
            tracing::debug!(
                items = results.len(),
                elapsed_ms = started.elapsed().as_millis(),
                "create batch answered"
            );
            sent.created = creates
                .into_iter()
                .zip(results.into_iter().map(|r| r.outcome))
                .collect();
        }
        if !updates.is_empty() {
            let (published, unmapped) = self
                .publish_versioned(
                    organisation_id,
                    updates,
                    |u| u.prospect.external_id.get(),
                    |u, version| {
                        convert::update_event(
                            organisation_id,
                            u.client_id,
                            &u.prospect,
                            version,
                            u.restore,
                        )
                    },
                )
                .await?;
            sent.updated = published
                .into_iter()
                .map(|(u, version, ack)| (u.client_id, u.prospect, version, ack))
                .collect();
            sent.unmapped = unmapped.into_iter().map(|u| u.prospect).collect();
        }
        Ok(sent)
    }

    /// The one path of every JetStream change (updates, restores, archives): a version
    /// reserved for each item's prospect, the event `event` makes of it under that version
    /// published, every PubAck awaited. Returns each published item with its version and
    /// acknowledgement, and apart the items whose mapping went away since the diff (nothing
    /// published for them).
    async fn publish_versioned<T>(
        &self,
        organisation_id: Uuid,
        items: Vec<T>,
        prospect_of: impl Fn(&T) -> i64,
        event: impl Fn(&T, i64) -> (String, ClientUpdated),
    ) -> Result<Versioned<T>, RunError> {
        let ids: Vec<i64> = items.iter().map(&prospect_of).collect();
        let versions = mappings::reserve_versions(&self.inner.pool, organisation_id, &ids)
            .await
            .map_err(RunError::Versions)?;
        let mut publish = Vec::with_capacity(items.len());
        let mut events = Vec::with_capacity(items.len());
        let mut unmapped = Vec::new();
        for item in items {
            match versions.get(&prospect_of(&item)) {
                Some(&version) => {
                    events.push(event(&item, version));
                    publish.push((item, version));
                }
                None => unmapped.push(item),
            }
        }
        let acks = self.inner.events.publish_updates(events).await;
        let published = publish
            .into_iter()
            .zip(acks)
            .map(|((item, version), ack)| (item, version, ack))
            .collect();
        Ok((published, unmapped))
    }

    /// Counts what a sent batch became and returns what to record: the prospects client-core
    /// created (or found) and those JetStream confirmed; the others fail with their reason
    /// and keep their old hash, so the next sync sends them again.
    fn settle(&self, run: &mut Run, sent: Sent) -> Batch {
        let inner = &self.inner;
        let mut applied: Vec<(Uuid, MappedProspect, Published, i64)> =
            Vec::with_capacity(sent.created.len() + sent.updated.len());
        for (p, outcome) in sent.created {
            match outcome {
                Some(Outcome::ClientId(id)) => match Uuid::parse_str(&id) {
                    Ok(client_id) => {
                        run.counts.created += 1;
                        inner.metrics.prospect("created");
                        applied.push((client_id, p, Published::Created, sent.created_version));
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
        for p in sent.unmapped {
            inner.metrics.prospect("failed");
            run.fail(
                &p.external_id.to_string(),
                "its mapping disappeared during the sync; it is created next time",
            );
        }
        for (client_id, p, version, ack) in sent.updated {
            match ack {
                Ok(()) => {
                    run.counts.updated += 1;
                    inner.metrics.prospect("updated");
                    applied.push((client_id, p, Published::Updated, version));
                }
                // Its hash is not advanced: the next sync sends it again.
                Err(e) => {
                    inner.metrics.prospect("failed");
                    run.fail(&p.external_id.to_string(), e);
                }
            }
        }

        // Contracts: a reference listed by two prospects of this batch goes to the first.
        let mut owner: HashMap<String, i64> = HashMap::new();
        let mut prospects = Vec::with_capacity(applied.len());
        for (client_id, p, published, source_version) in applied {
            let prospect_id = p.external_id.get();
            let mut contracts = Vec::new();
            for row in convert::contrat_upserts(client_id, &p.contrats) {
                match owner.get(&row.reference) {
                    Some(first) => run.warnings.push(format!(
                        "prospect {prospect_id}: contract {} already imported for prospect {first} in this batch; skipped",
                        row.reference
                    )),
                    None => {
                        owner.insert(row.reference.clone(), prospect_id);
                        contracts.push(row);
                    }
                }
            }
            prospects.push(ProspectRows {
                mapping: MappingUpsert {
                    prospect_id,
                    client_id,
                    contrat_ids: Vec::new(),
                    data_hash: p.data_hash,
                    source_version,
                },
                contracts,
                published,
            });
        }
        Batch {
            organisation_id: run.organisation_id,
            log_id: run.log_id,
            prospects,
            progress: run.progress(),
        }
    }
}

/// The heartbeat task of a run, stopped when dropped (also by a panic's unwinding).
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A mapped prospect whose data changed, or that is back after an archive (`restore`).
struct Update {
    client_id: Uuid,
    prospect: MappedProspect,
    restore: bool,
}

/// Attempts to write the end of a run.
const FINISH_ATTEMPTS: u32 = 8;

/// What [`SyncEngine::publish_versioned`] did: each item published with its version and
/// PubAck, and the items left unpublished (their mapping is gone).
type Versioned<T> = (Vec<(T, i64, Result<(), UpdateError>)>, Vec<T>);

/// Batches being sent at once, at most.
const IN_FLIGHT: usize = 2;

/// A batch being sent, in its own task.
type Sending = tokio::task::JoinHandle<Result<Sent, RunError>>;

/// The batches being sent. A run that returns early (an error) aborts the ones left: none
/// goes on publishing after the run's lease is released.
#[derive(Default)]
struct SendQueue(VecDeque<Sending>);

impl std::ops::Deref for SendQueue {
    type Target = VecDeque<Sending>;

    fn deref(&self) -> &VecDeque<Sending> {
        &self.0
    }
}

impl std::ops::DerefMut for SendQueue {
    fn deref_mut(&mut self) -> &mut VecDeque<Sending> {
        &mut self.0
    }
}

impl Drop for SendQueue {
    fn drop(&mut self) {
        for sending in &self.0 {
            sending.abort();
        }
    }
}

/// The answers to one sent batch, per prospect, in the batch's order.
#[derive(Default)]
struct Sent {
    /// The version the creates carried.
    created_version: i64,
    /// Each create and client-core's answer (a client that existed, a create sent again after
    /// a crash, has had the data applied as an update).
    created: Vec<(MappedProspect, Option<Outcome>)>,
    /// Each update, its version and whether JetStream confirmed it.
    updated: Vec<(Uuid, MappedProspect, i64, Result<(), UpdateError>)>,
    /// Updates whose mapping disappeared since the diff.
    unmapped: Vec<MappedProspect>,
}

/// The end of a sending task.
async fn joined(sending: Sending) -> Result<Sent, RunError> {
    sending
        .await
        .map_err(|e| RunError::Task("sending", e.to_string()))?
}

/// A batch being recorded: the prospects the database refused, or why it failed as a whole.
type InFlight = tokio::task::JoinHandle<Result<Vec<Refused>, RecordError>>;
