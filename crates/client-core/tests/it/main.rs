//! Integration tests of client-core: the real service on port 0, a fresh PostgreSQL
//! database and its own NATS subjects and stream per test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod boundaries;
mod crm_fields;
mod events;
mod grpc;
mod helpers;
mod linking;
mod ops;
mod retention;
mod tenancy;
