//! The wire contract of the two services, generated from `proto/` at build time: the gRPC
//! services the CRM frontend calls (`clients`, `winleadplus`, `contrats`) and the protobuf
//! messages the services exchange over NATS (`events`). Nothing here is written by hand but
//! the re-exports; every crate reaches `tonic` and `prost` through this one, so all use the
//! same versions.

pub use prost;
pub use tonic;

/// `clients.ClientBaseService` and its messages (served by client-core).
#[allow(unreachable_pub, clippy::all, clippy::pedantic)]
pub mod clients {
    tonic::include_proto!("clients");
}

/// `winleadplus.WinLeadPlusSyncService` and its messages (served by sync-service).
#[allow(unreachable_pub, clippy::all, clippy::pedantic)]
pub mod winleadplus {
    tonic::include_proto!("winleadplus");
}

/// `contrats.ContratService` and its messages (served by sync-service, read-only).
#[allow(unreachable_pub, clippy::all, clippy::pedantic)]
pub mod contrats {
    tonic::include_proto!("contrats");
}

/// NATS payloads between sync-service and client-core.
#[allow(unreachable_pub, clippy::all, clippy::pedantic)]
pub mod events {
    tonic::include_proto!("events");
}

/// Encoded `FileDescriptorSet` of every service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");

#[cfg(test)]
mod wire_contract;

/// NATS subjects and JetStream names both services agree on (ARCHITECTURE.md, "NATS
/// contract"). Part of the contract, like the messages: the one hand-written item of this
/// crate.
pub mod subjects {
    /// Core NATS request/reply: `events.ClientCreateBatch` → `events.ClientCreateBatchReply`.
    pub const CLIENT_CREATE: &str = "client.create.from-winleadplus";
    /// JetStream: `events.ClientUpdated`, deduplicated by `Nats-Msg-Id`.
    pub const CLIENT_UPDATE: &str = "client.update.from-winleadplus";
    /// Queue group of the create responders (one reply per request across replicas).
    pub const CREATE_QUEUE_GROUP: &str = "client-core";
    /// Stream holding `CLIENT_UPDATE` (and nothing else).
    pub const UPDATE_STREAM: &str = "CRM_CLIENTS";
    /// Durable pull consumer of client-core on `UPDATE_STREAM`.
    pub const UPDATE_CONSUMER: &str = "client-core";

    /// A subject under an optional prefix (`""` in production; a unique prefix per test so
    /// that parallel tests on one NATS server do not see each other's messages).
    pub fn prefixed(prefix: &str, subject: &str) -> String {
        if prefix.is_empty() {
            subject.to_owned()
        } else {
            format!("{}.{subject}", prefix.trim_end_matches('.'))
        }
    }
}
