//! `ensure_database` creates a missing database exactly once, and connection failures read as
//! one clear line that never shows the password.

use crm_db::{Database, Error, ensure_database, run_pending};

use crate::helpers::{DropOnExit, database_exists, url_of};

#[tokio::test]
async fn ensure_database_creates_a_missing_database_once() {
    // Upper case, a space and a quote: the name must be quoted in SQL and escaped in the URL.
    let name = format!("test_ensure_{} \"Q\"", uuid::Uuid::new_v4().simple());
    let _drop = DropOnExit(name.clone());
    let url = url_of(&name);
    assert!(!database_exists(&name).await);

    assert!(
        ensure_database(&url).await.unwrap(),
        "first call creates it"
    );
    assert!(database_exists(&name).await);
    assert!(
        !ensure_database(&url).await.unwrap(),
        "second call finds it"
    );

    // And it is the database the URL names.
    let applied = run_pending(&url, Database::Commercial).await.unwrap();
    assert_eq!(applied, Database::Commercial.migration_names().unwrap());
}

#[tokio::test]
async fn concurrent_ensure_database_calls_create_it_once() {
    let name = format!("test_ensure_{}", uuid::Uuid::new_v4().simple());
    let _drop = DropOnExit(name.clone());
    let url = url_of(&name);
    let (a, b, c) = tokio::join!(
        ensure_database(&url),
        ensure_database(&url),
        ensure_database(&url)
    );
    let created = [a.unwrap(), b.unwrap(), c.unwrap()];
    assert_eq!(created.iter().filter(|created| **created).count(), 1);
}

#[tokio::test]
async fn an_unreachable_server_gives_one_clear_line_without_the_password() {
    let url = "postgres://crm:hunter2@127.0.0.1:1/crm_core?application_name=x";

    let error = ensure_database(url).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at 127.0.0.1:1/postgres: "),
        "{message}"
    );
    assert!(
        !message.contains("hunter2") && !message.contains('\n'),
        "{message}"
    );

    let message = run_pending(url, Database::Core)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at 127.0.0.1:1/crm_core: "),
        "{message}"
    );
    assert!(
        !message.contains("hunter2") && !message.contains('\n'),
        "{message}"
    );
}

#[tokio::test]
async fn a_missing_database_is_a_connection_error_naming_it() {
    let name = format!("test_missing_{}", uuid::Uuid::new_v4().simple());
    let message = run_pending(&url_of(&name), Database::Core)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at "),
        "{message}"
    );
    assert!(message.contains(&format!("/{name}: ")), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[tokio::test]
async fn urls_that_name_no_database_or_are_not_postgres_are_refused() {
    for url in [
        "postgres://localhost",
        "postgres://localhost/",
        "mysql://localhost/x",
    ] {
        let error = ensure_database(url).await.unwrap_err();
        assert!(matches!(error, Error::InvalidUrl { .. }), "{url}: {error}");
    }
}
