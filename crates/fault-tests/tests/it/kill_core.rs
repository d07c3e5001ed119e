//! `kill -9` of client-core in the middle of the create batches of a first sync, then in the
//! middle of its update batches, and updates published while it is down: once restarted it
//! applies every update (the final data is exact) and nothing goes to the dead letters.

use std::time::{Duration, Instant};

use fault_tests::StackOptions;
use rand::Rng;

use crate::helpers::{converge, finish, seed, start_with_org};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_core_killed_in_create_and_update_batches_applies_every_update_after_restart() {
    let (seed, mut rng) = seed("kill_core");
    let started = Instant::now();
    let (mut stack, org) = start_with_org(
        StackOptions {
            label: "kill-core".to_owned(),
            prospects: 1500,
            batch_size: 50,
            seed,
            core_env: vec![("CORE_UPDATE_BATCH".to_owned(), "25".to_owned())],
            ..StackOptions::default()
        },
        false,
    )
    .await;

    // 1. Killed in the middle of the create batches.
    let call = stack.spawn_sync(0, org).await.unwrap();
    let delay = rng.random_range(200..1200);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    stack.cores[0].kill().unwrap();
    let first = call.await.unwrap().expect("sync-service answers");
    eprintln!(
        "client-core killed {delay} ms into the first sync: {} created={} failed={} {:?}",
        first.status,
        first.created,
        first.failed,
        first.errors.first()
    );
    stack.cores[0].restart().await.unwrap();
    stack
        .sync_until_success(org, Duration::from_secs(120))
        .await
        .unwrap();

    // 2. Killed in the middle of the update batches.
    let changed = stack.change_recorded(&[org], 0.5, seed).await.unwrap();
    let log = stack
        .sync_until_success(org, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(usize::try_from(log.updated).unwrap(), changed, "{log:?}");
    let delay = rng.random_range(0..300);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    stack.cores[0].kill().unwrap();
    eprintln!("client-core killed {delay} ms after {changed} updates were published");

    // 3. Updates published while it is down.
    let changed = stack
        .change_recorded(&[org], 0.3, seed.wrapping_add(1))
        .await
        .unwrap();
    let log = stack
        .sync_until_success(org, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(usize::try_from(log.updated).unwrap(), changed, "{log:?}");
    eprintln!("{changed} updates published while client-core was down");
    stack.cores[0].restart().await.unwrap();

    // Messages a dead consumer had taken come back after JetStream's ack wait (30 s).
    converge(&stack, &[org]).await;
    eprintln!("kill_core: {:?}", started.elapsed());
    finish(stack).await;
}
