//! Integration tests of sync-service: the real sync-service and client-core, real
//! PostgreSQL and NATS, and the WinLeadPlus simulator. Nothing of ours is mocked.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod archive;
mod boundaries;
mod config;
mod contrats;
mod egress;
mod faults;
mod helpers;
mod hostile;
mod logs;
mod nats_security;
mod nats_server;
mod spans;
mod structure;
mod sync;
mod tenancy;
mod tokens;
mod versions;
