//! The connection pool both services use: diesel-async over deadpool, connections opened
//! lazily, recycled without a test query (a broken connection shows on its next statement,
//! which the callers' error paths handle), and every statement counted for the services'
//! `*_db_statements_total` metric. Also the one error type of the services' database layers
//! and the ping of their readiness checks.

use std::sync::Arc;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::deadpool::{Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::FutureExt;

/// A pool of PostgreSQL connections, shared by every handler (cheap to clone).
pub type DbPool = Pool<AsyncPgConnection>;

/// A failure of a service's database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool (PostgreSQL down, pool exhausted).
    #[error("no database connection: {0}")]
    Pool(#[from] PoolError),
    /// A statement failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Called once per statement sent to PostgreSQL.
pub type StatementHook = Arc<dyn Fn() + Send + Sync>;

/// Builds a pool of at most `size` connections to `url`; `on_statement` is called for every
/// statement any of them runs.
pub fn build(url: &str, size: usize, on_statement: StatementHook) -> Result<DbPool, crate::Error> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let hook = Arc::clone(&on_statement);
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.set_instrumentation(Counter(hook));
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| crate::Error::InvalidUrl {
            reason: format!("cannot build the pool: {e}"),
        })
}

/// Checks that a connection can be had and answers (the services' `/readyz`).
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

struct Counter(StatementHook);

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            (self.0)();
        }
    }
}
