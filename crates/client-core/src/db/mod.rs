//! The crm_core database: the connection pool, the row types and every query client-core
//! runs. Only this module knows diesel; diesel's "not found" becomes the domain's here.

mod bulk;
mod clients;
mod dead_letters;
mod events;
pub mod models;

pub use clients::{ClientStore, ClientWithAddresses};
pub use dead_letters::{DeadLetter, DeadLetterStore};
pub use events::{CreateOutcome, EventStore, UpdateOutcome};

// The pool, its error and the readiness ping are crm-db's, shared with the other service;
// `crate::db::DbError` and friends keep naming them here.
pub use crm_db::pool::{DbError, DbPool, build as pool, ping};

/// The `/readyz` check `postgresql`: a connection can be had and answers.
pub fn readiness(pool: DbPool) -> service_kit::ops::Check {
    service_kit::ops::Check::new("postgresql", pool, |pool| async move { ping(&pool).await })
}
