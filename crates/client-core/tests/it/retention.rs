//! Retention: the update stream keeps a message at most `CORE_STREAM_MAX_AGE_HOURS` (also
//! on a stream that existed before, without losing what an operator set on it), and dead
//! letters older than `CORE_DEAD_LETTER_RETENTION_DAYS` are purged: at start, every hour,
//! and by the function `cargo xtask dead-letters purge` calls.

use std::time::Duration;

use async_nats::jetstream::stream;
use client_core::db::{self, DeadLetterStore};
use client_core::retention::purge_dead_letters;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn the_update_stream_keeps_messages_for_the_configured_hours_only() {
    let app = spawn_app_with(|c| c.stream_max_age_hours = 2).await;
    let mut stream = app.js.get_stream(&app.config.stream).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(config.max_age, Duration::from_secs(2 * 3600));
    assert_eq!(
        config.subjects,
        [app.subject(proto::subjects::CLIENT_UPDATE)]
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_older_stream_without_max_age_gets_one_and_keeps_the_operators_settings() {
    let mut app = spawn_app_with(|c| c.stream_max_age_hours = 24).await;
    app.stop().await;
    // As an earlier version left it: no max_age; plus a limit an operator added since.
    let js = &app.js;
    js.delete_stream(&app.config.stream).await.unwrap();
    js.create_stream(stream::Config {
        name: app.config.stream.clone(),
        subjects: vec![app.subject(proto::subjects::CLIENT_UPDATE)],
        duplicate_window: Duration::from_secs(120),
        max_messages: 123_456,
        ..Default::default()
    })
    .await
    .unwrap();

    app.start().await;
    let mut stream = app.js.get_stream(&app.config.stream).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(config.max_age, Duration::from_secs(24 * 3600));
    assert_eq!(config.max_messages, 123_456, "the operator's limit stays");
    app.cleanup().await;
}

#[tokio::test]
async fn dead_letters_past_retention_are_purged_at_start_and_on_demand() {
    let mut app = spawn_app_with(|c| c.dead_letter_retention_days = 30).await;
    let store =
        DeadLetterStore::new(db::pool(app.db.url(), 2, std::sync::Arc::new(|| {})).unwrap());
    let backdate = |id: uuid::Uuid, days: i32| {
        format!(
            "UPDATE dead_letters SET created_at = now() - interval '{days} days' WHERE id = '{id}'"
        )
    };
    let old = store.insert("s", b"payload", "gave up", 5).await.unwrap();
    let recent = store.insert("s", b"payload", "gave up", 5).await.unwrap();
    app.execute(&backdate(old, 31)).await;
    app.execute(&backdate(recent, 29)).await;

    // A restart purges at once (then every hour).
    app.stop().await;
    app.start().await;
    app.eventually("SELECT count(*) AS n FROM dead_letters", 1)
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM dead_letters WHERE id = '{recent}'"
        ))
        .await,
        1,
        "the recent one stays"
    );
    assert!(
        app.metrics().contains("core_dead_letters_purged_total 1"),
        "{}",
        app.metrics()
    );

    // On demand, with a shorter retention: what `cargo xtask dead-letters purge --days 7` runs.
    app.execute(&backdate(recent, 8)).await;
    let purged = purge_dead_letters(&store, chrono::Duration::days(7))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM dead_letters").await, 0);
    app.cleanup().await;
}
