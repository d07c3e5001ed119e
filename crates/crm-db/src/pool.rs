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

use crate::tls::Target;

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

/// Builds a pool of at most `size` connections to `url` (over TLS when its `sslmode` asks,
/// see the `tls` module); `on_statement` is called for every statement any of them runs.
pub fn build(url: &str, size: usize, on_statement: StatementHook) -> Result<DbPool, crate::Error> {
    // TLS as the URL's sslmode says (crate::tls); its root file is read once, here.
    let target = Arc::new(Target::parse(url)?);
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |_url| {
        let hook = Arc::clone(&on_statement);
        let target = Arc::clone(&target);
        async move {
            let mut conn = target.establish_for_diesel().await?;
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

/// How a service opens its database at start-up.
pub struct OpenOptions {
    /// Which of the two databases.
    pub database: crate::Database,
    /// Its URL.
    pub url: String,
    /// Connections in the pool.
    pub size: usize,
    /// Create the database if missing and apply pending migrations first (the services'
    /// `--migrate-on-start`).
    pub migrate: bool,
}

/// Why a service could not open its database; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Creating or migrating failed.
    #[error(transparent)]
    Migrate(#[from] crate::Error),
    /// The database does not answer.
    #[error(
        "cannot reach the crm_{database} database (is PostgreSQL running and migrated? `cargo xtask migrate`): {source}"
    )]
    Unreachable {
        /// Its name.
        database: &'static str,
        /// Why.
        source: DbError,
    },
}

/// Opens a service's pool: migrates first when asked, then checks that a connection can be
/// had and answers, so a service never starts against a database it cannot use.
pub async fn open(options: OpenOptions, on_statement: StatementHook) -> Result<DbPool, OpenError> {
    let OpenOptions {
        database,
        url,
        size,
        migrate,
    } = options;
    if migrate {
        crate::ensure_database(&url).await?;
        crate::run_pending(&url, database).await?;
    }
    let pool = build(&url, size, on_statement)?;
    ping(&pool).await.map_err(|source| OpenError::Unreachable {
        database: database.name(),
        source,
    })?;
    Ok(pool)
}
