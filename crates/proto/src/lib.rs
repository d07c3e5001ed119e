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
