//! The crm_core database: the connection pool, the row types and every query client-core
//! runs. Only this module knows diesel; diesel's "not found" becomes the domain's here.

mod bulk;
mod clients;
mod dead_letters;
mod events;
pub mod models;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Pool, PoolError};

pub use clients::{ClientStore, ClientWithAddresses};
pub use dead_letters::{DeadLetter, DeadLetterStore};
pub use events::{CreateOutcome, EventStore, UpdateOutcome};

/// The pool of crm_core connections, shared by every handler (cheap to clone).
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
