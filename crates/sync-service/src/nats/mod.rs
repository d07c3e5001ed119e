//! sync-service's NATS side: the connection and its readiness check, create batches by
//! request/reply to client-core, updates on JetStream with pipelined PubAcks. Only this
//! module knows async-nats. Each create request and each batch of update publications has
//! its span (`subject`, `batch`), nested in the sync's.

use std::time::Duration;

use async_nats::jetstream;
use futures::future::join_all;
use proto::events::{
    ClientCreate, ClientCreateBatch, ClientCreateBatchReply, ClientCreateResult, ClientUpdated,
};
use proto::prost::Message;

pub use service_kit::nats::{Connection, connect, readiness};

/// Why events could not be delivered as a whole (per-item failures are results, not this).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Nobody listens on the create subject.
    #[error("client-core is not answering on {subject} (no responders): is it running?")]
    NoResponders {
        /// The subject.
        subject: String,
    },
    /// No answer in time.
    #[error("client-core did not answer a create batch within {secs} s")]
    Timeout {
        /// The time-out.
        secs: u64,
    },
    /// Anything else on the way.
    #[error("create batch request failed: {0}")]
    Request(String),
    /// The reply is not what was asked for.
    #[error("client-core's reply is unusable: {0}")]
    BadReply(String),
}

/// Why one update was not delivered (the others of its batch may have been). Its message
/// goes to the sync log against the prospect.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The message could not be sent to JetStream.
    #[error("update not published: {0}")]
    NotPublished(String),
    /// JetStream did not confirm it (no stream, time-out, …).
    #[error("update not confirmed by JetStream: {0}")]
    NotConfirmed(String),
}

/// Publishes client events (cheap to clone).
#[derive(Clone)]
pub struct ClientEvents {
    client: async_nats::Client,
    js: jetstream::Context,
    create_subject: String,
    update_subject: String,
    create_timeout: Duration,
}

/// Largest create request payload (NATS' default max_payload is 1 MiB).
const MAX_REQUEST_BYTES: usize = 900 * 1024;

impl ClientEvents {
    /// Publishes on these subjects.
    pub fn new(
        client: async_nats::Client,
        create_subject: String,
        update_subject: String,
        create_timeout: Duration,
    ) -> Self {
        let js = jetstream::new(client.clone());
        Self {
            client,
            js,
            create_subject,
            update_subject,
            create_timeout,
        }
    }

    /// Asks client-core to create (or find) the clients of `items`; one result per item, in
    /// order. Large batches are split so that each request fits NATS' payload limit.
    pub async fn create(
        &self,
        items: Vec<ClientCreate>,
    ) -> Result<Vec<ClientCreateResult>, EventError> {
        let limit = self
            .client
            .server_info()
            .max_payload
            .clamp(64 * 1024, MAX_REQUEST_BYTES * 2)
            * 9
            / 10;
        let mut results = Vec::with_capacity(items.len());
        let mut chunk: Vec<ClientCreate> = Vec::new();
        let mut size = 0;
        for item in items {
            let len = item.encoded_len() + 8;
            if !chunk.is_empty() && size + len > limit {
                results.extend(self.request(std::mem::take(&mut chunk)).await?);
                size = 0;
            }
            size += len;
            chunk.push(item);
        }
        if !chunk.is_empty() {
            results.extend(self.request(chunk).await?);
        }
        Ok(results)
    }

    #[tracing::instrument(
        name = "create_batch",
        skip_all,
        fields(subject = %self.create_subject, batch = items.len(), bytes)
    )]
    async fn request(
        &self,
        items: Vec<ClientCreate>,
    ) -> Result<Vec<ClientCreateResult>, EventError> {
        let expected = items.len();
        let payload = ClientCreateBatch { items }.encode_to_vec();
        tracing::Span::current().record("bytes", payload.len());
        let request = self
            .client
            .request(self.create_subject.clone(), payload.into());
        let reply = match tokio::time::timeout(self.create_timeout, request).await {
            Err(_) => {
                return Err(EventError::Timeout {
                    secs: self.create_timeout.as_secs(),
                });
            }
            Ok(Err(e)) => {
                return Err(match e.kind() {
                    async_nats::RequestErrorKind::NoResponders => EventError::NoResponders {
                        subject: self.create_subject.clone(),
                    },
                    async_nats::RequestErrorKind::TimedOut => EventError::Timeout {
                        secs: self.create_timeout.as_secs(),
                    },
                    _ => EventError::Request(e.to_string()),
                });
            }
            Ok(Ok(reply)) => reply,
        };
        let reply = ClientCreateBatchReply::decode(reply.payload)
            .map_err(|e| EventError::BadReply(e.to_string()))?;
        if let Some(error) = reply.error {
            return Err(EventError::BadReply(error));
        }
        if reply.results.len() != expected {
            return Err(EventError::BadReply(format!(
                "{} results for {expected} items",
                reply.results.len()
            )));
        }
        Ok(reply.results)
    }

    /// Publishes updates to JetStream, all at once, then awaits every PubAck. Each message
    /// carries `Nats-Msg-Id` for dedupe. One result per update, in order. A PubAck marked
    /// `duplicate` counts as stored: the id names this publication's own version, so only a
    /// copy of this very message can have been stored under it.
    #[tracing::instrument(
        name = "publish_updates",
        skip_all,
        fields(subject = %self.update_subject, batch = updates.len(), failed)
    )]
    pub async fn publish_updates(
        &self,
        updates: Vec<(String, ClientUpdated)>,
    ) -> Vec<Result<(), UpdateError>> {
        let mut pending = Vec::with_capacity(updates.len());
        for (msg_id, event) in updates {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", msg_id.as_str());
            let sent = self
                .js
                .publish_with_headers(
                    self.update_subject.clone(),
                    headers,
                    event.encode_to_vec().into(),
                )
                .await;
            pending.push(sent);
        }
        let acks = join_all(pending.into_iter().map(|sent| async move {
            match sent {
                Ok(ack) => ack
                    .await
                    .map(|_| ())
                    .map_err(|e| UpdateError::NotConfirmed(e.to_string())),
                Err(e) => Err(UpdateError::NotPublished(e.to_string())),
            }
        }))
        .await;
        let failed = acks.iter().filter(|a| a.is_err()).count();
        tracing::Span::current().record("failed", failed);
        acks
    }
}
