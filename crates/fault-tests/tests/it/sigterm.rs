//! SIGTERM in the middle of a sync (sync-service) and of a consumer batch (client-core):
//! each exits with code 0 within 10 s, and nothing is left half-written (after a restart
//! and a final sync, the state is exact).

use std::time::{Duration, Instant};

use fault_tests::StackOptions;
use rand::Rng;

use crate::helpers::{converge, finish, seed, start_with_org, stop_gracefully};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_sync_and_a_consumer_batch_exits_0_within_10_s_leaving_nothing_half_written()
 {
    let (seed, mut rng) = seed("sigterm");
    let started = Instant::now();
    let (mut stack, org) = start_with_org(
        StackOptions {
            label: "sigterm".to_owned(),
            prospects: 2500,
            batch_size: 25,
            seed,
            core_env: vec![("CORE_UPDATE_BATCH".to_owned(), "25".to_owned())],
            ..StackOptions::default()
        },
        false,
    )
    .await;

    // 1. sync-service, in the middle of a sync.
    let call = stack.spawn_sync(0, org).await.unwrap();
    let delay = rng.random_range(300..1500);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let took = stop_gracefully(&mut stack.syncs[0]).await;
    eprintln!("sync-service exited 0, {took:?} after SIGTERM ({delay} ms into the sync)");
    match call.await.unwrap() {
        Ok(log) => eprintln!(
            "the interrupted sync answered {} {:?}",
            log.status, log.errors
        ),
        Err(e) => eprintln!("the interrupted call: {e:#}"),
    }
    stack.syncs[0].restart().await.unwrap();
    // Its log was closed by the stop: no stale lease to wait for.
    let log = stack
        .sync_until_success(org, Duration::from_secs(30))
        .await
        .unwrap();
    eprintln!(
        "next sync: {} created={} updated={}",
        log.status, log.created, log.updated
    );

    // 2. client-core, in the middle of a consumer batch.
    let changed = stack.change_recorded(&[org], 0.6, seed).await.unwrap();
    let log = stack
        .sync_until_success(org, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(usize::try_from(log.updated).unwrap(), changed);
    let delay = rng.random_range(0..200);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let took = stop_gracefully(&mut stack.cores[0]).await;
    eprintln!(
        "client-core exited 0, {took:?} after SIGTERM ({delay} ms after {changed} updates were published)"
    );
    stack.cores[0].restart().await.unwrap();

    converge(&stack, &[org]).await;
    eprintln!("sigterm: {:?}", started.elapsed());
    finish(stack).await;
}
