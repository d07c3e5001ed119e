//! The CRM's two PostgreSQL databases, `crm_core` (clients, owned by client-core) and
//! `crm_commercial` (WinLeadPlus sync state and contracts, owned by sync-service): the one place
//! where their diesel migrations are embedded and run, and where their `schema.rs` live.
//! `cargo xtask migrate`, the services' migrate-on-start and every test call the functions here.
//!
//! Migrations run through diesel-async's `AsyncMigrationHarness` (no libpq) on a blocking
//! thread, so these functions work on both the multi-threaded and the current-thread runtime.

pub mod commercial;
pub mod core;
mod database_url;
mod error;
pub mod pool;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;

use diesel::QueryableByName;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use crate::database_url::DatabaseUrl;
pub use crate::error::Error;
use crate::tls::{EstablishError, Target};

/// Which of the CRM's databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Database {
    /// `crm_core`: clients and their addresses (client-core).
    Core,
    /// `crm_commercial`: WinLeadPlus configs, mappings, sync logs and contracts (sync-service).
    Commercial,
}

impl Database {
    /// Both databases, core first.
    pub const ALL: [Database; 2] = [Database::Core, Database::Commercial];

    /// The embedded migrations of this database.
    pub fn migrations(self) -> EmbeddedMigrations {
        match self {
            Database::Core => core::MIGRATIONS,
            Database::Commercial => commercial::MIGRATIONS,
        }
    }

    /// The URL used when the environment variable is not set.
    pub fn default_url(self) -> &'static str {
        match self {
            Database::Core => "postgres://localhost/crm_core",
            Database::Commercial => "postgres://localhost/crm_commercial",
        }
    }

    /// The environment variable that holds this database's URL.
    pub fn env_var(self) -> &'static str {
        match self {
            Database::Core => "CORE_DATABASE_URL",
            Database::Commercial => "COMMERCIAL_DATABASE_URL",
        }
    }

    /// Short lower-case name (`core`, `commercial`), for logs and generated database names.
    pub fn name(self) -> &'static str {
        match self {
            Database::Core => "core",
            Database::Commercial => "commercial",
        }
    }

    /// A fingerprint of the migration files (names and content) embedded in this build.
    pub fn migrations_fingerprint(self) -> &'static str {
        match self {
            Database::Core => env!("CRM_DB_CORE_MIGRATIONS_HASH"),
            Database::Commercial => env!("CRM_DB_COMMERCIAL_MIGRATIONS_HASH"),
        }
    }

    /// The names of all embedded migrations, oldest first (e.g. `2025-11-25-100100_create_clientbases`).
    pub fn migration_names(self) -> Result<Vec<String>, Error> {
        let migrations = MigrationSource::<Pg>::migrations(&self.migrations())
            .map_err(|e| Error::migration(self.name(), e.as_ref()))?;
        let mut names: Vec<String> = migrations.iter().map(|m| m.name().to_string()).collect();
        names.sort();
        Ok(names)
    }
}

/// Creates the database named by `url` if it does not exist yet; returns whether it created it.
///
/// Connects to the `postgres` maintenance database of the same server (same user, password,
/// host, port and query parameters).
#[tracing::instrument(skip_all)]
pub async fn ensure_database(url: &str) -> Result<bool, Error> {
    let url = DatabaseUrl::parse(url)?;
    let name = url.database().ok_or_else(|| Error::InvalidUrl {
        reason: "it names no database".to_owned(),
    })?;
    let maintenance = url.with_database("postgres");
    let mut conn = connect(&maintenance).await?;
    if database_exists(&mut conn, &maintenance, &name).await? {
        return Ok(false);
    }
    let create = format!("CREATE DATABASE {}", quote_identifier(&name));
    match diesel::sql_query(create).execute(&mut conn).await {
        Ok(_) => {
            tracing::info!(target_db = %url.target(), "created database");
            Ok(true)
        }
        // Someone else created it between our check and our CREATE: that is fine.
        Err(_) if database_exists(&mut conn, &maintenance, &name).await? => Ok(false),
        Err(e) => Err(Error::query(&maintenance, e)),
    }
}

/// Applies the pending migrations of `db` to the database at `url`; returns the names of the
/// migrations applied, oldest first (empty when the database was up to date). Each migration
/// runs in its own transaction: on failure, those before it stay applied.
#[tracing::instrument(skip_all, fields(database = db.name()))]
pub async fn run_pending(url: &str, db: Database) -> Result<Vec<String>, Error> {
    let names = migrate(url, db, Step::ApplyPending).await?;
    tracing::info!(applied = names.len(), "migrations applied");
    Ok(names)
}

/// Reverts every applied migration of `db` at `url`, newest first; returns their names in the
/// order they were reverted. Meant for tests and local resets.
#[tracing::instrument(skip_all, fields(database = db.name()))]
pub async fn revert_all(url: &str, db: Database) -> Result<Vec<String>, Error> {
    let names = migrate(url, db, Step::RevertAll).await?;
    tracing::info!(reverted = names.len(), "migrations reverted");
    Ok(names)
}

#[derive(Debug, Clone, Copy)]
enum Step {
    ApplyPending,
    RevertAll,
}

/// Runs `step` through diesel-async's migration harness on a blocking thread: the harness
/// blocks in place, which a current-thread runtime would refuse on one of its own threads.
async fn migrate(url: &str, db: Database, step: Step) -> Result<Vec<String>, Error> {
    let url = DatabaseUrl::parse(url)?;
    let conn = connect(&url).await?;
    let migration_error = |reason: String| Error::Migration {
        target: url.target(),
        reason,
    };
    let versions = tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        let done = match step {
            Step::ApplyPending => harness.run_pending_migrations(db.migrations()),
            Step::RevertAll => harness.revert_all_migrations(db.migrations()),
        };
        done.map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| error::chain(&*e))
    })
    .await
    .map_err(|e| migration_error(format!("migration task failed: {e}")))?
    .map_err(migration_error)?;
    names_of_versions(db, &versions)
}

/// Maps migration versions (as the harness reports them) back to full migration names.
fn names_of_versions(db: Database, versions: &[String]) -> Result<Vec<String>, Error> {
    let migrations = MigrationSource::<Pg>::migrations(&db.migrations())
        .map_err(|e| Error::migration(db.name(), e.as_ref()))?;
    Ok(versions
        .iter()
        .map(|version| {
            migrations
                .iter()
                .find(|m| m.name().version().to_string() == *version)
                .map_or_else(|| version.clone(), |m| m.name().to_string())
        })
        .collect())
}

/// How long to wait for PostgreSQL to accept a connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens one connection, turning every failure into [`Error::Connect`].
///
/// Connects through tokio-postgres directly (rather than `AsyncConnection::establish`) to keep
/// the cause of a failure, e.g. "Connection refused", which diesel's error drops; over TLS
/// when the URL's `sslmode` asks (see [`tls`]).
async fn connect(url: &DatabaseUrl) -> Result<AsyncPgConnection, Error> {
    let connect_error = |reason: String| Error::Connect {
        target: url.target(),
        reason,
    };
    let target = Target::parse(url.as_str())?;
    match tokio::time::timeout(CONNECT_TIMEOUT, target.establish()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(EstablishError::Connect(e))) => Err(connect_error(error::chain(&e))),
        Ok(Err(EstablishError::Setup(e))) => Err(connect_error(error::one_line(&e))),
        Err(_) => Err(connect_error(format!(
            "timed out after {}s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

async fn database_exists(
    conn: &mut AsyncPgConnection,
    url: &DatabaseUrl,
    name: &str,
) -> Result<bool, Error> {
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Exists>(conn)
        .await
        .map(|row| row.exists)
        .map_err(|e| Error::query(url, e))
}

/// Quotes an SQL identifier (`a"b` → `"a""b"`), for statements that take no bind parameters.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_inner_quotes_doubled() {
        assert_eq!(quote_identifier("crm_core"), "\"crm_core\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn both_databases_have_migrations_with_distinct_fingerprints() {
        for db in Database::ALL {
            assert!(!db.migration_names().unwrap().is_empty());
        }
        assert_ne!(
            Database::Core.migrations_fingerprint(),
            Database::Commercial.migrations_fingerprint()
        );
    }
}
