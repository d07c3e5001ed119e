//! The crm_commercial database: pool, row types and every query sync-service runs. Only
//! this module knows diesel. Batch writes are set-based (`UNNEST` arrays): the number of
//! statements grows with the number of batches, never with the number of prospects.

pub mod batches;
pub mod configs;
pub mod contrats;
pub mod logs;
pub mod mappings;
pub mod models;

// The pool, its error and the readiness ping are crm-db's, shared with the other service;
// `crate::db::DbError` and friends keep naming them here.
pub use crm_db::pool::{DbError, DbPool, build as pool, ping};

/// The `/readyz` check `postgresql`: a connection can be had and answers.
pub fn readiness(pool: DbPool) -> service_kit::ops::Check {
    service_kit::ops::Check::new("postgresql", pool, |pool| async move { ping(&pool).await })
}
