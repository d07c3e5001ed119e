//! sync-service: imports each organisation's WinLeadPlus prospects into the CRM. Owns
//! `crm_commercial` (configs, mappings, sync logs, imported contracts), asks client-core to
//! create clients (NATS request/reply) and sends it updates (JetStream). Serves
//! `winleadplus.WinLeadPlusSyncService` and `contrats.ContratService` over gRPC.

pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod grpc;
pub mod keys;
pub mod metrics;
pub mod nats;
pub mod rotate;
pub mod scheduler;
pub mod startup;
pub mod winleadplus;

pub use config::Config;
pub use startup::App;
