//! client-core: the CRM's clients. Serves `clients.ClientBaseService` over gRPC, creates
//! clients on request of sync-service (`client.create.from-winleadplus`, request/reply) and
//! applies their updates (`client.update.from-winleadplus`, JetStream). It is the only
//! writer of `crm_core`.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod metrics;
pub mod nats;
pub mod retention;
pub mod startup;

pub use config::Config;
pub use startup::App;
