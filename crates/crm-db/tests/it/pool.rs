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
