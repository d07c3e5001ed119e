//! WinLeadPlus misbehaving during syncs of a paginated payload (so that faults fall in the
//! middle of a sync): 5xx, 429 with `Retry-After`, a truncated body, a slow answer. A sync
//! either retries through them or ends FAILED with the reason; the next one converges.

use std::time::{Duration, Instant};

use fault_tests::StackOptions;
use rand::Rng;
use winleadplus_sim::{Fault, Shape};

use crate::helpers::{completed_or_failed_clearly, converge, finish, seed, start_with_org};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_faults_during_syncs_are_retried_or_fail_cleanly_and_the_next_sync_converges() {
    let (seed, mut rng) = seed("sim_faults");
    let started = Instant::now();
    let (stack, org) = start_with_org(
        StackOptions {
            label: "sim-faults".to_owned(),
            prospects: 1200,
            batch_size: 50,
            seed,
            ..StackOptions::default()
        },
        false,
    )
    .await;
    stack
        .sim_admin
        .set_shape(Shape::Paginated { page_size: 100 })
        .await
        .unwrap();

    let rounds: [(&str, Vec<Fault>); 5] = [
        (
            "a 500 then a 502",
            vec![Fault::status(500), Fault::status(502)],
        ),
        (
            "a 429 with Retry-After: 1",
            vec![Fault::status(429).with_retry_after_secs(1)],
        ),
        ("a truncated body", vec![Fault::truncate()]),
        ("a slow answer (1.5 s)", vec![Fault::delay_ms(1500)]),
        // More than WINLEADPLUS_MAX_ATTEMPTS (4) in a row: the sync must give up.
        ("503 six times", vec![Fault::status(503).times(6)]),
    ];
    let mut applied = 0;
    for (round, (what, faults)) in rounds.into_iter().enumerate() {
        stack
            .change_recorded(&[org], 0.1, seed.wrapping_add(round as u64))
            .await
            .unwrap();
        let before = stack.sim_admin.stats().await.unwrap().faults_applied;
        let call = stack.spawn_sync(0, org).await.unwrap();
        // Into the middle of the pages (page 1 is asked at once).
        let delay = rng.random_range(0..400);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        stack.sim_admin.push_faults(&faults).await.unwrap();
        let log = call.await.unwrap().expect("sync-service answers");
        stack.sim_admin.clear_faults().await.unwrap();
        let hit = stack.sim_admin.stats().await.unwrap().faults_applied - before;
        applied += hit;
        completed_or_failed_clearly(
            &format!("{what} {delay} ms into the sync ({hit} applied)"),
            &log,
        );
        if what.starts_with("503") && hit == 6 {
            assert_eq!(log.status, "FAILED", "six 503s in a row fail the sync");
        }
    }
    assert!(applied > 0, "faults fell inside syncs");

    converge(&stack, &[org]).await;
    eprintln!("sim_faults: {:?}", started.elapsed());
    finish(stack).await;
}
