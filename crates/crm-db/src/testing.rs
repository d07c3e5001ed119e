//! Throw-away databases for integration tests (cargo feature `testing`).
//!
//! [`TestDatabase::new`] gives each test its own freshly migrated database on the server named
//! by `TEST_DATABASE_URL` (default `postgres://localhost/postgres`), and drops it afterwards.
//! It is fast because the migrations run once per kind of database into a template database
//! (`tpl_core_<fingerprint>`, named after the migration files' content, so an edited migration
//! gets a new template), and each test database is a `CREATE DATABASE … TEMPLATE` copy of it.
//! Test processes running at the same time coordinate the template's creation through a
//! PostgreSQL advisory lock.

use diesel::QueryableByName;
use diesel::result::OptionalExtension;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::OnceCell;

use crate::database_url::DatabaseUrl;
use crate::{Database, Error, connect, quote_identifier, run_pending};

/// The variable naming the test server (any database on it; the URL's database is only used
/// for maintenance connections).
pub const TEST_DATABASE_URL_VAR: &str = "TEST_DATABASE_URL";

/// The test server when [`TEST_DATABASE_URL_VAR`] is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://localhost/postgres";

/// A uniquely named database that lives as long as this value: dropped (`WITH (FORCE)`, so
/// open pools do not keep it alive) by [`TestDatabase::cleanup`] or, failing that, on `Drop`.
pub struct TestDatabase {
    db: Database,
    name: String,
    url: String,
    /// The server's maintenance URL, used to drop the database.
    server: DatabaseUrl,
    /// Set once the database is dropped, so that `Drop` does nothing more.
    dropped: bool,
}

impl TestDatabase {
    /// A fresh database with every migration of `db` applied.
    ///
    /// # Panics
    /// When the test server cannot be reached or the database cannot be created: this is a
    /// test helper, and the message says why.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub async fn new(db: Database) -> Self {
        match Self::try_new(db).await {
            Ok(database) => database,
            Err(e) => panic!("cannot create a test database: {e}"),
        }
    }

    /// A fresh database with every migration of `db` applied.
    pub async fn try_new(db: Database) -> Result<Self, Error> {
        let server = server_url()?;
        let template = template(&server, db).await?;
        Self::create(&server, db, Some(&template)).await
    }

    /// A fresh, empty database (no migration applied), e.g. to test migrate-on-start.
    ///
    /// # Panics
    /// When the test server cannot be reached or the database cannot be created.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub async fn empty(db: Database) -> Self {
        match Self::try_empty(db).await {
            Ok(database) => database,
            Err(e) => panic!("cannot create a test database: {e}"),
        }
    }

    /// A fresh, empty database (no migration applied).
    pub async fn try_empty(db: Database) -> Result<Self, Error> {
        Self::create(&server_url()?, db, None).await
    }

    /// The database's URL (with the test server's user, password, host, port and options).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name, e.g. `test_core_0f3c…`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which kind of database this is.
    pub fn database(&self) -> Database {
        self.db
    }

    /// The number a query returns (one `bigint` column named `n`), for assertions.
    #[allow(clippy::panic, reason = "a test helper: failing loudly is its job")]
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let target = match crate::tls::Target::parse(&self.url) {
            Ok(target) => target,
            Err(e) => panic!("{}: {e}", self.name),
        };
        let mut conn = match target.establish().await {
            Ok(conn) => conn,
            Err(e) => panic!("cannot connect to {}: {e}", self.name),
        };
        match diesel::sql_query(sql).get_result::<N>(&mut conn).await {
            Ok(row) => row.n,
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    /// Waits until [`count`](Self::count) of `sql` gives `expected` (what another task or
    /// service writes asynchronously), failing after 20 s with the last value seen.
    #[allow(clippy::panic, reason = "a test helper: failing loudly is its job")]
    pub async fn eventually(&self, sql: &str, expected: i64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let n = self.count(sql).await;
            if n == expected {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("{sql} gave {n}, expected {expected}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Drops the database now, reporting failures (which `Drop` can only log).
    pub async fn cleanup(mut self) -> Result<(), Error> {
        self.dropped = true;
        drop_database(&self.server, &self.name).await
    }

    async fn create(
        server: &DatabaseUrl,
        db: Database,
        template: Option<&str>,
    ) -> Result<Self, Error> {
        let name = format!("test_{}_{}", db.name(), uuid::Uuid::new_v4().simple());
        let mut statement = format!("CREATE DATABASE {}", quote_identifier(&name));
        if let Some(template) = template {
            statement.push_str(" TEMPLATE ");
            statement.push_str(&quote_identifier(template));
        }
        let mut conn = connect(server).await?;
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .map_err(|e| Error::query(server, e))?;
        Ok(Self {
            db,
            url: server.with_database(&name).as_str().to_owned(),
            name,
            server: server.clone(),
            dropped: false,
        })
    }
}

impl std::fmt::Debug for TestDatabase {
    // By hand: the URLs may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("db", &self.db)
            .field("name", &self.name)
            .field("server", &self.server.target())
            .finish_non_exhaustive()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        self.dropped = true;
        // A thread of its own with its own runtime: works whether or not we are inside a
        // runtime, and whatever its flavour. Joining blocks the caller for one statement.
        let server = self.server.clone();
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_database(&server, &name))
                .map_err(|e| e.to_string())
        });
        let outcome = cleanup
            .join()
            .unwrap_or_else(|_| Err("cleanup thread panicked".to_owned()));
        if let Err(reason) = outcome {
            tracing::warn!(database = %self.name, %reason, "cannot drop test database");
        }
    }
}

/// The test server, from [`TEST_DATABASE_URL_VAR`].
fn server_url() -> Result<DatabaseUrl, Error> {
    let raw = std::env::var(TEST_DATABASE_URL_VAR)
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
    DatabaseUrl::parse(&raw)
}

async fn drop_database(server: &DatabaseUrl, name: &str) -> Result<(), Error> {
    let mut conn = connect(server).await?;
    diesel::sql_query(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_identifier(name)
    ))
    .execute(&mut conn)
    .await
    .map_err(|e| Error::query(server, e))?;
    Ok(())
}

/// Template names known to be ready in this process, one cell per kind of database.
static CORE_TEMPLATE: OnceCell<String> = OnceCell::const_new();
static COMMERCIAL_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The name of a migrated template database for `db`, creating it if needed.
async fn template(server: &DatabaseUrl, db: Database) -> Result<String, Error> {
    let cell = match db {
        Database::Core => &CORE_TEMPLATE,
        Database::Commercial => &COMMERCIAL_TEMPLATE,
    };
    cell.get_or_try_init(|| build_template(server, db))
        .await
        .cloned()
}

/// Advisory lock key under which processes build templates (`crm_db` in ASCII).
const TEMPLATE_LOCK_KEY: i64 = 0x63_72_6d_5f_64_62;

#[derive(QueryableByName)]
struct TemplateState {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    datistemplate: bool,
}

async fn build_template(server: &DatabaseUrl, db: Database) -> Result<String, Error> {
    let name = format!("tpl_{}_{}", db.name(), db.migrations_fingerprint());
    let mut conn = connect(server).await?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut conn)
        .await
        .map_err(|e| Error::query(server, e))?;
    let built = build_template_locked(&mut conn, server, db, &name).await;
    // Closing the session would release the lock too; unlock explicitly all the same.
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut conn)
        .await
        .map_err(|e| Error::query(server, e));
    built?;
    unlocked?;
    Ok(name)
}

/// Under the advisory lock: reuse a finished template, or (re)build it. A template is finished
/// once it is marked `IS_TEMPLATE`; one without the mark is left over from a crash.
async fn build_template_locked(
    conn: &mut AsyncPgConnection,
    server: &DatabaseUrl,
    db: Database,
    name: &str,
) -> Result<(), Error> {
    let state = diesel::sql_query("SELECT datistemplate FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<TemplateState>(conn)
        .await
        .optional()
        .map_err(|e| Error::query(server, e))?;
    match state {
        Some(TemplateState {
            datistemplate: true,
        }) => return Ok(()),
        Some(TemplateState {
            datistemplate: false,
        }) => drop_database(server, name).await?,
        None => {}
    }
    let quoted = quote_identifier(name);
    diesel::sql_query(format!("CREATE DATABASE {quoted}"))
        .execute(conn)
        .await
        .map_err(|e| Error::query(server, e))?;
    run_pending(server.with_database(name).as_str(), db).await?;
    diesel::sql_query(format!("ALTER DATABASE {quoted} IS_TEMPLATE true"))
        .execute(conn)
        .await
        .map_err(|e| Error::query(server, e))?;
    tracing::info!(template = %name, "created template database");
    Ok(())
}
