//! WinLeadPlus misbehaving: bad token, 5xx then success, 429 with Retry-After, HTML and
//! truncated bodies, a dead lease, a shutdown in the middle.

use std::time::{Duration, Instant};

use uuid::Uuid;
use winleadplus_sim::Fault;

use crate::helpers::{Options, fixture, spawn_stack, spawn_stack_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_the_sync_with_a_clear_message_and_no_retry() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sim.set_token("rotated");

    let (success, log) = stack.sync_now(org, false).await;

    assert!(!success);
    assert_eq!(log.status, "FAILED");
    assert!(
        log.errors
            .iter()
            .any(|e| e.contains("rejected the API token") && e.contains("401")),
        "{:?}",
        log.errors
    );
    assert_eq!(stack.sim.stats().requests, 1, "401 is not retried");
    assert_eq!(
        stack
            .core_count("SELECT count(*) AS n FROM clientbases")
            .await,
        0
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_until_success() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sim.push_fault(Fault::status(500).times(2));

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.created, 5);
    let stats = stack.sim.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.count(500), 2);
    assert_eq!(stats.count(200), 1);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_as_retry_after_says() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack
        .sim
        .push_fault(Fault::status(429).with_retry_after_secs(1));

    let started = Instant::now();
    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(stack.sim.stats().count(429), 1);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_or_a_truncated_body_fails_the_sync_clearly() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    stack.sim.push_fault(Fault::html());
    let (success, log) = stack.sync_now(org, false).await;
    assert!(!success);
    assert!(
        log.errors.iter().any(|e| e.contains("text/html")),
        "{:?}",
        log.errors
    );

    stack.sim.push_fault(Fault::truncate());
    let (success, log) = stack.sync_now(org, false).await;
    assert!(!success);
    assert!(
        log.errors
            .iter()
            .any(|e| e.contains("invalid JSON") || e.contains("broke off")),
        "{:?}",
        log.errors
    );
    // What was complete before the cut is imported; the rest comes next time.
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert_eq!(
        stack
            .core_count("SELECT count(*) AS n FROM clientbases")
            .await,
        5
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_whose_holder_died_is_taken_over() {
    let stack = spawn_stack_with(Options {
        prospects: fixture("prospects-edge.json"),
        lease_timeout_secs: 5,
        ..Options::default()
    })
    .await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let mut conn = diesel_async::AsyncPgConnection::establish(stack.commercial_db.url())
            .await
            .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO winleadplus_sync_logs (organisation_id, status, heartbeat_at) VALUES ('{org}', 'RUNNING', now() - interval '1 hour')"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.created, 5);
    assert_eq!(
        stack.commercial_count(&format!("SELECT count(*) AS n FROM winleadplus_sync_logs WHERE organisation_id = '{org}' AND status = 'FAILED' AND message LIKE 'abandoned%'")).await,
        1
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lease_is_respected() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let mut conn = diesel_async::AsyncPgConnection::establish(stack.commercial_db.url())
            .await
            .unwrap();
        diesel::sql_query(format!("INSERT INTO winleadplus_sync_logs (organisation_id, status) VALUES ('{org}', 'RUNNING')"))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    let (success, log) = stack.sync_now(org, false).await;

    assert!(!success);
    assert_eq!(log.status, "RUNNING");
    assert_eq!(stack.sim.stats().requests, 0);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_stops_a_running_sync_at_a_batch_boundary() {
    let mut stack = spawn_stack_with(Options {
        prospects: winleadplus_sim::generate(2_000, 7),
        batch_size: 20,
        ..Options::default()
    })
    .await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    let sync = stack.sync.clone();
    let call = tokio::spawn(async move {
        let mut sync = sync;
        sync.sync_prospects(proto::winleadplus::SyncProspectsRequest {
            organisation_id: org.to_string(),
            dry_run: false,
            force_archive: false,
        })
        .await
    });
    // Wait until some batches are recorded, then stop sync-service.
    let sql =
        format!("SELECT count(*) AS n FROM winleadplus_mappings WHERE organisation_id = '{org}'");
    while stack.commercial_count(&sql).await == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stack.sync_app.stop().await;
    let _ = call.await;

    assert_eq!(
        stack.commercial_count(&format!("SELECT count(*) AS n FROM winleadplus_sync_logs WHERE organisation_id = '{org}' AND status = 'FAILED' AND message = 'interrupted by shutdown'")).await,
        1
    );
    let mapped = stack.commercial_count(&sql).await;
    assert!(mapped < 2_000, "stopped before the end");
    assert_eq!(mapped % 20, 0, "whole batches only");
    // Every recorded mapping has its client in client-core.
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}'"
            ))
            .await,
        mapped
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_sync_releases_its_lease_in_the_commit_that_sets_last_sync_at() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    // now() is the transaction's start: equal stamps mean one commit, so no other replica
    // can find the lease free while the organisation still looks due.
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_sync_logs l \
                 JOIN winleadplus_configs c USING (organisation_id) \
                 WHERE l.organisation_id = '{org}' AND l.status = 'SUCCESS' \
                 AND l.finished_at = c.last_sync_at"
            ))
            .await,
        1
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_tick_starts_no_sync_once_shutdown_begins() {
    let stack = spawn_stack_with(Options {
        prospects: winleadplus_sim::generate(600, 8),
        batch_size: 20,
        scheduler: true,
        ..Options::default()
    })
    .await;
    let orgs: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    for org in &orgs {
        stack.configure(*org).await;
    }
    let scheduler = stack.scheduler.clone().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let tick = {
        let stop = stop.clone();
        // Concurrency 2 (the stack's): two syncs start, the other two wait for a slot.
        tokio::spawn(async move { scheduler.run_once_until(&stop).await })
    };
    let started = "SELECT count(*) AS n FROM winleadplus_sync_logs";
    while stack.commercial_count(started).await < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.cancel();
    let tick = tick.await.unwrap();

    assert_eq!(tick.synced.len(), 2, "{tick:?}");
    assert_eq!(
        stack.commercial_count(started).await,
        2,
        "no sync started after the stop"
    );
    assert_eq!(
        stack
            .commercial_count(
                "SELECT count(*) AS n FROM winleadplus_sync_logs WHERE status = 'SUCCESS'"
            )
            .await,
        2,
        "the two running ones went to their end"
    );
    stack.cleanup().await;
}
