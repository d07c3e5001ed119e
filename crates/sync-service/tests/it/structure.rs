//! A structural guard, not a timing test: the work a sync sends to PostgreSQL and NATS grows
//! with the number of batches, not with the number of prospects.

use uuid::Uuid;

use crate::helpers::{Options, sample, spawn_stack_with};

/// Statements and NATS messages of one sync of `prospects` prospects in batches of `batch`.
async fn measure(prospects: usize, batch: u16, changed: f64) -> [(u64, u64, usize); 2] {
    let stack = spawn_stack_with(Options {
        prospects: winleadplus_sim::generate(prospects, 11),
        batch_size: batch,
        ..Options::default()
    })
    .await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    let (s0, c0) = stack.statements();
    let m0 = stack.published().await;
    let (ok, log) = stack.sync_now(org, false).await;
    assert!(ok, "{log:?}");
    let (s1, c1) = stack.statements();
    let m1 = stack.published().await;

    stack.sim.mutate(changed, 5);
    let (ok, log) = stack.sync_now(org, false).await;
    assert!(ok, "{log:?}");
    let expected_updates = (prospects as f64 * changed).round() as i32;
    assert_eq!(log.updated, expected_updates);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let applied = || {
        sample(
            &stack.core_metrics.base().render(),
            r#"core_events_total{kind="update",outcome="applied"}"#,
        )
    };
    while applied() < expected_updates as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "updates not applied: {}",
            applied()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (s2, c2) = stack.statements();
    let m2 = stack.published().await;
    stack.cleanup().await;
    [(s1 - s0, c1 - c0, m1 - m0), (s2 - s1, c2 - c1, m2 - m1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_and_messages_grow_with_batches_not_with_prospects() {
    // 1,000 prospects in 4 batches, then the same number in 8 batches.
    let [(sync_4, core_4, nats_4), (resync_sync_4, resync_core_4, _)] =
        measure(1_000, 250, 0.1).await;
    let [(sync_8, core_8, nats_8), _] = measure(1_000, 125, 0.1).await;

    eprintln!(
        "statements sync/core, nats messages: 4 batches {sync_4}/{core_4}, {nats_4}; 8 batches {sync_8}/{core_8}, {nats_8}; \
         re-sync of 100 changes (4 batches) {resync_sync_4}/{resync_core_4}"
    );
    // Initial import: a handful of statements per batch on each side, one create request each.
    for (batches, sync, core, nats) in [(4u64, sync_4, core_4, nats_4), (8, sync_8, core_8, nats_8)]
    {
        assert!(
            sync <= 12 * batches + 20,
            "sync-service sent {sync} statements for {batches} batches"
        );
        assert!(
            core <= 12 * batches + 20,
            "client-core sent {core} statements for {batches} batches"
        );
        assert_eq!(nats as u64, batches, "one create request per batch");
    }
    assert!(
        sync_4 < 100 && core_4 < 100,
        "far below one statement per prospect"
    );
    // Doubling the batches roughly doubles the per-batch work, it does not multiply it.
    assert!(sync_8 <= 2 * sync_4 + 10 && core_8 <= 2 * core_4 + 10);

    // Re-sync with 100 changed prospects: updates travel one JetStream message each (by
    // contract), but client-core applies them set-based, a few statements per fetched batch.
    assert!(resync_sync_4 <= 12 * 4 + 20, "{resync_sync_4}");
    assert!(
        resync_core_4 < 60,
        "client-core sent {resync_core_4} statements for 100 updates"
    );
}
