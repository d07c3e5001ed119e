//! `cargo xtask soak --minutes N --seed S`: the product as separate processes (the release
//! binaries unless `--debug`) for N minutes, in rounds. Each round changes the data at
//! random (new prospects, changed ones), injects one random fault into the syncs of five
//! organisations (`kill -9` or SIGTERM of either service, a WinLeadPlus error, a truncated
//! or slow answer, or nothing), then syncs every organisation once more and runs the fault
//! tests' checker, which must find the exact state. Round 0 is the first import and round 1
//! changes data without a fault: the first round. The RSS of each service is read 3 s after
//! each check (at rest) and printed; the soak fails, at its end, if one was more than 10 %
//! above its value after the first round (the larger of rounds 0 and 1) at any later check.
//! A wrong state fails it at once. Uses the harness of `crates/fault-tests` (the databases are made by
//! `crm_db::testing` on `TEST_DATABASE_URL`'s server, NATS is `NATS_URL`'s).

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fault_tests::{Binaries, Profile, Stack, StackOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;
use winleadplus_sim::Fault;

/// Options of the soak.
#[derive(Debug, clap::Args)]
pub(crate) struct SoakArgs {
    /// How long to run, in minutes (whole rounds: the last one may end a little later).
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Seed of every random choice (data, faults, timings).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Prospects the simulator starts with.
    #[arg(long, default_value_t = 2000)]
    prospects: usize,
    /// Run the debug binaries instead of the release ones.
    #[arg(long)]
    debug: bool,
}

/// Organisations synced in every round.
const ORGANISATIONS: usize = 5;

/// How much a service's RSS may grow above its value after the first round.
const RSS_GROWTH_LIMIT: f64 = 0.10;

/// How long the services are left idle after a check before their RSS is read.
const RSS_SETTLE: Duration = Duration::from_secs(3);

/// The faults a round may inject.
#[derive(Debug, Clone, Copy)]
enum Injected {
    Nothing,
    KillSync,
    KillCore,
    TermSync,
    TermCore,
    ServerErrors,
    RateLimit,
    Truncated,
    Slow,
}

const FAULTS: [Injected; 9] = [
    Injected::Nothing,
    Injected::KillSync,
    Injected::KillCore,
    Injected::TermSync,
    Injected::TermCore,
    Injected::ServerErrors,
    Injected::RateLimit,
    Injected::Truncated,
    Injected::Slow,
];

pub(crate) async fn run(args: SoakArgs) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .context("no workspace root")?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let profile = if args.debug {
        Profile::Debug
    } else {
        Profile::Release
    };
    println!("Building the {} binaries…", profile.dir_name());
    let binaries = {
        let (root, target, profile) = (root.clone(), target.clone(), profile.clone());
        tokio::task::spawn_blocking(move || Binaries::build(&root, &target, &profile))
            .await
            .context("the build task failed")??
    };
    let stack = Stack::start(
        &binaries,
        StackOptions {
            label: "soak".to_owned(),
            prospects: args.prospects,
            seed: args.seed,
            batch_size: 100,
            lease_timeout_secs: 5,
            rust_log: "warn".to_owned(),
            ..StackOptions::default()
        },
    )
    .await?;
    println!(
        "soak: {} binaries, {} organisations, {} prospects to start with, seed {}, {} min; logs in {}",
        profile.dir_name(),
        ORGANISATIONS,
        args.prospects,
        args.seed,
        args.minutes,
        stack.dir.display()
    );
    let mut stack = stack;
    let result = rounds(&mut stack, &args).await;
    let keep_logs = result.is_err();
    if let Err(e) = stack.cleanup(keep_logs).await {
        println!("soak: cleanup: {e:#}");
    }
    result
}

async fn rounds(stack: &mut Stack, args: &SoakArgs) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let orgs: Vec<Uuid> = (0..ORGANISATIONS).map(|_| Uuid::new_v4()).collect();
    for &org in &orgs {
        stack.configure(org, 60).await?;
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.minutes * 60);
    let mut prospects = args.prospects;
    // Per service, its RSS after the first round, in kB; the checks above the limit.
    let mut baselines = [0u64; 2];
    let mut excesses: Vec<String> = Vec::new();
    let mut rounds_done: u64 = 0;
    while rounds_done < 2 || Instant::now() < deadline {
        let round = rounds_done;
        rounds_done += 1;
        // Random changes: new prospects, and changed recorded ones. Round 0 is the first
        // import; round 1 changes data without a fault, as many as any later round will (every
        // path of both services has run once, at its largest, when the RSS baseline is taken
        // after it). Later rounds change a random share of as many prospects as there were at
        // the start, so the work of a round does not grow with the data.
        let (grown, changed, fault) = if round == 0 {
            (0, 0, Injected::Nothing)
        } else {
            let grown = rng.random_range(0..60);
            prospects += grown;
            stack.sim_admin.generate(prospects, args.seed).await?;
            let most = 0.2 * args.prospects as f64 / prospects as f64;
            let fraction = if round == 1 {
                most
            } else {
                rng.random_range(0.1..1.0) * most
            };
            let changed = stack
                .change_recorded(&orgs, fraction, args.seed.wrapping_add(round))
                .await?;
            let fault = if round == 1 {
                Injected::Nothing
            } else {
                FAULTS[rng.random_range(0..FAULTS.len())]
            };
            (grown, changed, fault)
        };

        let round_started = Instant::now();
        let outcomes = faulty_syncs(stack, &orgs, fault, &mut rng).await?;
        let report = stack
            .converge(&orgs)
            .await
            .with_context(|| format!("round {round} ({fault:?}): the state is not exact"))?;
        // Memory at rest: the round's work is over, and the allocator has had time to give
        // back what it freed (jemalloc's decay is 1 s). A reading taken while a service is
        // still acknowledging or purging measures the round, not the process.
        tokio::time::sleep(RSS_SETTLE).await;
        let rss_sync = stack
            .syncs
            .first()
            .and_then(fault_tests::Process::rss_kb)
            .unwrap_or(0);
        let rss_core = stack
            .cores
            .first()
            .and_then(fault_tests::Process::rss_kb)
            .unwrap_or(0);
        println!(
            "round {round:>3} [{:>6.1} s] +{grown} new, {changed} changed, fault {fault:?} ({outcomes}); \
             check: {} clients, {} contracts, {} lines, exact ({:.1} s); \
             RSS sync-service {:.1} MB (start #{}), client-core {:.1} MB (start #{})",
            started.elapsed().as_secs_f64(),
            report.clients,
            report.contrats,
            report.lignes,
            round_started.elapsed().as_secs_f64(),
            rss_sync as f64 / 1024.0,
            stack.syncs[0].starts(),
            rss_core as f64 / 1024.0,
            stack.cores[0].starts()
        );
        // The RSS rule: after the first round (the import, round 0, and the first changes,
        // round 1: the larger of the two), a service whose RSS is more than 10 % above it is
        // reported, whichever process it is now; the soak goes on and fails at the end.
        let [sync_baseline, core_baseline] = &mut baselines;
        for (name, rss, baseline) in [
            ("sync-service", rss_sync, sync_baseline),
            ("client-core", rss_core, core_baseline),
        ] {
            if round <= 1 {
                *baseline = (*baseline).max(rss);
            } else if rss as f64 > *baseline as f64 * (1.0 + RSS_GROWTH_LIMIT) {
                let excess = format!(
                    "round {round}: {name} {:.1} MB, {:.0} % above its {:.1} MB after the first round",
                    rss as f64 / 1024.0,
                    (rss as f64 / *baseline as f64 - 1.0) * 100.0,
                    *baseline as f64 / 1024.0
                );
                println!("          RSS above the limit: {excess}");
                excesses.push(excess);
            }
        }
    }
    if !excesses.is_empty() {
        bail!(
            "the state was exact after each of {rounds_done} rounds, but the RSS grew more than {:.0} % after the first round {} time(s):\n  {}",
            RSS_GROWTH_LIMIT * 100.0,
            excesses.len(),
            excesses.join("\n  ")
        );
    }
    println!(
        "soak: {rounds_done} rounds in {:.1} min, the state exact after each; RSS within {:.0} % of the first round's",
        started.elapsed().as_secs_f64() / 60.0,
        RSS_GROWTH_LIMIT * 100.0
    );
    Ok(())
}

/// Syncs every organisation at once with `fault` injected in the middle; returns what the
/// syncs answered. A killed or stopped service is started again.
async fn faulty_syncs(
    stack: &mut Stack,
    orgs: &[Uuid],
    fault: Injected,
    rng: &mut StdRng,
) -> anyhow::Result<String> {
    let sim_faults: Vec<Fault> = match fault {
        Injected::ServerErrors => vec![Fault::status(500).times(2), Fault::status(503)],
        Injected::RateLimit => vec![Fault::status(429).with_retry_after_secs(1)],
        Injected::Truncated => vec![Fault::truncate()],
        Injected::Slow => vec![Fault::delay_ms(1500)],
        _ => Vec::new(),
    };
    if !sim_faults.is_empty() {
        stack.sim_admin.push_faults(&sim_faults).await?;
    }
    let mut calls = Vec::new();
    for &org in orgs {
        calls.push(stack.spawn_sync(0, org).await?);
    }
    // Into the syncs (those of changes take a few hundred milliseconds in release).
    let delay = Duration::from_millis(rng.random_range(10..400));
    tokio::time::sleep(delay).await;
    match fault {
        Injected::KillSync => stack.syncs[0].kill()?,
        Injected::KillCore => stack.cores[0].kill()?,
        Injected::TermSync => stop_gracefully(&mut stack.syncs[0]).await?,
        Injected::TermCore => stop_gracefully(&mut stack.cores[0]).await?,
        _ => {}
    }
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for call in calls {
        let answer = match call.await.context("a sync task failed")? {
            Ok(log) => log.status,
            Err(_) => "no answer".to_owned(),
        };
        *answers.entry(answer).or_default() += 1;
    }
    stack.sim_admin.clear_faults().await?;
    for process in stack.syncs.iter_mut().chain(stack.cores.iter_mut()) {
        if !process.is_running() {
            process.restart().await?;
        }
    }
    Ok(format!(
        "after {} ms: {}",
        delay.as_millis(),
        answers
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// SIGTERM, which must end the process with code 0 within 10 s.
async fn stop_gracefully(process: &mut fault_tests::Process) -> anyhow::Result<()> {
    let (status, _) = process.stop(Duration::from_secs(10)).await?;
    if status.code() != Some(0) {
        bail!("{} ended {status} after SIGTERM", process.name());
    }
    Ok(())
}
