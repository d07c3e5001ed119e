//! `TestDatabase`: fresh, migrated, uniquely named databases that are dropped afterwards.

use crm_db::Database;
use crm_db::testing::TestDatabase;

use crate::helpers::{connect, count, database_exists};

#[tokio::test]
async fn test_databases_are_migrated_distinct_and_dropped_by_cleanup() {
    let (a, b) = tokio::join!(
        TestDatabase::new(Database::Core),
        TestDatabase::new(Database::Core)
    );
    assert_ne!(a.name(), b.name());
    assert!(a.name().starts_with("test_core_"));
    let migrations = Database::Core.migration_names().unwrap().len() as i64;
    for database in [&a, &b] {
        let mut conn = connect(database.url()).await;
        let applied = count(&mut conn, "SELECT count(*) FROM __diesel_schema_migrations").await;
        assert_eq!(applied, migrations);
    }

    let (a_name, b_name) = (a.name().to_owned(), b.name().to_owned());
    a.cleanup().await.unwrap();
    assert!(!database_exists(&a_name).await);
    assert!(database_exists(&b_name).await);
    b.cleanup().await.unwrap();
    assert!(!database_exists(&b_name).await);
}

#[tokio::test]
async fn dropping_a_test_database_removes_it_even_with_open_connections() {
    let database = TestDatabase::new(Database::Commercial).await;
    let name = database.name().to_owned();
    let conn = connect(database.url()).await;
    drop(database);
    assert!(!database_exists(&name).await);
    drop(conn);
}

#[test]
fn dropping_a_test_database_outside_any_runtime_removes_it() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let database = runtime.block_on(TestDatabase::new(Database::Core));
    let name = database.name().to_owned();
    drop(database);
    assert!(!runtime.block_on(database_exists(&name)));
}

#[tokio::test]
async fn debug_output_shows_no_url() {
    let database = TestDatabase::empty(Database::Core).await;
    let debug = format!("{database:?}");
    assert!(debug.contains(database.name()), "{debug}");
    assert!(!debug.contains("postgres://"), "{debug}");
    database.cleanup().await.unwrap();
}
