//! Two sync-services and two client-cores, twenty organisations, the scheduler ticking every
//! 2 s. The shortest interval the configs allow is 5 minutes, so the test makes every
//! organisation due by moving its `last_sync_at` 6 minutes back, once per round, only
//! while no sync runs: over about ten ticks, each organisation is synced exactly once per
//! round (SUCCESS logs counted per organisation), a tick with nothing due syncs nothing, no
//! client or contract is duplicated, and client-core applies exactly as many updates as the
//! logs say were sent.

use std::time::{Duration, Instant};

use fault_tests::StackOptions;
use uuid::Uuid;

use crate::helpers::{commercial_count, converge, finish, seed, start};

const ORGANISATIONS: usize = 20;
const ROUNDS: i64 = 5;
/// One scheduler tick, and a margin.
const TICK: Duration = Duration::from_millis(2500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_each_service_sync_each_due_organisation_exactly_once_per_interval() {
    let (seed, _rng) = seed("replicas");
    let started = Instant::now();
    let stack = start(StackOptions {
        label: "replicas".to_owned(),
        sync_replicas: 2,
        core_replicas: 2,
        prospects: 60,
        batch_size: 25,
        seed,
        sync_cron: Some("*/2 * * * * *".to_owned()),
        ..StackOptions::default()
    })
    .await;
    let orgs: Vec<Uuid> = (0..ORGANISATIONS).map(|_| Uuid::new_v4()).collect();
    for &org in &orgs {
        // The smallest interval the configs allow (CHECK 5..1440 minutes).
        stack.configure(org, 5).await.unwrap();
    }

    for round in 1..=ROUNDS {
        // The round's syncs: every organisation once, by either replica.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done = successes(&stack).await;
            let running = commercial_count(
                &stack,
                "SELECT count(*) FROM winleadplus_sync_logs WHERE status = 'RUNNING'",
            )
            .await;
            if done >= round * ORGANISATIONS as i64 && running == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: {done} successful syncs after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // A tick with nothing due syncs nothing.
        tokio::time::sleep(TICK).await;
        let per_org_wrong = commercial_count(
            &stack,
            &format!(
                "SELECT count(*) FROM (SELECT organisation_id, count(*) AS c \
                 FROM winleadplus_sync_logs WHERE status = 'SUCCESS' GROUP BY 1) s \
                 WHERE c <> {round}"
            ),
        )
        .await;
        assert_eq!(
            successes(&stack).await,
            round * ORGANISATIONS as i64,
            "round {round}: no organisation is synced twice"
        );
        assert_eq!(per_org_wrong, 0, "round {round}: each organisation once");
        let failed = commercial_count(
            &stack,
            "SELECT count(*) FROM winleadplus_sync_logs WHERE status = 'FAILED'",
        )
        .await;
        assert_eq!(failed, 0, "no sync failed");
        eprintln!(
            "round {round}: {} syncs, each organisation once ({:?})",
            round * ORGANISATIONS as i64,
            started.elapsed()
        );
        if round < ROUNDS {
            stack
                .change_recorded(&orgs, 0.2, seed.wrapping_add(round as u64))
                .await
                .unwrap();
            // Due again at the next tick.
            fault_tests::check::execute(
                stack.commercial_db.url(),
                "UPDATE winleadplus_configs SET last_sync_at = last_sync_at - interval '6 minutes'",
            )
            .await
            .unwrap();
        }
    }

    // Every update sent was applied exactly once across the two client-cores.
    let sent = commercial_count(
        &stack,
        "SELECT coalesce(sum(updated), 0)::bigint FROM winleadplus_sync_logs",
    )
    .await;
    assert!(sent > 0, "the rounds sent updates");
    let applied_sample = r#"core_events_total{kind="update",outcome="applied"}"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let applied = stack.core_metric(applied_sample).await.unwrap();
        if applied == u64::try_from(sent).unwrap() {
            break;
        }
        assert!(
            applied < u64::try_from(sent).unwrap() && Instant::now() < deadline,
            "{applied} updates applied, {sent} sent"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("{sent} updates sent, each applied once");

    // One more sync and the checker: no duplicate client or contract, exact data.
    converge(&stack, &orgs).await;
    eprintln!("replicas: {:?}", started.elapsed());
    finish(stack).await;
}

async fn successes(stack: &fault_tests::Stack) -> i64 {
    commercial_count(
        stack,
        "SELECT count(*) FROM winleadplus_sync_logs WHERE status = 'SUCCESS'",
    )
    .await
}
