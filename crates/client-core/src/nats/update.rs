//! `client.update.from-winleadplus`: the durable JetStream pull consumer that applies client
//! updates. A message is acknowledged only after its effect is committed; one that keeps
//! failing is redelivered with back-off (200 ms doubling, at most 60 s) until the next wait
//! would end past its retry budget (`CORE_RETRY_BUDGET_SECS`), then stored as a dead letter
//! and acknowledged. One that cannot be decoded is stored at once. Each non-empty batch is handled under an `update_batch` span
//! (`subject`, `batch`, then the counts of what became of its messages).

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, AckKind, stream};
use futures::StreamExt;
use proto::events::ClientUpdated;
use proto::prost::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::convert::update_command;
use crate::db::{DeadLetterStore, EventStore, UpdateOutcome};
use crate::events::UpdateCommand;
use crate::metrics::Metrics;

/// The window in which JetStream drops a re-sent update with the same `Nats-Msg-Id`.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Creates the stream of updates if missing: it captures exactly `subject` and keeps a
/// message at most `max_age`. An existing stream keeps its other settings (replicas,
/// storage, limits an operator chose) and is updated only where these three differ.
pub async fn ensure_update_stream(
    nats: &async_nats::Client,
    stream_name: &str,
    subject: &str,
    max_age: Duration,
) -> anyhow::Result<stream::Stream> {
    let js = jetstream::new(nats.clone());
    let cannot = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("cannot create or open stream {stream_name}: {e}")
    };
    let mut stream = js
        .get_or_create_stream(stream::Config {
            name: stream_name.to_owned(),
            subjects: vec![subject.to_owned()],
            // Nats-Msg-Id dedupe of re-sent updates (a sync re-run after a crash).
            duplicate_window: DUPLICATE_WINDOW,
            max_age,
            ..Default::default()
        })
        .await
        .map_err(|e| cannot(&e))?;
    let current = stream.info().await.map_err(|e| cannot(&e))?.config.clone();
    let subjects = vec![subject.to_owned()];
    if current.max_age != max_age
        || current.subjects != subjects
        || current.duplicate_window != DUPLICATE_WINDOW
    {
        tracing::info!(
            stream = stream_name,
            max_age_secs = max_age.as_secs(),
            was_secs = current.max_age.as_secs(),
            "updating the update stream's retention and subjects"
        );
        js.update_stream(stream::Config {
            subjects,
            max_age,
            duplicate_window: DUPLICATE_WINDOW,
            ..current
        })
        .await
        .map_err(|e| cannot(&e))?;
    }
    Ok(stream)
}

/// What one step of the consumer did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    /// Messages taken from the stream.
    pub fetched: usize,
    /// Updates applied.
    pub applied: usize,
    /// Updates acknowledged without effect (stale version, deleted client).
    pub ignored: usize,
    /// Messages handed back for a later retry.
    pub retried: usize,
    /// Messages stored as dead letters.
    pub dead_lettered: usize,
}

/// The update consumer: one `run_once` step, and a loop that schedules it.
pub struct UpdateConsumer {
    consumer: PullConsumer,
    subject: String,
    store: EventStore,
    dead_letters: DeadLetterStore,
    metrics: Metrics,
    retry_budget: Duration,
    batch: usize,
}

impl UpdateConsumer {
    /// Opens (or creates) the durable consumer on the stream.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        stream: &stream::Stream,
        consumer_name: &str,
        subject: String,
        store: EventStore,
        dead_letters: DeadLetterStore,
        metrics: Metrics,
        retry_budget: Duration,
        batch: usize,
    ) -> anyhow::Result<Self> {
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                consumer_name,
                pull::Config {
                    durable_name: Some(consumer_name.to_owned()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    filter_subject: subject.clone(),
                    // Redeliveries are bounded by us (dead letter past the retry budget), so
                    // the server must keep delivering until we decide.
                    max_deliver: -1,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot create or open consumer {consumer_name}: {e}"))?;
        Ok(Self {
            consumer,
            subject,
            store,
            dead_letters,
            metrics,
            retry_budget,
            batch,
        })
    }

    /// Fetches one batch (waiting at most `wait` for the first message) and handles it.
    pub async fn run_once(&self, wait: Duration) -> anyhow::Result<StepOutcome> {
        let mut messages = self
            .consumer
            .fetch()
            .max_messages(self.batch)
            .expires(wait)
            .messages()
            .await
            .map_err(|e| anyhow::anyhow!("cannot fetch updates: {e}"))?;
        let mut batch = Vec::new();
        while let Some(message) = messages.next().await {
            batch.push(message.map_err(|e| anyhow::anyhow!("update delivery failed: {e}"))?);
        }
        if batch.is_empty() {
            // An idle poll: no span, or an idle consumer would open two a second.
            return Ok(StepOutcome::default());
        }
        let outcome = self.handle(&batch).await;
        if let Ok(info) = self.consumer.get_info().await {
            self.metrics.set_consumer_pending(info.num_pending);
        }
        Ok(outcome)
    }

    /// Applies and settles one fetched batch.
    #[tracing::instrument(
        name = "update_batch",
        skip_all,
        fields(
            subject = %self.subject,
            batch = batch.len(),
            applied,
            ignored,
            retried,
            dead_lettered
        )
    )]
    async fn handle(&self, batch: &[jetstream::Message]) -> StepOutcome {
        let mut outcome = StepOutcome {
            fetched: batch.len(),
            ..StepOutcome::default()
        };
        let results = self.apply(batch).await;
        // Acknowledgements go out together: one round trip per batch, not per message.
        let settled =
            futures::future::join_all(batch.iter().zip(results).map(|(m, r)| self.settle(m, r)))
                .await;
        for s in settled {
            match s {
                Settled::Applied => outcome.applied += 1,
                Settled::Ignored => outcome.ignored += 1,
                Settled::Retried => outcome.retried += 1,
                Settled::DeadLettered => outcome.dead_lettered += 1,
            }
        }
        let span = tracing::Span::current();
        span.record("applied", outcome.applied);
        span.record("ignored", outcome.ignored);
        span.record("retried", outcome.retried);
        span.record("dead_lettered", outcome.dead_lettered);
        outcome
    }

    /// Runs steps until `shutdown`; the batch in hand is always finished and acknowledged.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(subject = %self.subject, "update consumer started");
        let mut failures: u32 = 0;
        while !shutdown.is_cancelled() {
            // The step is never cancelled half-way: a fetch ends by itself after `wait`, and
            // every message it delivered is handled and acknowledged before we look at the
            // shutdown signal again (a dropped fetch would leave its messages unacknowledged
            // until ack_wait expires).
            match self.run_once(Duration::from_millis(500)).await {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let delay = backoff(i64::from(failures.min(20)));
                    tracing::warn!(error = %e, ?delay, "update consumer step failed");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
            }
        }
        tracing::info!("update consumer stopped");
        Ok(())
    }

    /// Decodes a batch and applies it set-based; if the batch fails as a whole, applies its
    /// updates one by one so that only the culprit fails. One result per message; the
    /// error text is what a dead letter keeps.
    async fn apply(&self, batch: &[jetstream::Message]) -> Vec<Result<UpdateOutcome, Failure>> {
        let mut results: Vec<Result<UpdateOutcome, Failure>> = Vec::with_capacity(batch.len());
        let mut commands = Vec::new();
        let mut positions = Vec::new();
        for (i, message) in batch.iter().enumerate() {
            match decode(&message.payload) {
                Ok(command) => {
                    commands.push(command);
                    positions.push(i);
                    results.push(Ok(UpdateOutcome::Stale));
                }
                Err(e) => results.push(Err(Failure::Poison(e))),
            }
        }
        let applied = match self.store.apply_updates(&commands).await {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|r| r.map_err(|e| Failure::Transient(e.to_string())))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, updates = commands.len(), "batch update failed; applying one by one");
                let mut one_by_one = Vec::with_capacity(commands.len());
                for command in &commands {
                    one_by_one.push(
                        self.store
                            .apply_update(command)
                            .await
                            .map_err(|e| Failure::Transient(e.to_string())),
                    );
                }
                one_by_one
            }
        };
        for (position, result) in positions.into_iter().zip(applied) {
            if let Some(slot) = results.get_mut(position) {
                *slot = result;
            }
        }
        results
    }

    /// Acknowledges, retries or dead-letters one message according to its result.
    async fn settle(
        &self,
        message: &jetstream::Message,
        result: Result<UpdateOutcome, Failure>,
    ) -> Settled {
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        let settled;
        let ack = match result {
            // An unlinked manual client is logged at WARN where it happens (`bulk.rs`).
            Ok(UpdateOutcome::Applied | UpdateOutcome::Unlinked) => {
                settled = Settled::Applied;
                self.metrics.events_applied("update");
                message.ack().await
            }
            Ok(ignored) => {
                settled = Settled::Ignored;
                self.metrics.events_ignored("update");
                tracing::info!(?ignored, "update acknowledged without effect");
                message.ack().await
            }
            Err(failure) if failure.gives_up(delivered, self.retry_budget) => {
                let error = failure.into_message();
                self.metrics.events_failed("update");
                let attempts = i32::try_from(delivered).unwrap_or(i32::MAX);
                match self
                    .dead_letters
                    .insert(&self.subject, &message.payload, &error, attempts)
                    .await
                {
                    Ok(id) => {
                        settled = Settled::DeadLettered;
                        self.metrics.events_dead_lettered("update");
                        tracing::error!(dead_letter = %id, attempts, %error, "update stored as a dead letter");
                        message.ack().await
                    }
                    Err(e) => {
                        settled = Settled::Retried;
                        tracing::error!(error = %e, "cannot store a dead letter; will retry");
                        message
                            .ack_with(AckKind::Nak(Some(backoff(delivered))))
                            .await
                    }
                }
            }
            Err(failure) => {
                let error = failure.into_message();
                settled = Settled::Retried;
                self.metrics.events_failed("update");
                let delay = backoff(delivered);
                tracing::warn!(%error, delivered, ?delay, "update failed; will retry");
                message.ack_with(AckKind::Nak(Some(delay))).await
            }
        };
        if let Err(e) = ack {
            // The message will be redelivered after ack_wait; applying it again is harmless
            // (its version is no longer newer).
            tracing::warn!(error = %e, "cannot acknowledge an update");
        }
        settled
    }
}

/// Why an update was not applied; the text is what a dead letter keeps.
enum Failure {
    /// The payload cannot be decoded or is invalid: no retry can fix it.
    Poison(String),
    /// Anything else (the database, a client not found): worth retrying for a while.
    Transient(String),
}

impl Failure {
    /// Whether to store it as a dead letter now, at its `delivered`-th delivery: a poison
    /// message at once, another once the next back-off would end past `budget` (counted from
    /// its first delivery by the back-off schedule, the same on every replica).
    fn gives_up(&self, delivered: i64, budget: Duration) -> bool {
        match self {
            Failure::Poison(_) => true,
            Failure::Transient(_) => waited(delivered) > budget,
        }
    }

    fn into_message(self) -> String {
        match self {
            Failure::Poison(m) | Failure::Transient(m) => m,
        }
    }
}

/// What became of one message.
enum Settled {
    Applied,
    Ignored,
    Retried,
    DeadLettered,
}

/// Decodes and validates one update; the error text is what a dead letter keeps.
fn decode(payload: &[u8]) -> Result<UpdateCommand, String> {
    let event =
        ClientUpdated::decode(payload).map_err(|e| format!("malformed ClientUpdated: {e}"))?;
    update_command(event).map_err(|e| format!("invalid ClientUpdated: {e}"))
}

/// Delay before the `attempt`-th retry: 200 ms doubling, at most 60 s.
fn backoff(attempt: i64) -> Duration {
    let exponent = u32::try_from(attempt.clamp(1, 16) - 1).unwrap_or(0);
    Duration::from_millis(200u64.saturating_mul(1u64 << exponent)).min(Duration::from_secs(60))
}

/// The back-off a message has been through once its `delivered`-th delivery is retried:
/// the sum of the waits before each retry, this one's included.
fn waited(delivered: i64) -> Duration {
    (1..=delivered.clamp(1, 100_000)).map(backoff).sum()
}

/// Publishes a dead letter's payload again on its subject and marks it replayed.
pub async fn replay_dead_letter(
    js: &jetstream::Context,
    dead_letters: &DeadLetterStore,
    id: Uuid,
    subject: &str,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    js.publish(subject.to_owned(), payload.into())
        .await
        .map_err(|e| anyhow::anyhow!("cannot publish dead letter {id}: {e}"))?
        .await
        .map_err(|e| anyhow::anyhow!("dead letter {id} not acknowledged by JetStream: {e}"))?;
    dead_letters.mark_replayed(id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_200ms_and_stops_at_60s() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(4), Duration::from_millis(1600));
        assert_eq!(backoff(50), Duration::from_secs(60));
        assert_eq!(backoff(0), Duration::from_millis(200));
    }

    #[test]
    fn a_transient_failure_is_retried_for_its_budget_and_a_poison_one_not_at_all() {
        let transient = Failure::Transient("database down".into());
        let budget = Duration::from_secs(900);
        // 200 ms … 51.2 s (102.2 s in all after nine), then 60 s a time: 23 deliveries.
        let last_retry = (1..100).find(|&d| transient.gives_up(d, budget)).unwrap();
        assert_eq!(last_retry, 23);
        assert!(waited(last_retry - 1) <= budget && waited(last_retry) > budget);
        // A 3 s database hiccup is far inside it.
        assert!(!transient.gives_up(5, budget));
        assert!(Failure::Poison("malformed".into()).gives_up(1, budget));
    }
}
