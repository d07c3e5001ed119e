//! Every migration applies, a second run applies nothing, every `down.sql` really reverts its
//! `up.sql` (the catalog is back to what it was), and applying again gives the same schema.

use crm_db::testing::TestDatabase;
use crm_db::{Database, revert_all, run_pending};
use diesel_async::AsyncPgConnection;

use crate::helpers::{connect, exec, names};

/// What the migrations can create in a database: relations (tables, indexes, sequences) and
/// types and functions of `public`, and extensions. Leaves diesel's own bookkeeping out.
async fn catalog(conn: &mut AsyncPgConnection) -> Vec<String> {
    names(
        conn,
        "SELECT 'relation ' || c.relkind::text || ' ' || c.relname AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relname NOT LIKE '%diesel_schema_migrations%'
         UNION ALL
         SELECT 'type ' || t.typname
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = 'public' AND t.typname NOT LIKE '%diesel_schema_migrations%'
         UNION ALL
         SELECT 'function ' || p.oid::regprocedure::text
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'public'
         UNION ALL
         SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname
           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE n.nspname = 'public' AND conname NOT LIKE '%diesel_schema_migrations%'
         UNION ALL
         SELECT 'extension ' || extname FROM pg_extension
         ORDER BY 1",
    )
    .await
}

async fn apply_reapply_revert_and_apply_again(db: Database) {
    let database = TestDatabase::empty(db).await;
    let url = database.url();
    let mut conn = connect(url).await;
    let pristine = catalog(&mut conn).await;
    let all = db.migration_names().unwrap();

    assert_eq!(run_pending(url, db).await.unwrap(), all);
    let migrated = catalog(&mut conn).await;
    assert_ne!(migrated, pristine);

    assert_eq!(run_pending(url, db).await.unwrap(), Vec::<String>::new());

    let mut newest_first = all.clone();
    newest_first.reverse();
    assert_eq!(revert_all(url, db).await.unwrap(), newest_first);
    assert_eq!(
        catalog(&mut conn).await,
        pristine,
        "down.sql left something behind"
    );

    assert_eq!(run_pending(url, db).await.unwrap(), all);
    assert_eq!(catalog(&mut conn).await, migrated);

    // A database cloned from the template has exactly the same schema.
    let cloned = TestDatabase::new(db).await;
    assert_eq!(catalog(&mut connect(cloned.url()).await).await, migrated);

    drop(conn);
    cloned.cleanup().await.unwrap();
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn core_migrations_apply_reapply_revert_and_apply_again_on_a_current_thread_runtime() {
    apply_reapply_revert_and_apply_again(Database::Core).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commercial_migrations_apply_reapply_revert_and_apply_again_on_a_multi_thread_runtime() {
    apply_reapply_revert_and_apply_again(Database::Commercial).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_migrations_apply_on_a_multi_thread_runtime() {
    let database = TestDatabase::empty(Database::Core).await;
    let applied = run_pending(database.url(), Database::Core).await.unwrap();
    assert_eq!(applied, Database::Core.migration_names().unwrap());
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_failing_migration_is_rolled_back_and_reported_on_one_line() {
    let database = TestDatabase::empty(Database::Core).await;
    let mut conn = connect(database.url()).await;
    exec(&mut conn, "CREATE TABLE clientbases (id int)")
        .await
        .unwrap();

    let message = run_pending(database.url(), Database::Core)
        .await
        .unwrap_err()
        .to_string();
    let target = format!("/{} failed: ", database.name());
    assert!(message.starts_with("migrations of "), "{message}");
    assert!(message.contains(&target), "{message}");
    assert!(
        message.contains("2025-11-25-100100_create_clientbases"),
        "{message}"
    );
    assert!(message.contains("already exists"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    // The migrations before it stay applied; the failing one left nothing behind.
    let applied = names(
        &mut conn,
        "SELECT version::text AS name FROM __diesel_schema_migrations ORDER BY 1",
    )
    .await;
    assert_eq!(applied, ["20251125100000"]);
    assert_eq!(
        names(
            &mut conn,
            "SELECT proname::text AS name FROM pg_proc WHERE proname = 'clientbase_search_text'"
        )
        .await,
        Vec::<String>::new()
    );

    drop(conn);
    database.cleanup().await.unwrap();
}

#[test]
fn migration_names_are_the_folder_names_oldest_first() {
    let core = Database::Core.migration_names().unwrap();
    assert_eq!(core.first().unwrap(), "2025-11-25-100000_search_extensions");
    assert!(core.contains(&"2025-11-25-100100_create_clientbases".to_owned()));
    let commercial = Database::Commercial.migration_names().unwrap();
    assert!(commercial.contains(&"2025-11-25-200200_create_winleadplus_sync_logs".to_owned()));
}
