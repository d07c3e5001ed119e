//! What one measurement runs against: two scratch databases on the server of the usual
//! URLs (crm_core pre-loaded with other organisations' clients), and `winleadplus-sim`,
//! `client-core` and `sync-service` started as processes on free loopback ports, on NATS
//! subjects and a stream of their own. Every size and every growth point gets a rig of its
//! own, so each one starts from freshly created databases.

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fault_tests::nats::free_port;
use proto::tonic::transport::Channel;
use proto::winleadplus::win_lead_plus_sync_service_client::WinLeadPlusSyncServiceClient;
use service_kit::auth::mint::{Bearer, hs256_token};
use uuid::Uuid;

use crate::stack::{Authorized, database_url, nats_args};

/// Organisations the pre-loaded clients belong to.
pub(super) const OTHER_ORGANISATIONS: usize = 50;

/// The token the simulator expects from sync-service.
pub(super) const SIM_TOKEN: &str = "bench-token";

/// What to start.
pub(super) struct RigOptions<'a> {
    /// The release binaries.
    pub(super) bin: &'a Path,
    /// Where the services' logs go.
    pub(super) out: &'a Path,
    /// The simulator's generated prospects.
    pub(super) prospects: usize,
    /// Clients of [`OTHER_ORGANISATIONS`] other organisations written into crm_core first.
    pub(super) other_clients: usize,
    /// `SYNC_BATCH_SIZE` of sync-service.
    pub(super) batch: u16,
    /// Names the log files (`<service>-<label>.log`).
    pub(super) label: String,
}

/// Peak RSS (`VmHWM`) of each service, MB.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PeakRss {
    pub(super) sync_service: f64,
    pub(super) client_core: f64,
}

/// The running rig. Stop it with [`Rig::stop`], which also drops its databases.
pub(super) struct Rig {
    nats: async_nats::Client,
    processes: Processes,
    pub(super) core_url: String,
    commercial_url: String,
    stream: String,
    secret: String,
    pub(super) sim_url: String,
    core_grpc: u16,
    core_http: u16,
    sync_grpc: u16,
    /// The organisations of the pre-loaded clients (client `i` belongs to `[i % 50]`).
    pub(super) other_organisations: Vec<Uuid>,
    /// How long the pre-load took, seconds.
    pub(super) preload_secs: f64,
}

impl Rig {
    /// Creates and migrates the databases, pre-loads crm_core, starts the three processes
    /// and waits until they are ready. On failure, whatever was started is stopped and the
    /// databases are dropped.
    pub(super) async fn start(
        nats: &async_nats::Client,
        options: &RigOptions<'_>,
    ) -> anyhow::Result<Self> {
        let tag = Uuid::new_v4().simple().to_string()[..10].to_owned();
        let mut rig = Self {
            nats: nats.clone(),
            processes: Processes { children: vec![] },
            // Fresh databases each time, on the server of the usual URLs: every measurement
            // starts from the same state, whatever earlier runs or demos left in crm_core.
            core_url: scratch_url(
                &database_url(crm_db::Database::Core),
                &format!("bench_core_{tag}"),
            )?,
            commercial_url: scratch_url(
                &database_url(crm_db::Database::Commercial),
                &format!("bench_commercial_{tag}"),
            )?,
            stream: format!("BENCH_{tag}"),
            // The services check callers as in production; the bench signs its own tokens.
            secret: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
            sim_url: String::new(),
            core_grpc: free_port()?,
            core_http: free_port()?,
            sync_grpc: free_port()?,
            other_organisations: vec![],
            preload_secs: 0.0,
        };
        if let Err(e) = rig.launch(options, &tag).await {
            rig.stop().await;
            return Err(e);
        }
        Ok(rig)
    }

    async fn launch(&mut self, options: &RigOptions<'_>, tag: &str) -> anyhow::Result<()> {
        for (url, db) in [
            (&self.core_url, crm_db::Database::Core),
            (&self.commercial_url, crm_db::Database::Commercial),
        ] {
            crm_db::ensure_database(url).await?;
            crm_db::run_pending(url, db).await?;
        }
        let started = Instant::now();
        let (organisations, vacuum_secs) =
            preload_other_clients(&self.core_url, options.other_clients)
                .await
                .context("cannot pre-load the other organisations' clients")?;
        self.other_organisations = organisations;
        self.preload_secs = started.elapsed().as_secs_f64();
        if options.other_clients > 0 {
            println!(
                "   crm_core pre-loaded with {} clients of {OTHER_ORGANISATIONS} other organisations in {:.1} s (VACUUM ANALYZE {vacuum_secs:.1} s)",
                options.other_clients, self.preload_secs
            );
        }

        let (sim_port, sync_http) = (free_port()?, free_port()?);
        self.sim_url = format!("http://127.0.0.1:{sim_port}");
        let log = |name: &str| -> anyhow::Result<Stdio> {
            let path = options.out.join(format!("{name}-{}.log", options.label));
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            Ok(Stdio::from(file))
        };
        let rust_log = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key);
        let prefix = format!("bench-{tag}");
        let nats_url = nats_args()?.url;

        let mut sim = Command::new(options.bin.join("winleadplus-sim"));
        sim.env("SIM_ADDR", format!("127.0.0.1:{sim_port}"))
            .env("SIM_TOKEN", SIM_TOKEN)
            .env("SIM_GENERATE", options.prospects.to_string())
            .env("SIM_SEED", "42");
        self.processes
            .spawn("winleadplus-sim", sim, log("winleadplus-sim")?)?;

        let mut core = Command::new(options.bin.join("client-core"));
        core.env("CORE_GRPC_ADDR", format!("127.0.0.1:{}", self.core_grpc))
            .env("CORE_HTTP_ADDR", format!("127.0.0.1:{}", self.core_http))
            .env("CORE_DATABASE_URL", &self.core_url)
            .env("NATS_URL", &nats_url)
            .env("NATS_SUBJECT_PREFIX", &prefix)
            .env("CORE_STREAM", &self.stream)
            .env("AUTH_JWT_SECRET", &self.secret)
            .env("RUST_LOG", &rust_log);
        self.processes
            .spawn("client-core", core, log("client-core")?)?;

        let mut sync = Command::new(options.bin.join("sync-service"));
        sync.env("SYNC_GRPC_ADDR", format!("127.0.0.1:{}", self.sync_grpc))
            .env("SYNC_HTTP_ADDR", format!("127.0.0.1:{sync_http}"))
            .env("COMMERCIAL_DATABASE_URL", &self.commercial_url)
            .env("NATS_URL", &nats_url)
            .env("NATS_SUBJECT_PREFIX", &prefix)
            .env(
                "WINLEADPLUS_API_URL",
                format!("{}/api/prospects", self.sim_url),
            )
            // The simulator speaks http on loopback.
            .env("WINLEADPLUS_ALLOW_HTTP_HOSTS", "127.0.0.1")
            .env("TOKEN_ENCRYPTION_KEY", &key)
            .env("AUTH_JWT_SECRET", &self.secret)
            .env("SYNC_SCHEDULER_ENABLED", "false")
            .env("SYNC_BATCH_SIZE", options.batch.to_string())
            .env("RUST_LOG", &rust_log);
        self.processes
            .spawn("sync-service", sync, log("sync-service")?)?;

        wait_ready(&format!("{}/healthz", self.sim_url)).await?;
        wait_ready(&format!("http://127.0.0.1:{}/readyz", self.core_http)).await?;
        wait_ready(&format!("http://127.0.0.1:{sync_http}/readyz")).await?;
        Ok(())
    }

    /// A bearer token of this rig's secret for `organisations`.
    fn bearer(&self, organisations: &[Uuid]) -> anyhow::Result<Bearer> {
        Ok(Bearer::new(&hs256_token(
            &self.secret,
            "xtask-bench",
            organisations,
            Duration::from_secs(24 * 3600),
        )?)?)
    }

    /// sync-service, called on behalf of `organisations`.
    pub(super) async fn sync_client(
        &self,
        organisations: &[Uuid],
    ) -> anyhow::Result<WinLeadPlusSyncServiceClient<Authorized>> {
        let channel = connect(self.sync_grpc).await?;
        Ok(
            WinLeadPlusSyncServiceClient::with_interceptor(channel, self.bearer(organisations)?)
                .max_decoding_message_size(64 * 1024 * 1024),
        )
    }

    /// client-core's gRPC server, called on behalf of `organisations`.
    pub(super) async fn core_channel(&self, organisations: &[Uuid]) -> anyhow::Result<Authorized> {
        let channel = connect(self.core_grpc).await?;
        Ok(Authorized::new(channel, self.bearer(organisations)?))
    }

    /// client-core's Prometheus metrics.
    pub(super) fn core_metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.core_http)
    }

    /// Reads the services' peak RSS, stops them, removes the stream and drops the databases.
    pub(super) async fn stop(self) -> PeakRss {
        eprintln!("   stopping the processes");
        let rss = PeakRss {
            sync_service: peak_rss_mb(self.processes.pid("sync-service")),
            client_core: peak_rss_mb(self.processes.pid("client-core")),
        };
        self.processes.stop();
        let js = async_nats::jetstream::new(self.nats.clone());
        let _deleted =
            tokio::time::timeout(Duration::from_secs(10), js.delete_stream(&self.stream)).await;
        for url in [&self.core_url, &self.commercial_url] {
            if let Err(e) = drop_database(url).await {
                println!(
                    "   cannot drop {}: {e:#}",
                    service_kit::urls::mask_credentials(url)
                );
            }
        }
        rss
    }
}

async fn connect(port: u16) -> anyhow::Result<Channel> {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))?
        .connect()
        .await
        .with_context(|| format!("cannot connect to 127.0.0.1:{port}"))
}

struct Processes {
    children: Vec<(&'static str, Child)>,
}

impl Processes {
    /// Starts `command` with JSON logs to `stderr`.
    fn spawn(
        &mut self,
        name: &'static str,
        mut command: Command,
        stderr: Stdio,
    ) -> anyhow::Result<()> {
        let child = command
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        self.children.push((name, child));
        Ok(())
    }

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

/// Writes `count` clients of [`OTHER_ORGANISATIONS`] other organisations into crm_core by
/// SQL, most imported from WinLeadPlus and some entered by hand (the manual ones feed the
/// linking rule's index), then vacuums and analyses the table as autovacuum would have on a
/// long-running database: that sets the visibility map (index-only counts) and empties the
/// trigram index's pending list, and keeps autovacuum from starting in the middle of the runs.
/// Client `i` (from 1) belongs to organisation `i % 50` of the answer, is named
/// `Nom<i % 9973> Prenom<i % 997>`, has the phone `06<i, 8 digits>` and the e-mail
/// `client<i>@example.fr`.
/// Returns the organisations and how long `VACUUM ANALYZE` took, seconds.
async fn preload_other_clients(core_url: &str, count: usize) -> anyhow::Result<(Vec<Uuid>, f64)> {
    let organisations: Vec<Uuid> = (0..OTHER_ORGANISATIONS).map(|_| Uuid::new_v4()).collect();
    if count == 0 {
        return Ok((organisations, 0.0));
    }
    let (client, connection) = tokio_postgres::connect(core_url, tokio_postgres::NoTls)
        .await
        .context("cannot connect to the bench's crm_core")?;
    let connection = tokio::spawn(connection);
    let array = organisations
        .iter()
        .map(|o| format!("'{o}'"))
        .collect::<Vec<_>>()
        .join(",");
    let count = i64::try_from(count).context("--other-clients is too large")?;
    // In slices, so that a million rows do not make one huge transaction.
    let slice: i64 = 100_000;
    let mut from = 1;
    while from <= count {
        let to = (from + slice - 1).min(count);
        // `telephone_normalized` as client-core writes it (`mapper::normalize_phone`).
        client
            .batch_execute(&format!(
                "INSERT INTO clientbases (organisation_id, type_client, nom, prenom, telephone, \
                   telephone_normalized, email, statut, source, external_source, external_id, \
                   canal_acquisition, iban, numss, source_version) \
                 SELECT (ARRAY[{array}]::uuid[])[1 + i % {n}], 'PARTICULIER', \
                   'Nom' || (i % 9973), 'Prenom' || (i % 997), \
                   '06' || lpad((i % 100000000)::text, 8, '0'), \
                   '06' || lpad((i % 100000000)::text, 8, '0'), \
                   'client' || i || '@example.fr', 'ACTIF', \
                   CASE WHEN i % 10 = 0 THEN NULL ELSE 'WinLeadPlus' END, \
                   CASE WHEN i % 10 = 0 THEN NULL ELSE 'WinLeadPlus' END, \
                   CASE WHEN i % 10 = 0 THEN NULL ELSE (1000000 + i)::text END, \
                   'winleadplus:' || i, 'FR7630006000011234567890189', '184127512345678', 1 \
                 FROM generate_series({from}, {to}) AS i",
                n = OTHER_ORGANISATIONS,
            ))
            .await?;
        from = to + 1;
    }
    let started = Instant::now();
    client.batch_execute("VACUUM ANALYZE clientbases").await?;
    let vacuum_secs = started.elapsed().as_secs_f64();
    drop(client);
    let _closed = connection.await;
    Ok((organisations, vacuum_secs))
}

/// The same server and credentials as `url`, another database.
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
