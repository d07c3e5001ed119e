//! The crm_commercial database: pool, row types and every query sync-service runs. Only
//! this module knows diesel. Batch writes are set-based (`UNNEST` arrays): the number of
//! statements grows with the number of batches, never with the number of prospects.

pub mod batches;
pub mod configs;
pub mod contrats;
pub mod logs;
pub mod mappings;
pub mod models;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Pool, PoolError};

/// The pool of crm_commercial connections (cheap to clone).
pub type DbPool = Pool<AsyncPgConnection>;

/// A failure of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool (PostgreSQL down, pool exhausted).
    #[error("no database connection: {0}")]
    Pool(#[from] PoolError),
    /// A statement failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Builds the pool (connections are opened lazily, on first use); `on_statement` is called
/// for every statement sent (the `*_db_statements_total` metric).
pub fn pool(
    database_url: &str,
    size: usize,
    on_statement: crm_db::pool::StatementHook,
) -> anyhow::Result<DbPool> {
    crm_db::pool::build(database_url, size, on_statement).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Checks that a connection can be had and answers (for `/readyz`).
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    use diesel_async::RunQueryDsl;
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}
