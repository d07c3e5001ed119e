//! What every fault test needs: the binaries (built once per run), a stack, the test's seed
//! and its random generator, and the final convergence check.

use std::time::{Duration, Instant};

use fault_tests::{Binaries, CheckReport, Process, Stack, StackOptions};
use proto::winleadplus::WinLeadPlusSyncLog;
use rand::SeedableRng;
use rand::rngs::StdRng;
use uuid::Uuid;

/// The binaries of this test run's profile.
pub fn binaries() -> Binaries {
    Binaries::for_this_executable().expect("the service binaries build")
}

/// Starts a stack (the binaries are built first if needed).
pub async fn start(options: StackOptions) -> Stack {
    let binaries = tokio::task::spawn_blocking(binaries)
        .await
        .expect("the build task joins");
    Stack::start(&binaries, options)
        .await
        .expect("the stack starts")
}

/// Starts a stack and configures one organisation; with `first_sync`, syncs it once.
pub async fn start_with_org(options: StackOptions, first_sync: bool) -> (Stack, Uuid) {
    let stack = start(options).await;
    let org = Uuid::new_v4();
    stack.configure(org, 60).await.expect("configured");
    if first_sync {
        stack
            .sync_until_success(org, Duration::from_secs(60))
            .await
            .expect("a first sync");
    }
    (stack, org)
}

/// SIGTERM: the process must exit with code 0 within 10 s; how long it took.
pub async fn stop_gracefully(process: &mut Process) -> Duration {
    let (status, took) = process
        .stop(Duration::from_secs(10))
        .await
        .expect("a graceful stop");
    assert_eq!(
        status.code(),
        Some(0),
        "{} exits 0 on SIGTERM",
        process.name()
    );
    took
}

/// A sync hit by a fault completed, or ended FAILED with a message saying why.
pub fn completed_or_failed_clearly(what: &str, log: &WinLeadPlusSyncLog) {
    eprintln!(
        "{what}: {} total={} created={} updated={} failed={} errors={:?}",
        log.status,
        log.total_prospects,
        log.created,
        log.updated,
        log.failed,
        log.errors.iter().take(2).collect::<Vec<_>>()
    );
    match log.status.as_str() {
        "SUCCESS" => {}
        "FAILED" => assert!(
            log.errors.iter().any(|e| !e.trim().is_empty()),
            "a FAILED sync says why: {log:?}"
        ),
        other => panic!("the sync ended {other}: {log:?}"),
    }
}

/// The test's seed: `FAULT_SEED`, else a fresh one; printed either way.
pub fn seed(test: &str) -> (u64, StdRng) {
    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap()));
    eprintln!("{test}: seed {seed} (FAULT_SEED={seed} replays it)");
    (seed, StdRng::seed_from_u64(seed))
}

/// One more sync of each organisation, then the checker, which must find the exact state.
pub async fn converge(stack: &Stack, orgs: &[Uuid]) -> CheckReport {
    let started = Instant::now();
    let report = stack.converge(orgs).await.expect("the state converges");
    eprintln!("converged in {:?}: {report}", started.elapsed());
    report
}

/// Removes the stack (databases, stream, logs).
pub async fn finish(stack: Stack) {
    stack.cleanup(false).await.expect("the stack is cleaned up");
}

/// Counts on crm_commercial.
pub async fn commercial_count(stack: &Stack, sql: &str) -> i64 {
    fault_tests::check::query_i64(stack.commercial_db.url(), sql)
        .await
        .expect(sql)
}
