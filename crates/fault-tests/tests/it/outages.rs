//! NATS (a server of the test's own) killed and restarted on the same port and store, then
//! PostgreSQL's backends of the test's databases terminated, each in the middle of a sync:
//! both services recover by themselves, the sync in progress completes or ends FAILED with
//! a message, and the next one converges.

use std::time::{Duration, Instant};

use fault_tests::{NatsServer, Process, StackOptions};
use rand::Rng;

use crate::helpers::{completed_or_failed_clearly, converge, finish, seed, start_with_org};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_killed_and_restarted_in_the_middle_of_a_sync_is_survived_by_both_services() {
    let (seed, mut rng) = seed("outages_nats");
    let started = Instant::now();
    let mut nats = NatsServer::start().unwrap();
    let (stack, org) = start_with_org(
        StackOptions {
            label: "nats-outage".to_owned(),
            prospects: 2000,
            batch_size: 50,
            seed,
            nats_url: Some(nats.url()),
            ..StackOptions::default()
        },
        false,
    )
    .await;

    let call = stack.spawn_sync(0, org).await.unwrap();
    let delay = rng.random_range(300..1500);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    nats.kill().unwrap();
    let down = rng.random_range(500..2500);
    tokio::time::sleep(Duration::from_millis(down)).await;
    nats.restart().unwrap();
    eprintln!("NATS killed {delay} ms into the sync, restarted {down} ms later");
    let log = call.await.unwrap().expect("sync-service answers");
    completed_or_failed_clearly("the sync in progress", &log);

    recovered(&stack.syncs, &stack.cores).await;
    converge(&stack, &[org]).await;
    eprintln!("outages_nats: {:?}", started.elapsed());
    finish(stack).await;
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backends_terminated_in_the_middle_of_a_sync_are_survived_by_both_services() {
    let (seed, mut rng) = seed("outages_postgres");
    let started = Instant::now();
    // Updates in flight too: a first sync, then changes.
    let (stack, org) = start_with_org(
        StackOptions {
            label: "pg-outage".to_owned(),
            prospects: 2000,
            batch_size: 50,
            seed,
            ..StackOptions::default()
        },
        true,
    )
    .await;
    stack.sim_admin.generate(3000, seed).await.unwrap();
    stack.change_recorded(&[org], 0.4, seed).await.unwrap();

    let call = stack.spawn_sync(0, org).await.unwrap();
    let delay = rng.random_range(200..1200);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let terminated = stack.terminate_db_backends().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = stack.terminate_db_backends().await.unwrap();
    eprintln!("{terminated} then {again} backends terminated {delay} ms into the sync");
    assert!(terminated > 0, "the services had connections to terminate");
    let log = call.await.unwrap().expect("sync-service answers");
    completed_or_failed_clearly("the sync in progress", &log);

    recovered(&stack.syncs, &stack.cores).await;
    converge(&stack, &[org]).await;
    eprintln!("outages_postgres: {:?}", started.elapsed());
    finish(stack).await;
}

/// Every service is ready again on its own (none was restarted).
async fn recovered(syncs: &[Process], cores: &[Process]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for process in syncs.iter().chain(cores) {
        while !process.is_ready().await {
            assert!(
                Instant::now() < deadline,
                "{} is not ready 30 s after the outage",
                process.name()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(process.starts(), 1, "{} was not restarted", process.name());
    }
}
