//! `client.create.from-winleadplus`: answers each batch of creations with one result per
//! item. Up to `CORE_CREATE_CONCURRENCY` requests are served at once per replica (the queue
//! group spreads them over replicas), so a batch does not wait behind others until its
//! sender gives up; on shutdown the subscription is drained and every request taken is
//! answered before the responder returns.
//! Each batch is served under a `create_batch` span (`subject`, `batch`, then the outcome
//! counts `created`, `existing`, `failed`).

use std::sync::Arc;

use async_nats::Client;
use futures::StreamExt;
use proto::events::{
    ClientCreateBatch, ClientCreateBatchReply, ClientCreateResult, client_create_result,
};
use proto::prost::Message;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::convert::create_command;
use crate::db::EventStore;
use crate::metrics::Metrics;

/// The create responder: subscribed at construction (so requests sent once the service is
/// built are served), serving from [`CreateResponder::run`].
pub struct CreateResponder {
    client: Client,
    subject: String,
    subscriber: async_nats::Subscriber,
    store: EventStore,
    metrics: Metrics,
    concurrency: usize,
}

impl CreateResponder {
    /// Subscribes in the `client-core` queue group and makes sure the server knows it; it
    /// will serve up to `concurrency` requests at once.
    pub async fn subscribe(
        client: Client,
        subject: String,
        store: EventStore,
        metrics: Metrics,
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        let subscriber = client
            .queue_subscribe(
                subject.clone(),
                proto::subjects::CREATE_QUEUE_GROUP.to_owned(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {subject}: {e}"))?;
        round_trip(&client, &subject)
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {subject}: {e}"))?;
        Ok(Self {
            client,
            subject,
            subscriber,
            store,
            metrics,
            concurrency: concurrency.max(1),
        })
    }

    /// Serves create requests until `shutdown`; returns when the subscription is drained.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            client,
            subject,
            mut subscriber,
            store,
            metrics,
            concurrency,
        } = self;
        tracing::info!(%subject, concurrency, "create responder listening");
        let slots = Arc::new(Semaphore::new(concurrency));
        let mut serving = JoinSet::new();
        let mut draining = false;
        loop {
            // A request is taken only when a slot is free. Core NATS has already pushed the
            // others to this subscriber (they wait in the client's buffer, not for another
            // replica): sync-service's SYNC_CREATE_TIMEOUT_SECS must cover a batch waiting
            // behind CORE_CREATE_CONCURRENCY others.
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            // Reap what finished, so the set holds only requests in hand.
            while serving.try_join_next().is_some() {}
            let message = tokio::select! {
                m = subscriber.next() => m,
                () = shutdown.cancelled(), if !draining => {
                    // Stop taking new requests; the ones already received are still answered.
                    if let Err(e) = subscriber.unsubscribe().await {
                        tracing::warn!(error = %e, "cannot unsubscribe the create responder");
                    }
                    draining = true;
                    continue;
                }
            };
            let Some(message) = message else { break };
            let (client, store, metrics, subject) = (
                client.clone(),
                store.clone(),
                metrics.clone(),
                subject.clone(),
            );
            serving.spawn(async move {
                let reply = handle(&store, &metrics, &subject, &message.payload).await;
                match message.reply {
                    Some(reply_to) => {
                        if let Err(e) = client.publish(reply_to, reply.encode_to_vec().into()).await
                        {
                            tracing::error!(error = %e, "cannot send a create reply");
                        }
                    }
                    None => tracing::warn!("create request without a reply subject ignored"),
                }
                drop(slot);
            });
        }
        // Every request taken is answered before the replies are flushed.
        while let Some(served) = serving.join_next().await {
            if let Err(e) = served {
                tracing::error!(error = %e, "a create request's task failed");
            }
        }
        if let Err(e) = client.flush().await {
            tracing::warn!(error = %e, "cannot flush create replies");
        }
        tracing::info!("create responder stopped");
        Ok(())
    }
}

/// Returns once the server has processed everything this client sent before (NATS handles
/// one connection's operations in order, so a message to ourselves coming back proves our
/// subscriptions are in place). `flush` alone only empties the write buffer.
async fn round_trip(client: &Client, subject: &str) -> anyhow::Result<()> {
    // Beside the create subject, not in `_INBOX`: client-core's NATS user may publish there
    // (deploy/nats-server.conf), while other connections' inboxes stay out of its reach.
    let probe_subject = format!("{subject}.probe.{}", uuid::Uuid::new_v4().simple());
    let mut probe = client.subscribe(probe_subject.clone()).await?;
    client
        .publish(probe_subject, Vec::<u8>::new().into())
        .await?;
    tokio::time::timeout(std::time::Duration::from_secs(10), probe.next())
        .await
        .map_err(|_| anyhow::anyhow!("NATS did not answer within 10 s"))?;
    Ok(())
}

/// Decodes, applies and answers one batch. Never fails as a whole for one item's sake.
#[tracing::instrument(
    name = "create_batch",
    skip_all,
    fields(subject = %subject, batch, created, existing, failed)
)]
pub(crate) async fn handle(
    store: &EventStore,
    metrics: &Metrics,
    subject: &str,
    payload: &[u8],
) -> ClientCreateBatchReply {
    let reply = answer(store, metrics, payload).await;
    record_outcome(&tracing::Span::current(), &reply);
    reply
}

/// What [`handle`] answers.
async fn answer(store: &EventStore, metrics: &Metrics, payload: &[u8]) -> ClientCreateBatchReply {
    let batch = match ClientCreateBatch::decode(payload) {
        Ok(batch) => batch,
        Err(e) => {
            metrics.events_failed("create");
            return ClientCreateBatchReply {
                results: Vec::new(),
                error: Some(format!("malformed ClientCreateBatch: {e}")),
            };
        }
    };
    tracing::Span::current().record("batch", batch.items.len());
    let mut results: Vec<Option<ClientCreateResult>> = Vec::with_capacity(batch.items.len());
    let mut commands = Vec::with_capacity(batch.items.len());
    let mut positions = Vec::with_capacity(batch.items.len());
    for (i, item) in batch.items.into_iter().enumerate() {
        let external_id = item.external_id.clone();
        match create_command(item) {
            Ok(command) => {
                commands.push(command);
                positions.push(i);
                results.push(None);
            }
            Err(e) => {
                metrics.events_failed("create");
                results.push(Some(error_result(external_id, e.to_string())));
            }
        }
    }
    match store.create_batch(&commands).await {
        Ok(outcomes) => {
            for ((position, command), outcome) in positions.iter().zip(&commands).zip(outcomes) {
                let result = match outcome {
                    Ok(o) => {
                        metrics.events_applied("create");
                        ClientCreateResult {
                            external_id: command.reference.external_id.clone(),
                            outcome: Some(client_create_result::Outcome::ClientId(
                                o.client_id.to_string(),
                            )),
                            created: o.created,
                        }
                    }
                    Err(e) => {
                        metrics.events_failed("create");
                        error_result(command.reference.external_id.clone(), e)
                    }
                };
                if let Some(slot) = results.get_mut(*position) {
                    *slot = Some(result);
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "create batch failed");
            for (position, command) in positions.iter().zip(&commands) {
                metrics.events_failed("create");
                if let Some(slot) = results.get_mut(*position) {
                    *slot = Some(error_result(
                        command.reference.external_id.clone(),
                        "temporary failure of client-core's database; send again".to_owned(),
                    ));
                }
            }
        }
    }
    ClientCreateBatchReply {
        results: results.into_iter().flatten().collect(),
        error: None,
    }
}

/// Counts the reply's outcomes onto the batch's span.
fn record_outcome(span: &tracing::Span, reply: &ClientCreateBatchReply) {
    let (mut created, mut existing, mut failed) = (0usize, 0usize, 0usize);
    for result in &reply.results {
        match result.outcome {
            Some(client_create_result::Outcome::ClientId(_)) if result.created => created += 1,
            Some(client_create_result::Outcome::ClientId(_)) => existing += 1,
            Some(client_create_result::Outcome::Error(_)) | None => failed += 1,
        }
    }
    span.record("created", created);
    span.record("existing", existing);
    span.record("failed", failed);
}

fn error_result(external_id: String, error: String) -> ClientCreateResult {
    ClientCreateResult {
        external_id,
        outcome: Some(client_create_result::Outcome::Error(error)),
        created: false,
    }
}
