//! The services' pool: statements are counted, and `ping` tells a reachable database from an
//! unreachable one with the error the services' readiness and status mapping rely on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crm_db::Database;
use crm_db::pool::{DbError, build, ping};
use crm_db::testing::TestDatabase;

#[tokio::test]
async fn ping_answers_on_a_live_database_and_counts_its_statement() {
    let db = TestDatabase::empty(Database::Core).await;
    let statements = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&statements);
    let pool = build(
        db.url(),
        1,
        Arc::new(move || {
            counted.fetch_add(1, Ordering::Relaxed);
        }),
    )
    .unwrap();

    ping(&pool).await.unwrap();

    assert_eq!(statements.load(Ordering::Relaxed), 1);
    drop(pool);
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn ping_without_a_server_is_a_pool_error() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let pool = build(
        "postgres://postgres@127.0.0.1:1/crm_core",
        1,
        Arc::new(|| {}),
    )
    .unwrap();

    let result = ping(&pool).await;

    assert!(matches!(result, Err(DbError::Pool(_))), "{result:?}");
}

/// Whether the pool's connection to `url` runs over TLS, as PostgreSQL sees it.
async fn pool_uses_tls(url: &str) -> Result<bool, DbError> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let pool = build(url, 1, Arc::new(|| {})).unwrap();
    let mut conn = pool.get().await?;
    let row: Ssl = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result(&mut conn)
        .await?;
    Ok(row.ssl)
}

/// `url` with `pairs` added to its query.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

#[tokio::test]
async fn sslmode_require_encrypts_and_no_sslmode_stays_plain() {
    // The local server has `ssl = on` (Debian's snakeoil certificate).
    let db = TestDatabase::empty(Database::Core).await;

    assert!(
        pool_uses_tls(&with_query(db.url(), &[("sslmode", "require")]))
            .await
            .unwrap(),
        "sslmode=require must run over TLS"
    );
    assert!(
        !pool_uses_tls(db.url()).await.unwrap(),
        "without sslmode the connection stays as it was: plain"
    );
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn sslrootcert_verifies_the_server_and_refuses_one_it_does_not_vouch_for() {
    use diesel_async::RunQueryDsl;
    let db = TestDatabase::empty(Database::Core).await;
    let dir = std::env::temp_dir().join(format!("crm-db-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();

    // A CA that signed nothing the server shows.
    let stranger = rcgen::generate_simple_self_signed(vec!["stranger".to_owned()]).unwrap();
    let stranger_pem = dir.join("stranger.pem");
    std::fs::write(&stranger_pem, stranger.cert.pem()).unwrap();
    let url = with_query(
        db.url(),
        &[
            ("sslmode", "require"),
            ("sslrootcert", stranger_pem.to_str().unwrap()),
        ],
    );
    let refused = pool_uses_tls(&url).await;
    assert!(
        matches!(&refused, Err(DbError::Pool(e)) if e.to_string().contains("certificate")),
        "{refused:?}"
    );

    // The server's own (self-signed) certificate as the root, reached by the name it bears.
    let mut conn = crate::helpers::connect(db.url()).await;
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ssl_cert_file: String,
    }
    let Setting { ssl_cert_file } = diesel::sql_query("SHOW ssl_cert_file")
        .get_result(&mut conn)
        .await
        .unwrap();
    let mut by_name = url::Url::parse(&with_query(
        db.url(),
        &[("sslmode", "require"), ("sslrootcert", &ssl_cert_file)],
    ))
    .unwrap();
    by_name.set_host(Some("localhost")).unwrap();
    assert!(
        pool_uses_tls(by_name.as_str()).await.unwrap(),
        "verified against {ssl_cert_file}"
    );

    std::fs::remove_dir_all(&dir).unwrap();
    db.cleanup().await.unwrap();
}
