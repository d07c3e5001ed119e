//! The archive step of a run (issue #15): once WinLeadPlus's answer was read whole, the
//! organisation's mapped prospects missing from it are archived, never deleted. Each batch
//! of them is published first (an archive event per prospect on the update stream, under a
//! version reserved like an update's), then recorded (mapping marked archived, contracts
//! `ARCHIVE`, the log's `archived`), with the deadline and shutdown checked between batches.
//! A guard keeps a suspicious answer (too many missing, or none at all) from archiving
//! anything unless the run is forced.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Run, RunError, SyncEngine, convert};
use crate::db::batches::{self, ArchiveBatch};
use crate::db::mappings::Known;

/// Why the guard kept a run from archiving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Guard {
    /// More than the allowed share of the mapped prospects are missing.
    Ratio,
    /// WinLeadPlus answered no prospect at all while some are mapped.
    Empty,
}

impl Guard {
    /// The metric's label.
    fn reason(self) -> &'static str {
        match self {
            Guard::Ratio => "ratio",
            Guard::Empty => "empty",
        }
    }
}

/// Whether the guard holds for `vanished` missing prospects out of `active` mapped (not
/// archived) ones, after an answer of `records` records, with `max_ratio` the largest share
/// that may go. `None`: they may be archived.
pub(super) fn guard(
    vanished: usize,
    active: usize,
    records: usize,
    max_ratio: f64,
) -> Option<Guard> {
    if vanished == 0 {
        return None;
    }
    if records == 0 {
        return Some(Guard::Empty);
    }
    // Counts far below 2^52: exact as floats.
    (vanished as f64 > max_ratio * active as f64).then_some(Guard::Ratio)
}

impl SyncEngine {
    /// Archives the mapped prospects `run` did not see, in batches, unless the guard holds
    /// (then only a warning, a metric, and the run stays SUCCESS). A dry run counts them and
    /// writes nothing. `Err` stops the run like a batch's failure would.
    pub(super) async fn archive_vanished(
        &self,
        run: &mut Run,
        known: &HashMap<i64, Known>,
        deadline: tokio::time::Instant,
    ) -> Result<(), RunError> {
        let inner = &self.inner;
        let active = known.values().filter(|k| !k.archived).count();
        let mut vanished: Vec<(i64, Uuid)> = known
            .iter()
            .filter(|(id, k)| !k.archived && !run.seen.contains(id))
            .map(|(id, k)| (*id, k.client_id))
            .collect();
        if vanished.is_empty() {
            return Ok(());
        }
        vanished.sort_unstable();
        let records = usize::try_from(run.counts.total_prospects).unwrap_or(0);
        let max_ratio = inner.settings.max_archive_ratio;
        if let Some(held) = guard(vanished.len(), active, records, max_ratio) {
            if run.force_archive {
                tracing::warn!(
                    vanished = vanished.len(),
                    active,
                    "archive guard bypassed by force_archive"
                );
            } else {
                let why = match held {
                    Guard::Empty => {
                        format!("WinLeadPlus answered no prospect while {active} are mapped")
                    }
                    Guard::Ratio => format!(
                        "{} of the {active} mapped prospects are missing from WinLeadPlus's answer, more than SYNC_MAX_ARCHIVE_RATIO ({max_ratio})",
                        vanished.len()
                    ),
                };
                let warning = format!(
                    "archive guard: {why}; none of the {} was archived. If they were removed from WinLeadPlus, sync again with force_archive",
                    vanished.len()
                );
                tracing::warn!(
                    vanished = vanished.len(),
                    active,
                    reason = held.reason(),
                    "{warning}"
                );
                inner.metrics.archive_guard(held.reason());
                run.warnings.push(warning);
                return Ok(());
            }
        }
        if run.dry_run {
            run.counts.archived += i32::try_from(vanished.len()).unwrap_or(i32::MAX);
            return Ok(());
        }
        let batch_size = inner.settings.batch_size.max(1);
        for chunk in vanished.chunks(batch_size) {
            if inner.shutdown.is_cancelled() {
                return Err(RunError::Shutdown);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.deadline_error());
            }
            self.archive_batch(run, chunk).await?;
        }
        Ok(())
    }

    /// One batch: versions reserved, archive events published and confirmed, then what
    /// JetStream confirmed recorded in one transaction. An archive not confirmed leaves its
    /// mapping as it was: the next complete sync tries again.
    async fn archive_batch(&self, run: &mut Run, chunk: &[(i64, Uuid)]) -> Result<(), RunError> {
        let inner = &self.inner;
        let organisation_id = run.organisation_id;
        // A mapping gone since the diff has nothing left to archive: not published.
        let (published, _gone) = self
            .publish_versioned(
                organisation_id,
                chunk.to_vec(),
                |&(prospect, _)| prospect,
                |&(prospect, client_id), version| {
                    convert::archive_event(organisation_id, client_id, prospect, version)
                },
            )
            .await?;
        let mut confirmed = Vec::with_capacity(published.len());
        for ((prospect, _), version, ack) in published {
            match ack {
                Ok(()) => confirmed.push((prospect, version)),
                Err(e) => run.errors.push(format!(
                    "prospect {prospect}: not archived: {e}; the next sync tries again"
                )),
            }
        }
        if confirmed.is_empty() {
            return Ok(());
        }
        // Counted in the progress the batch's transaction writes, and taken back if it does
        // not commit: a log never counts an archive that was not recorded.
        let archived = i32::try_from(confirmed.len()).unwrap_or(i32::MAX);
        run.counts.archived += archived;
        let recorded = batches::record_archives(
            &inner.pool,
            ArchiveBatch {
                organisation_id,
                log_id: run.log_id,
                prospects: confirmed,
                progress: run.progress(),
            },
        )
        .await;
        let contracts = match recorded {
            Ok(contracts) => contracts,
            Err(e) => {
                run.counts.archived -= archived;
                return Err(e.into());
            }
        };
        inner
            .metrics
            .prospects("archived", u64::try_from(archived).unwrap_or(0));
        tracing::debug!(archived, contracts, "archive batch recorded");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Guard, guard};

    #[test]
    fn the_guard_holds_past_the_ratio_or_on_an_empty_answer_and_only_then() {
        // (vanished, active, records, max ratio) → guard
        let cases = [
            ((0, 100, 100, 0.2), None),
            ((0, 100, 0, 0.2), None),
            ((5, 100, 95, 0.2), None),
            ((20, 100, 80, 0.2), None),
            ((21, 100, 79, 0.2), Some(Guard::Ratio)),
            ((30, 100, 70, 0.2), Some(Guard::Ratio)),
            ((100, 100, 0, 1.0), Some(Guard::Empty)),
            ((100, 100, 3, 1.0), None),
            ((1, 100, 99, 0.0), Some(Guard::Ratio)),
        ];
        for ((vanished, active, records, ratio), expected) in cases {
            assert_eq!(
                guard(vanished, active, records, ratio),
                expected,
                "{vanished} of {active}, {records} records, ratio {ratio}"
            );
        }
    }
}
