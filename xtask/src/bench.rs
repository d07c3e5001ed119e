//! `cargo xtask bench`: end-to-end throughput and memory of a sync, against the hardware
//! floor measured in the same run on the same payload, and the issue's targets.
//!
//! `cargo xtask bench` builds the release binaries and hands over to the release `xtask
//! bench-run`, which, for each size: creates fresh scratch databases, pre-loads crm_core with
//! `--other-clients` clients of 50 other organisations (by SQL, as production's crm_core
//! holds everyone else's clients), starts `winleadplus-sim`, `client-core` and
//! `sync-service` as separate processes (so each one's peak RSS, `VmHWM`, can be read)
//! ([`rig`]), runs three scenarios `--runs` times (initial sync into an empty organisation,
//! re-sync unchanged, re-sync after 10 % changed) and measures the floor (fetch + parse to
//! `Vec<Value>`, `COPY` of the client rows into a scratch table, JetStream publish of as many
//! messages of the same size). Then the growth check: the initial sync of `--growth-size`
//! prospects with crm_core pre-loaded with each `--growth` count, fresh databases each. On
//! the largest pre-loaded table it times client-core's Search and List ([`queries`]). It
//! prints the results against the issue's targets and writes `target/bench/results.json`
//! ([`report`]).

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

mod queries;
mod report;
mod rig;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use proto::winleadplus::win_lead_plus_sync_service_client::WinLeadPlusSyncServiceClient;
use proto::winleadplus::{
    SyncProspectsRequest, UpdateWinLeadPlusConfigRequest, WinLeadPlusSyncLog,
};
use serde_json::Value;
use uuid::Uuid;

use self::queries::QueryTimings;
use self::report::{
    Conditions, FirstImport, Floor, Growth, GrowthPoint, Report, Rss, Scenario, SizeResult, stat,
};
use self::rig::{Rig, RigOptions, SIM_TOKEN};
use crate::stack::{Authorized, metric, prerequisites};

/// Options of the benchmark.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BenchArgs {
    /// Numbers of prospects, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Runs of each scenario (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// `SYNC_BATCH_SIZE` of sync-service.
    #[arg(long, default_value_t = 1000)]
    batch: u16,
    /// Share of prospects changed before the third scenario.
    #[arg(long, default_value_t = 0.1)]
    change: f64,
    /// Clients of 50 other organisations written into crm_core before the runs.
    #[arg(long, default_value_t = 100_000)]
    other_clients: usize,
    /// Growth check: clients of other organisations in crm_core at each point,
    /// comma-separated (`''` skips it).
    #[arg(long, value_parser = parse_counts, default_value = "0,100000,1000000")]
    growth: Counts,
    /// Skips the growth check.
    #[arg(long)]
    no_growth: bool,
    /// Prospects of the growth check's initial syncs.
    #[arg(long, default_value_t = 10_000)]
    growth_size: usize,
}

/// A comma-separated list of counts, possibly empty.
#[derive(Debug, Clone)]
struct Counts(Vec<usize>);

fn parse_counts(text: &str) -> Result<Counts, String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().map_err(|e| format!("{t:?}: {e}")))
        .collect::<Result<_, _>>()
        .map(Counts)
}

impl BenchArgs {
    /// Refuses options that would measure nothing.
    fn check(&self) -> anyhow::Result<()> {
        if self.runs == 0 {
            bail!("--runs must be at least 1");
        }
        if self.sizes.contains(&0) || self.growth_size == 0 {
            bail!("--sizes and --growth-size must be at least 1 prospect");
        }
        Ok(())
    }

    /// The growth check's pre-load counts; none when skipped.
    fn growth_points(&self) -> &[usize] {
        if self.no_growth { &[] } else { &self.growth.0 }
    }
}

/// `cargo xtask bench`: builds in release, then runs the release xtask with the same
/// options.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    args.check()?;
    let root = repo_root();
    println!("Building the release binaries…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--locked",
            "--bins",
            "-p",
            "client-core",
            "-p",
            "sync-service",
        ])
        .args(["-p", "winleadplus-sim", "-p", "xtask"])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("the release build failed");
    }
    // Everything after `bench` on this command line, as given (already parsed once here).
    let options = std::env::args_os().skip_while(|a| a != "bench").skip(1);
    let status = Command::new(target_dir(&root).join("release/xtask"))
        .current_dir(&root)
        .arg("bench-run")
        .args(options)
        .status()
        .context("cannot run the release xtask")?;
    if !status.success() {
        bail!("the benchmark failed");
    }
    Ok(())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else the workspace's `target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Where the Search/List timings run: on the largest pre-loaded table, a growth point's
/// when it is as large as the sizes' pre-load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueriesOn {
    Size(usize),
    GrowthPoint(usize),
    Nowhere,
}

impl QueriesOn {
    fn choose(args: &BenchArgs) -> Self {
        let growth = args
            .growth_points()
            .iter()
            .enumerate()
            .map(|(i, &n)| (Self::GrowthPoint(i), n));
        let sizes = args
            .sizes
            .len()
            .checked_sub(1)
            .map(|last| (Self::Size(last), args.other_clients));
        // The first of the largest.
        growth
            .chain(sizes)
            .filter(|&(_, n)| n > 0)
            .fold(None, |best: Option<(Self, usize)>, (on, n)| match best {
                Some((_, m)) if m >= n => best,
                _ => Some((on, n)),
            })
            .map_or(Self::Nowhere, |(on, _)| on)
    }
}

/// The release side: everything measured here.
pub(crate) async fn run_release(args: BenchArgs) -> anyhow::Result<()> {
    args.check()?;
    let nats = prerequisites().await?;
    let target = target_dir(&repo_root());
    let out = target.join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let bin = target.join("release");
    let queries_on = QueriesOn::choose(&args);
    let mut queries = None;
    let mut sizes = Vec::new();
    for (index, &size) in args.sizes.iter().enumerate() {
        println!(
            "\n== {size} prospects, {} clients of other organisations ==",
            args.other_clients
        );
        let options = RigOptions {
            bin: &bin,
            out: &out,
            prospects: size,
            other_clients: args.other_clients,
            batch: args.batch,
            label: size.to_string(),
        };
        let with_queries = queries_on == QueriesOn::Size(index);
        let measured = measure(&nats, &options, with_queries, async |rig: &Rig| {
            bench_size(rig, &nats, size, &args).await
        })
        .await?;
        queries = measured.queries.or(queries);
        sizes.push(measured.value.into_result(size, &args, measured.conditions));
    }
    let mut growth = Vec::new();
    for (index, &other_clients) in args.growth_points().iter().enumerate() {
        let size = args.growth_size;
        println!(
            "\n== growth check: {size} prospects, {other_clients} clients of other organisations =="
        );
        let options = RigOptions {
            bin: &bin,
            out: &out,
            prospects: size,
            other_clients,
            batch: args.batch,
            label: format!("growth-{size}-{other_clients}"),
        };
        let with_queries = queries_on == QueriesOn::GrowthPoint(index);
        let measured = measure(&nats, &options, with_queries, async |rig: &Rig| {
            let runs = scenarios(rig, size, &args, None).await?;
            runs.into_iter().next().context("no initial sync")
        })
        .await?;
        queries = measured.queries.or(queries);
        growth.push(GrowthPoint {
            other_clients,
            initial: stat(&measured.value.e2e),
            first_import: FirstImport::of(&measured.value.e2e),
            conditions: measured.conditions,
        });
    }
    let report = Report {
        runs: args.runs,
        batch_size: args.batch,
        change: args.change,
        sizes,
        growth: (!growth.is_empty()).then(|| Growth::new(args.growth_size, growth)),
        queries,
    };
    let json = serde_json::to_string_pretty(&report)?;
    let path = out.join("results.json");
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    report.print();
    println!("\nResults written to {}", path.display());
    Ok(())
}

/// What [`measure`] returns.
struct Measured<T> {
    value: T,
    conditions: Conditions,
    queries: Option<QueryTimings>,
}

/// Starts a rig, runs `body` against it, then, when asked, the Search/List timings, and
/// stops it (also on failure).
async fn measure<T>(
    nats: &async_nats::Client,
    options: &RigOptions<'_>,
    with_queries: bool,
    body: impl AsyncFnOnce(&Rig) -> anyhow::Result<T>,
) -> anyhow::Result<Measured<T>> {
    let load_before = load_average();
    let rig = Rig::start(nats, options).await?;
    let result = async {
        let value = body(&rig).await?;
        let queries = if with_queries {
            println!("   Search/List timings");
            Some(queries::time_queries(&rig, options.other_clients).await?)
        } else {
            None
        };
        Ok::<_, anyhow::Error>((value, queries))
    }
    .await;
    let load_after = load_average();
    let preload_secs = rig.preload_secs;
    let rss = rig.stop().await;
    println!("   load average (1 min): {load_before:.2} before, {load_after:.2} after");
    let (value, queries) = result?;
    Ok(Measured {
        value,
        conditions: Conditions {
            preload_secs,
            load_average: [load_before, load_after],
            rss: Rss::checked(options.prospects, rss.sync_service, rss.client_core),
        },
        queries,
    })
}

/// The 1-minute load average of the machine (0 when unknown).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// The runs and the floor of one size.
struct SizeRuns {
    runs: Vec<Runs>,
    floor: Floor,
}

async fn bench_size(
    rig: &Rig,
    nats: &async_nats::Client,
    size: usize,
    args: &BenchArgs,
) -> anyhow::Result<SizeRuns> {
    let runs = scenarios(rig, size, args, Some(args.change)).await?;
    let floor = floor(
        nats,
        &rig.sim_url,
        SIM_TOKEN,
        &rig.core_url,
        size,
        args.change,
        args.runs,
    )
    .await?;
    Ok(SizeRuns { runs, floor })
}

impl SizeRuns {
    fn into_result(self, size: usize, args: &BenchArgs, conditions: Conditions) -> SizeResult {
        let floor = &self.floor;
        let floor_initial =
            floor.fetch_parse.median + floor.copy_all.median + floor.publish_all.median;
        let floor_unchanged = floor.fetch_parse.median;
        let floor_changed =
            floor.fetch_parse.median + floor.copy_changed.median + floor.publish_changed.median;
        let first_import = FirstImport::of(self.runs.first().map_or(&[][..], |r| &r.e2e));
        let scenarios = self
            .runs
            .into_iter()
            .zip([floor_initial, floor_unchanged, floor_changed])
            .enumerate()
            .map(|(index, (r, floor))| {
                Scenario::new(
                    index,
                    r.name,
                    size,
                    stat(&r.sync),
                    stat(&r.e2e),
                    floor,
                    r.counts,
                )
            })
            .collect();
        SizeResult {
            prospects: size,
            other_clients: args.other_clients,
            batch_size: args.batch,
            scenarios,
            first_import,
            floor: self.floor,
            conditions,
        }
    }
}

/// The times of one scenario, in run order.
struct Runs {
    name: &'static str,
    sync: Vec<f64>,
    e2e: Vec<f64>,
    counts: [i32; 4],
}

impl Runs {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            sync: vec![],
            e2e: vec![],
            counts: [0; 4],
        }
    }

    /// A run whose end to end is the call's wall time.
    fn push(&mut self, secs: f64, log: &WinLeadPlusSyncLog) {
        self.sync.push(secs);
        self.e2e.push(secs);
        self.counts = counts(log);
    }
}

/// `--runs` times, each in a fresh organisation: the initial sync, then, with `change`, the
/// unchanged re-sync and the re-sync after that share changed.
async fn scenarios(
    rig: &Rig,
    size: usize,
    args: &BenchArgs,
    change: Option<f64>,
) -> anyhow::Result<Vec<Runs>> {
    // One organisation per run, all in the bench caller's token.
    let organisations: Vec<Uuid> = (0..args.runs).map(|_| Uuid::new_v4()).collect();
    let sync = rig.sync_client(&organisations).await?;
    let sim_url = &rig.sim_url;
    let core_metrics = rig.core_metrics_url();
    let http = reqwest::Client::new();
    let mut initial = Runs::new("initial sync");
    let mut unchanged = Runs::new("re-sync, unchanged");
    let mut changed = Runs::new("re-sync, 10% changed");
    let applied = || async {
        let text = http
            .get(&core_metrics)
            .send()
            .await
            .context("client-core's metrics")?
            .text()
            .await?;
        Ok::<u64, anyhow::Error>(metric(
            &text,
            r#"core_events_total{kind="update",outcome="applied"}"#,
        ))
    };
    for (run, &org) in organisations.iter().enumerate() {
        sync.clone()
            .save_config(UpdateWinLeadPlusConfigRequest {
                organisation_id: Some(org.to_string()),
                api_endpoint: Some(format!("{sim_url}/api/prospects")),
                api_token: Some(SIM_TOKEN.to_owned()),
                enabled: Some(true),
                ..Default::default()
            })
            .await
            .context("SaveConfig")?;

        let (secs, log) = timed_sync(&sync, org).await?;
        check(&log, size)?;
        initial.push(secs, &log);
        let Some(change) = change else {
            println!("   run {}: initial {secs:.3} s", run + 1);
            continue;
        };

        let (secs, log) = timed_sync(&sync, org).await?;
        check(&log, size)?;
        unchanged.push(secs, &log);

        let seed = 1000 + run as u64;
        http.post(format!("{sim_url}/admin/mutate"))
            .json(&serde_json::json!({"fraction": change, "seed": seed}))
            .send()
            .await?
            .error_for_status()?;
        let before = applied().await?;
        let started = Instant::now();
        let (secs, log) = timed_sync(&sync, org).await?;
        check(&log, size)?;
        let wanted = before + u64::try_from(log.updated).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(300);
        while applied().await? < wanted {
            if Instant::now() > deadline {
                bail!("client-core did not apply the updates within 300 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        changed.sync.push(secs);
        changed.e2e.push(started.elapsed().as_secs_f64());
        changed.counts = counts(&log);
        println!(
            "   run {}: initial {:.3} s, unchanged {:.3} s, changed {:.3} s (end to end {:.3} s)",
            run + 1,
            initial.sync[run],
            unchanged.sync[run],
            secs,
            changed.e2e[run]
        );
    }
    Ok(if change.is_some() {
        vec![initial, unchanged, changed]
    } else {
        vec![initial]
    })
}

async fn timed_sync(
    sync: &WinLeadPlusSyncServiceClient<Authorized>,
    org: Uuid,
) -> anyhow::Result<(f64, WinLeadPlusSyncLog)> {
    let started = Instant::now();
    let response = sync
        .clone()
        .sync_prospects(SyncProspectsRequest {
            organisation_id: org.to_string(),
            dry_run: false,
            force_archive: false,
        })
        .await?
        .into_inner();
    let secs = started.elapsed().as_secs_f64();
    let log = response.sync_log.context("no sync log")?;
    Ok((secs, log))
}

fn check(log: &WinLeadPlusSyncLog, size: usize) -> anyhow::Result<()> {
    if log.status != "SUCCESS" || usize::try_from(log.total_prospects).ok() != Some(size) {
        bail!(
            "sync {} with {} of {size} prospects: {:?}",
            log.status,
            log.total_prospects,
            log.errors.first()
        );
    }
    Ok(())
}

fn counts(log: &WinLeadPlusSyncLog) -> [i32; 4] {
    [log.created, log.updated, log.skipped, log.failed]
}

/// The floor: what the hardware needs for the same payload, measured now.
async fn floor(
    nats: &async_nats::Client,
    sim_url: &str,
    token: &str,
    core_url: &str,
    size: usize,
    change: f64,
    runs: usize,
) -> anyhow::Result<Floor> {
    let http = reqwest::Client::new();
    let changed = ((size as f64) * change).round() as usize;
    let mut fetch_parse = Vec::new();
    let mut body_bytes = 0;
    let mut prospects: Vec<Value> = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let body = http
            .get(format!("{sim_url}/api/prospects"))
            .bearer_auth(token)
            .send()
            .await?
            .bytes()
            .await?;
        prospects = serde_json::from_slice(&body)?;
        fetch_parse.push(started.elapsed().as_secs_f64());
        body_bytes = body.len() as u64;
    }

    // The client rows, as COPY text, built before timing.
    let mut rows: Vec<String> = Vec::with_capacity(prospects.len());
    let mut messages: Vec<Vec<u8>> = Vec::with_capacity(prospects.len());
    let org = Uuid::new_v4();
    for p in &prospects {
        let Ok(m) = mapper::map_prospect(p) else {
            continue;
        };
        let c = &m.client;
        let field = |v: &Option<String>| v.as_deref().map_or_else(|| "\\N".to_owned(), copy_escape);
        rows.push(format!(
            "{org}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\tACTIF\t{}\t{}\n",
            copy_escape(&c.type_client),
            copy_escape(&c.nom),
            copy_escape(&c.prenom),
            field(&c.telephone),
            field(&c.email),
            field(&c.iban),
            copy_escape(&c.compte_code),
            mapper::SOURCE,
            m.external_id
        ));
        // As large as an update event: the mapped client's fields.
        messages.push(serde_json::to_vec(&m.client)?);
    }
    drop(prospects);
    let message_bytes = messages.iter().map(Vec::len).sum::<usize>() / messages.len().max(1);

    eprintln!(
        "   floor: fetch + parse {:.3} s; COPY and publish of {} rows",
        stat(&fetch_parse).median,
        rows.len()
    );
    let connecting = tokio_postgres::connect(core_url, tokio_postgres::NoTls);
    let (client, connection) = tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .context("floor: connecting to crm_core timed out")?
        .context("floor: cannot connect to crm_core")?;
    let conn_task = tokio::spawn(connection);
    let mut copy_all = Vec::new();
    let mut copy_changed = Vec::new();
    for _ in 0..runs {
        copy_all.push(copy_rows(&client, &rows).await?);
        copy_changed.push(copy_rows(&client, &rows[..changed.min(rows.len())]).await?);
    }
    drop(client);
    conn_task.abort();
    eprintln!("   floor: COPY {:.3} s", stat(&copy_all).median);

    let js = async_nats::jetstream::new(nats.clone());
    let subject = format!("bench-floor-{}", Uuid::new_v4().simple());
    let stream_name = format!("BENCHFLOOR_{}", Uuid::new_v4().simple());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream_name.clone(),
        subjects: vec![subject.clone()],
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("floor: cannot create a stream: {e}"))?;
    let mut publish_all = Vec::new();
    let mut publish_changed = Vec::new();
    for _ in 0..runs {
        publish_all.push(publish(&js, &subject, &messages).await?);
        publish_changed
            .push(publish(&js, &subject, &messages[..changed.min(messages.len())]).await?);
    }
    eprintln!("   floor: publish {:.3} s", stat(&publish_all).median);
    let _deleted =
        tokio::time::timeout(Duration::from_secs(10), js.delete_stream(&stream_name)).await;
    Ok(Floor {
        fetch_parse: stat(&fetch_parse),
        copy_all: stat(&copy_all),
        publish_all: stat(&publish_all),
        copy_changed: stat(&copy_changed),
        publish_changed: stat(&publish_changed),
        body_bytes,
        message_bytes,
    })
}

fn copy_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

async fn copy_rows(client: &tokio_postgres::Client, rows: &[String]) -> anyhow::Result<f64> {
    use futures::SinkExt;
    client
        .batch_execute(
            "DROP TABLE IF EXISTS bench_scratch; \
             CREATE TEMP TABLE bench_scratch (organisation_id uuid, type_client text, nom text, prenom text, \
               telephone text, email text, iban text, compte_code text, statut text, source text, external_id text)",
        )
        .await?;
    let started = Instant::now();
    let sink = client.copy_in("COPY bench_scratch FROM STDIN").await?;
    let mut sink = std::pin::pin!(sink);
    let mut buffer = String::with_capacity(1 << 20);
    for row in rows {
        buffer.push_str(row);
        if buffer.len() > (1 << 20) {
            sink.send(bytes::Bytes::from(std::mem::take(&mut buffer)))
                .await?;
        }
    }
    if !buffer.is_empty() {
        sink.send(bytes::Bytes::from(buffer)).await?;
    }
    sink.as_mut().finish().await?;
    Ok(started.elapsed().as_secs_f64())
}

async fn publish(
    js: &async_nats::jetstream::Context,
    subject: &str,
    messages: &[Vec<u8>],
) -> anyhow::Result<f64> {
    let started = Instant::now();
    // Acks awaited per window of 1,000, as sync-service does per batch (the client bounds
    // the acks in flight).
    for window in messages.chunks(1000) {
        let mut acks = Vec::with_capacity(window.len());
        for m in window {
            acks.push(
                js.publish(subject.to_owned(), m.clone().into())
                    .await
                    .map_err(|e| anyhow::anyhow!("floor publish: {e}"))?,
            );
        }
        for ack in
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await
        {
            ack.map_err(|e| anyhow::anyhow!("floor ack: {e}"))?;
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn args(line: &[&str]) -> BenchArgs {
        Cli::try_parse_from(std::iter::once("bench").chain(line.iter().copied()))
            .unwrap()
            .bench
    }

    #[test]
    fn the_growth_points_default_to_the_issues_and_can_be_skipped() {
        assert_eq!(args(&[]).growth_points(), [0, 100_000, 1_000_000]);
        assert_eq!(args(&["--growth", "0, 20000"]).growth_points(), [0, 20_000]);
        assert!(args(&["--growth", ""]).growth_points().is_empty());
        assert!(args(&["--no-growth"]).growth_points().is_empty());
        assert!(Cli::try_parse_from(["bench", "--growth", "0,x"]).is_err());
    }

    #[test]
    fn search_and_list_run_on_the_largest_preload_a_growth_points_on_a_tie() {
        let on = |line: &[&str]| QueriesOn::choose(&args(line));
        assert_eq!(on(&[]), QueriesOn::GrowthPoint(2));
        assert_eq!(on(&["--growth", ""]), QueriesOn::Size(1));
        assert_eq!(on(&["--no-growth", "--sizes", "2000"]), QueriesOn::Size(0));
        assert_eq!(
            on(&["--other-clients", "10000", "--growth", "0,20000"]),
            QueriesOn::GrowthPoint(1)
        );
        assert_eq!(
            on(&["--growth", "100000,100000"]),
            QueriesOn::GrowthPoint(0)
        );
        assert_eq!(
            on(&["--other-clients", "0", "--growth", "0"]),
            QueriesOn::Nowhere
        );
    }

    #[test]
    fn options_that_measure_nothing_are_refused() {
        assert!(args(&["--runs", "0"]).check().is_err());
        assert!(args(&["--sizes", "0"]).check().is_err());
        assert!(args(&[]).check().is_ok());
    }
}
