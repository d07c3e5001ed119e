//! The scheduler: at every `SYNC_CRON` tick (in `SYNC_TIMEZONE`), syncs each enabled
//! organisation whose interval has elapsed, a few at a time. Several replicas may tick at
//! once: the database lease, and the due check made under it, let one of them sync.

use std::sync::Arc;

use chrono::Utc;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::db::configs::ConfigStore;
use crate::engine::{RunOptions, SyncEngine, SyncOutcome, Trigger};
use service_kit::auth::Tenant;

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickOutcome {
    /// Organisations synced by this tick.
    pub synced: Vec<uuid::Uuid>,
    /// Organisations another run (or replica) was syncing.
    pub busy: usize,
    /// Organisations that could not be synced (missing token, …).
    pub failed: usize,
}

/// The scheduler: [`Scheduler::run_once`] is one tick, [`Scheduler::run`] the loop.
#[derive(Clone)]
pub struct Scheduler {
    engine: SyncEngine,
    configs: ConfigStore,
    schedule: Arc<cron::Schedule>,
    timezone: chrono_tz::Tz,
    concurrency: usize,
}

impl Scheduler {
    /// A scheduler on this schedule.
    pub fn new(
        engine: SyncEngine,
        configs: ConfigStore,
        schedule: cron::Schedule,
        timezone: chrono_tz::Tz,
        concurrency: usize,
    ) -> Self {
        Self {
            engine,
            configs,
            schedule: Arc::new(schedule),
            timezone,
            concurrency: concurrency.max(1),
        }
    }

    /// One tick: syncs every due organisation, `concurrency` at a time. The scheduler acts
    /// for the service, not for a caller: every organisation's config is its business.
    pub async fn run_once(&self) -> TickOutcome {
        self.run_once_until(&CancellationToken::new()).await
    }

    /// One tick that starts no further sync once `stop` fires (those running go on to their
    /// end, or to the engine's own shutdown).
    pub async fn run_once_until(&self, stop: &CancellationToken) -> TickOutcome {
        let due = match self.configs.due(Utc::now()).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "scheduler cannot read the configs");
                return TickOutcome::default();
            }
        };
        let results: Vec<_> = futures::stream::iter(due)
            // Read as each sync is about to start, not once for the whole tick.
            .take_while(|_| std::future::ready(!stop.is_cancelled()))
            .map(|config| {
                let engine = self.engine.clone();
                async move {
                    (
                        config.organisation_id,
                        engine
                            .sync(
                                Tenant::trusted(config.organisation_id),
                                RunOptions::default(),
                                Trigger::Scheduler,
                            )
                            .await,
                    )
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut outcome = TickOutcome::default();
        for (organisation_id, result) in results {
            match result {
                Ok(SyncOutcome::Finished(_)) => outcome.synced.push(organisation_id),
                Ok(SyncOutcome::AlreadyRunning(_) | SyncOutcome::NotDue) => outcome.busy += 1,
                Err(e) => {
                    outcome.failed += 1;
                    tracing::warn!(%organisation_id, error = %e, "scheduled sync not started");
                }
            }
        }
        outcome
    }

    /// Ticks until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(timezone = %self.timezone, "scheduler started");
        loop {
            let now = Utc::now().with_timezone(&self.timezone);
            let Some(next) = self.schedule.after(&now).next() else {
                tracing::warn!("the cron schedule has no future tick; scheduler stops");
                return Ok(());
            };
            let wait = (next.with_timezone(&Utc) - Utc::now())
                .to_std()
                .unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => {
                    tracing::info!("scheduler stopped");
                    return Ok(());
                }
            }
            let tick = self.run_once_until(&shutdown).await;
            tracing::info!(
                synced = tick.synced.len(),
                busy = tick.busy,
                failed = tick.failed,
                "scheduler tick"
            );
        }
    }
}
