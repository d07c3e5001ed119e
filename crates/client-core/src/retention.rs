//! Retention of personal data client-core keeps outside `clientbases`: dead letters older
//! than `CORE_DEAD_LETTER_RETENTION_DAYS` are purged once at start and then every hour
//! (`cargo xtask dead-letters purge` does the same at once). The update stream's own
//! `max_age` is set where the stream is opened (`nats::ensure_update_stream`).

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::db::{DbError, DeadLetterStore};
use crate::metrics::Metrics;

/// Time between two purges.
const EVERY: Duration = Duration::from_secs(3600);

/// Deletes the dead letters older than `retention`; how many went.
pub async fn purge_dead_letters(
    store: &DeadLetterStore,
    retention: chrono::Duration,
) -> Result<usize, DbError> {
    store.purge_before(Utc::now() - retention).await
}

/// Purges now and every hour until `stop` fires. A failed purge is logged and tried again
/// at the next hour: retention is not worth stopping the service for.
pub async fn run(
    store: DeadLetterStore,
    retention: chrono::Duration,
    metrics: Metrics,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
        }
        match purge_dead_letters(&store, retention).await {
            Ok(0) => {}
            Ok(purged) => {
                metrics.dead_letters_purged(purged);
                tracing::info!(
                    purged,
                    days = retention.num_days(),
                    "purged old dead letters"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot purge old dead letters; next try in an hour")
            }
        }
    }
}
