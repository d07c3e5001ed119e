//! Integration tests of crm-db against the PostgreSQL server named by `TEST_DATABASE_URL`
//! (default `postgres://localhost/postgres`): migrations apply, re-apply and revert cleanly,
//! the unique indexes and checks bite, `schema.rs` matches the migrated databases, and
//! `ensure_database` and the error messages behave. Every test works in its own database.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod constraints;
mod ensure;
mod helpers;
mod limits;
mod migrations;
mod pool;
mod schema;
mod search;
mod testing;
