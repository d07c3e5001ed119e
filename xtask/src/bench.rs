//! `cargo xtask bench`: end-to-end throughput and memory of a sync, against the hardware
//! floor measured in the same run on the same payload.
//!
//! `cargo xtask bench` builds the release binaries and hands over to the release `xtask
//! bench-run`, which, for each size: starts `winleadplus-sim`, `client-core` and
//! `sync-service` as separate processes (so each one's peak RSS, `VmHWM`, can be read),
//! pre-loads crm_core with `--other-clients` clients of 50 other organisations (by SQL, as
//! production's crm_core holds everyone else's clients), runs three scenarios three times (initial sync into an empty organisation, re-sync
//! unchanged, re-sync after 10 % changed), measures the floor (fetch + parse to
//! `Vec<Value>`, `COPY` of the client rows into a scratch table, JetStream publish of as many
//! messages of the same size), and writes `target/bench/results.json` and a table.

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use proto::tonic::transport::Channel;
use proto::winleadplus::win_lead_plus_sync_service_client::WinLeadPlusSyncServiceClient;
use proto::winleadplus::{
    SyncProspectsRequest, UpdateWinLeadPlusConfigRequest, WinLeadPlusSyncLog,
};
use serde::Serialize;
use serde_json::Value;
use service_kit::auth::mint::{Bearer, hs256_token};
use uuid::Uuid;

use crate::stack::{Authorized, database_url, metric, nats_args, prerequisites};

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
}

/// `cargo xtask bench`: builds in release, then runs the release xtask.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
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
    let sizes: Vec<String> = args.sizes.iter().map(ToString::to_string).collect();
    let status = Command::new(root.join("target/release/xtask"))
        .current_dir(&root)
        .args([
            "bench-run",
            "--sizes",
            &sizes.join(","),
            "--runs",
            &args.runs.to_string(),
        ])
        .args([
            "--batch",
            &args.batch.to_string(),
            "--change",
            &args.change.to_string(),
            "--other-clients",
            &args.other_clients.to_string(),
        ])
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

#[derive(Debug, Clone, Serialize)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

fn stat(values: &[f64]) -> Stat {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = if v.is_empty() { 0.0 } else { v[v.len() / 2] };
    Stat {
        median,
        min: v.first().copied().unwrap_or(0.0),
        max: v.last().copied().unwrap_or(0.0),
    }
}

#[derive(Debug, Clone, Serialize)]
struct Scenario {
    name: &'static str,
    /// `SyncProspects` wall time, seconds.
    sync: Stat,
    /// From the call until client-core applied every create and update, seconds.
    end_to_end: Stat,
    /// Prospects per second, end to end (median).
    prospects_per_second: f64,
    /// The floor of this scenario, seconds (median).
    floor: f64,
    /// end_to_end / floor (medians).
    ratio: f64,
    /// created, updated, skipped, failed of the last run.
    counts: [i32; 4],
}

#[derive(Debug, Clone, Serialize)]
struct Floor {
    fetch_parse: Stat,
    copy_all: Stat,
    publish_all: Stat,
    copy_changed: Stat,
    publish_changed: Stat,
    body_bytes: u64,
    message_bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
struct SizeResult {
    prospects: usize,
    /// Clients of other organisations in crm_core before the runs.
    other_clients: usize,
    batch_size: u16,
    scenarios: Vec<Scenario>,
    floor: Floor,
    peak_rss_mb_sync_service: f64,
    peak_rss_mb_client_core: f64,
}

/// The release side: everything measured here.
pub(crate) async fn run_release(args: BenchArgs) -> anyhow::Result<()> {
    let nats = prerequisites().await?;
    let root = repo_root();
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let mut results = Vec::new();
    for &size in &args.sizes {
        println!("\n== {size} prospects ==");
        results.push(bench_size(&root, &out, &nats, size, &args).await?);
    }
    let json = serde_json::to_string_pretty(&results)?;
    std::fs::write(out.join("results.json"), json)?;
    print_table(&results);
    println!("\nResults written to target/bench/results.json");
    Ok(())
}

struct Processes {
    children: Vec<(&'static str, Child)>,
}

impl Processes {
    fn pid(&self, name: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c.id())
    }

    fn stop(mut self) {
        for (_, child) in &mut self.children {
            let _sent = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for (name, child) in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => {
                        println!("   {name} did not stop in time; killed");
                        let _killed = child.kill();
                        break;
                    }
                }
            }
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn peak_rss_mb(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn wait_ready(url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} not ready after 120 s")
}

#[allow(clippy::too_many_lines)]
async fn bench_size(
    root: &Path,
    out: &Path,
    nats: &async_nats::Client,
    size: usize,
    args: &BenchArgs,
) -> anyhow::Result<SizeResult> {
    let bin = root.join("target/release");
    let tag = Uuid::new_v4().simple().to_string()[..10].to_owned();
    // Fresh databases for each size, on the server of the usual URLs: every run starts from
    // the same state, whatever earlier runs or demos left in crm_core.
    let core_url = scratch_url(
        &database_url(crm_db::Database::Core),
        &format!("bench_core_{tag}"),
    )?;
    let commercial_url = scratch_url(
        &database_url(crm_db::Database::Commercial),
        &format!("bench_commercial_{tag}"),
    )?;
    for (url, db) in [
        (&core_url, crm_db::Database::Core),
        (&commercial_url, crm_db::Database::Commercial),
    ] {
        crm_db::ensure_database(url).await?;
        crm_db::run_pending(url, db).await?;
    }
    preload_other_clients(&core_url, args.other_clients).await?;
    let token = "bench-token";
    let (sim_port, core_grpc, core_http, sync_grpc, sync_http) = (
        free_port()?,
        free_port()?,
        free_port()?,
        free_port()?,
        free_port()?,
    );
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let log = |name: &str| -> anyhow::Result<Stdio> {
        Ok(Stdio::from(std::fs::File::create(
            out.join(format!("{name}-{size}.log")),
        )?))
    };
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    // The services check callers as in production; the bench signs its own tokens.
    let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key);
    let prefix = format!("bench-{tag}");
    let stream = format!("BENCH_{tag}");

    let mut children = Vec::new();
    children.push((
        "winleadplus-sim",
        Command::new(bin.join("winleadplus-sim"))
            .env("SIM_ADDR", format!("127.0.0.1:{sim_port}"))
            .env("SIM_TOKEN", token)
            .env("SIM_GENERATE", size.to_string())
            .env("SIM_SEED", "42")
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(log("winleadplus-sim")?)
            .spawn()
            .context("cannot start winleadplus-sim")?,
    ));
    children.push((
        "client-core",
        Command::new(bin.join("client-core"))
            .env("CORE_GRPC_ADDR", format!("127.0.0.1:{core_grpc}"))
            .env("CORE_HTTP_ADDR", format!("127.0.0.1:{core_http}"))
            .env("CORE_DATABASE_URL", &core_url)
            .env("NATS_URL", nats_args()?.url)
            .env("NATS_SUBJECT_PREFIX", &prefix)
            .env("CORE_STREAM", &stream)
            .env("AUTH_JWT_SECRET", &secret)
            .env("LOG_FORMAT", "json")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdout(Stdio::null())
            .stderr(log("client-core")?)
            .spawn()
            .context("cannot start client-core")?,
    ));
    children.push((
        "sync-service",
        Command::new(bin.join("sync-service"))
            .env("SYNC_GRPC_ADDR", format!("127.0.0.1:{sync_grpc}"))
            .env("SYNC_HTTP_ADDR", format!("127.0.0.1:{sync_http}"))
            .env("COMMERCIAL_DATABASE_URL", &commercial_url)
            .env("NATS_URL", nats_args()?.url)
            .env("NATS_SUBJECT_PREFIX", &prefix)
            .env("WINLEADPLUS_API_URL", format!("{sim_url}/api/prospects"))
            // The simulator speaks http on loopback.
            .env("WINLEADPLUS_ALLOW_HTTP_HOSTS", "127.0.0.1")
            .env("TOKEN_ENCRYPTION_KEY", &key)
            .env("AUTH_JWT_SECRET", &secret)
            .env("SYNC_SCHEDULER_ENABLED", "false")
            .env("SYNC_BATCH_SIZE", args.batch.to_string())
            .env("LOG_FORMAT", "json")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdout(Stdio::null())
            .stderr(log("sync-service")?)
            .spawn()
            .context("cannot start sync-service")?,
    ));
    let processes = Processes { children };
    let result = async {
        wait_ready(&format!("{sim_url}/healthz")).await?;
        wait_ready(&format!("http://127.0.0.1:{core_http}/readyz")).await?;
        wait_ready(&format!("http://127.0.0.1:{sync_http}/readyz")).await?;
        let channel = Channel::from_shared(format!("http://127.0.0.1:{sync_grpc}"))?
            .connect()
            .await?;
        // One organisation per run, all in the bench caller's token.
        let organisations: Vec<Uuid> = (0..args.runs).map(|_| Uuid::new_v4()).collect();
        let bearer = Bearer::new(&hs256_token(
            &secret,
            "xtask-bench",
            &organisations,
            Duration::from_secs(24 * 3600),
        )?)?;
        let sync = WinLeadPlusSyncServiceClient::with_interceptor(channel, bearer)
            .max_decoding_message_size(64 * 1024 * 1024);
        let core_metrics = format!("http://127.0.0.1:{core_http}/metrics");
        let scenarios = scenarios(
            &sync,
            &organisations,
            &sim_url,
            token,
            &core_metrics,
            size,
            args,
        )
        .await?;
        let floor = floor(
            nats,
            &sim_url,
            token,
            &core_url,
            size,
            args.change,
            args.runs,
        )
        .await?;
        Ok::<_, anyhow::Error>((scenarios, floor))
    }
    .await;
    eprintln!("   stopping the processes");
    let rss_sync = peak_rss_mb(processes.pid("sync-service"));
    let rss_core = peak_rss_mb(processes.pid("client-core"));
    processes.stop();
    let js = async_nats::jetstream::new(nats.clone());
    let _deleted = tokio::time::timeout(Duration::from_secs(10), js.delete_stream(&stream)).await;
    for url in [&core_url, &commercial_url] {
        if let Err(e) = drop_database(url).await {
            println!(
                "   cannot drop {}: {e:#}",
                service_kit::urls::mask_credentials(url)
            );
        }
    }
    let (runs, floor) = result?;

    let floor_initial = floor.fetch_parse.median + floor.copy_all.median + floor.publish_all.median;
    let floor_unchanged = floor.fetch_parse.median;
    let floor_changed =
        floor.fetch_parse.median + floor.copy_changed.median + floor.publish_changed.median;
    let scenarios = runs
        .into_iter()
        .zip([floor_initial, floor_unchanged, floor_changed])
        .map(|(r, floor)| {
            let e2e = stat(&r.e2e);
            Scenario {
                name: r.name,
                sync: stat(&r.sync),
                prospects_per_second: size as f64 / e2e.median.max(1e-9),
                ratio: e2e.median / floor.max(1e-9),
                end_to_end: e2e,
                floor,
                counts: r.counts,
            }
        })
        .collect();
    Ok(SizeResult {
        prospects: size,
        other_clients: args.other_clients,
        batch_size: args.batch,
        scenarios,
        floor,
        peak_rss_mb_sync_service: rss_sync,
        peak_rss_mb_client_core: rss_core,
    })
}

struct Runs {
    name: &'static str,
    sync: Vec<f64>,
    e2e: Vec<f64>,
    counts: [i32; 4],
}

async fn scenarios(
    sync: &WinLeadPlusSyncServiceClient<Authorized>,
    organisations: &[Uuid],
    sim_url: &str,
    token: &str,
    core_metrics: &str,
    size: usize,
    args: &BenchArgs,
) -> anyhow::Result<Vec<Runs>> {
    let http = reqwest::Client::new();
    let mut initial = Runs {
        name: "initial sync",
        sync: vec![],
        e2e: vec![],
        counts: [0; 4],
    };
    let mut unchanged = Runs {
        name: "re-sync, unchanged",
        sync: vec![],
        e2e: vec![],
        counts: [0; 4],
    };
    let mut changed = Runs {
        name: "re-sync, 10% changed",
        sync: vec![],
        e2e: vec![],
        counts: [0; 4],
    };
    let applied = || async {
        let text = http.get(core_metrics).send().await?.text().await?;
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
                api_token: Some(token.to_owned()),
                enabled: Some(true),
                ..Default::default()
            })
            .await?;

        let (secs, log) = timed_sync(sync, org).await?;
        check(&log, size)?;
        initial.sync.push(secs);
        initial.e2e.push(secs);
        initial.counts = counts(&log);

        let (secs, log) = timed_sync(sync, org).await?;
        check(&log, size)?;
        unchanged.sync.push(secs);
        unchanged.e2e.push(secs);
        unchanged.counts = counts(&log);

        let seed = 1000 + run as u64;
        http.post(format!("{sim_url}/admin/mutate"))
            .json(&serde_json::json!({"fraction": args.change, "seed": seed}))
            .send()
            .await?
            .error_for_status()?;
        let before = applied().await?;
        let started = Instant::now();
        let (secs, log) = timed_sync(sync, org).await?;
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
    Ok(vec![initial, unchanged, changed])
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

/// The same server and credentials as `url`, another database.
/// Organisations the pre-loaded clients belong to.
const OTHER_ORGANISATIONS: usize = 50;

/// Writes `count` clients of [`OTHER_ORGANISATIONS`] other organisations into crm_core by
/// SQL, most imported from WinLeadPlus and some entered by hand (the manual ones feed the
/// linking rule's index), then vacuums and analyses the table as autovacuum would have on a
/// long-running database: that sets the visibility map (index-only counts) and empties the
/// trigram index's pending list, and keeps autovacuum from starting in the middle of the runs.
async fn preload_other_clients(core_url: &str, count: usize) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let (client, connection) = tokio_postgres::connect(core_url, tokio_postgres::NoTls)
        .await
        .context("cannot connect to the bench's crm_core")?;
    let connection = tokio::spawn(connection);
    let organisations: Vec<String> = (0..OTHER_ORGANISATIONS)
        .map(|_| format!("'{}'", Uuid::new_v4()))
        .collect();
    let count = i64::try_from(count).context("--other-clients is too large")?;
    // In slices, so that a million rows do not make one huge transaction.
    let slice: i64 = 100_000;
    let mut from = 1;
    while from <= count {
        let to = (from + slice - 1).min(count);
        client
            .batch_execute(&format!(
                "INSERT INTO clientbases (organisation_id, type_client, nom, prenom, telephone,                    telephone_normalized, email, statut, source, external_source, external_id,                    canal_acquisition, iban, numss, source_version)                  SELECT (ARRAY[{orgs}]::uuid[])[1 + i % {n}], 'PARTICULIER',                    'Nom' || (i % 9973), 'Prenom' || (i % 997),                    '06' || lpad((i % 100000000)::text, 8, '0'),                    '06' || lpad((i % 100000000)::text, 8, '0'),                    'client' || i || '@example.fr', 'ACTIF',                    CASE WHEN i % 10 = 0 THEN NULL ELSE 'WinLeadPlus' END,                    CASE WHEN i % 10 = 0 THEN NULL ELSE 'WinLeadPlus' END,                    CASE WHEN i % 10 = 0 THEN NULL ELSE (1000000 + i)::text END,                    'winleadplus:' || i, 'FR7630006000011234567890189', '184127512345678', 1                  FROM generate_series({from}, {to}) AS i",
                orgs = organisations.join(","),
                n = OTHER_ORGANISATIONS,
            ))
            .await
            .context("cannot pre-load the other organisations' clients")?;
        from = to + 1;
    }
    client.batch_execute("VACUUM ANALYZE clientbases").await?;
    drop(client);
    let _closed = connection.await;
    println!(
        "   crm_core pre-loaded with {count} clients of {OTHER_ORGANISATIONS} other organisations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn scratch_url(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url)
        .with_context(|| format!("not a URL: {}", service_kit::urls::mask_credentials(url)))?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

/// Drops a scratch database (connected to the server's `postgres` database).
async fn drop_database(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url)?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    let admin = scratch_url(url, "postgres")?;
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    task.abort();
    Ok(())
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

fn print_table(results: &[SizeResult]) {
    if let Some(first) = results.first() {
        println!(
            "\ncrm_core held {} clients of {OTHER_ORGANISATIONS} other organisations before the runs.",
            first.other_clients
        );
    }
    println!(
        "\n| prospects | scenario | sync (median, min–max) | end to end (median, min–max) | prospects/s | floor | e2e ÷ floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in results {
        for s in &r.scenarios {
            println!(
                "| {} | {} | {:.3} s ({:.3}–{:.3}) | {:.3} s ({:.3}–{:.3}) | {:.0} | {:.3} s | {:.2} |",
                r.prospects,
                s.name,
                s.sync.median,
                s.sync.min,
                s.sync.max,
                s.end_to_end.median,
                s.end_to_end.min,
                s.end_to_end.max,
                s.prospects_per_second,
                s.floor,
                s.ratio
            );
        }
        println!(
            "| {} | peak RSS | sync-service {:.0} MB | client-core {:.0} MB | | floor parts: fetch+parse {:.3} s, COPY {:.3} s, publish {:.3} s | |",
            r.prospects,
            r.peak_rss_mb_sync_service,
            r.peak_rss_mb_client_core,
            r.floor.fetch_parse.median,
            r.floor.copy_all.median,
            r.floor.publish_all.median
        );
    }
}
