//! Shared helpers: raw connections, SQL one-liners, error classification, throw-away names.

use diesel::QueryableByName;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// The test server's URL (its database is only used for maintenance).
pub(crate) fn server_url() -> url::Url {
    let raw = std::env::var(crm_db::testing::TEST_DATABASE_URL_VAR)
        .unwrap_or_else(|_| crm_db::testing::DEFAULT_TEST_DATABASE_URL.to_owned());
    url::Url::parse(&raw).unwrap()
}

/// The test server's URL naming database `name`.
pub(crate) fn url_of(name: &str) -> String {
    let mut url = server_url();
    url.path_segments_mut().unwrap().clear().push(name);
    url.to_string()
}

pub(crate) async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.unwrap()
}

pub(crate) async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> Result<usize, DieselError> {
    diesel::sql_query(sql).execute(conn).await
}

/// Runs `sql`, expecting it to fail on constraint `constraint` with error kind `kind`.
#[track_caller]
pub(crate) fn assert_violates(result: Result<usize, DieselError>, kind: &str, constraint: &str) {
    match result {
        Err(DieselError::DatabaseError(actual, info)) => {
            let actual = match actual {
                DatabaseErrorKind::UniqueViolation => "unique",
                DatabaseErrorKind::CheckViolation => "check",
                DatabaseErrorKind::ForeignKeyViolation => "foreign key",
                DatabaseErrorKind::NotNullViolation => "not null",
                _ => "other",
            };
            assert_eq!(actual, kind, "{}", info.message());
            assert_eq!(
                info.constraint_name(),
                Some(constraint),
                "{}",
                info.message()
            );
        }
        other => panic!("expected a {kind} violation of {constraint}, got {other:?}"),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// `SELECT count(*) …` as a number.
pub(crate) async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .count
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// A one-text-column query (aliased `name`) as a list.
pub(crate) async fn names(conn: &mut AsyncPgConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Name>(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}

/// Whether database `name` exists on the test server.
pub(crate) async fn database_exists(name: &str) -> bool {
    let mut conn = connect(server_url().as_str()).await;
    let quoted = name.replace('\'', "''");
    count(
        &mut conn,
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{quoted}'"),
    )
    .await
        == 1
}

/// Drops database `name` when it goes out of scope (for databases a test creates itself).
pub(crate) struct DropOnExit(pub(crate) String);

impl Drop for DropOnExit {
    fn drop(&mut self) {
        let name = self.0.replace('"', "\"\"");
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut conn = connect(server_url().as_str()).await;
                    exec(
                        &mut conn,
                        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                    )
                    .await
                    .unwrap();
                });
        })
        .join()
        .unwrap();
    }
}
