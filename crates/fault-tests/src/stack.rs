//! The product as processes for one test (or one soak): fresh crm_core and crm_commercial
//! databases (`crm_db::testing::TestDatabase`, dropped at the end), a subject prefix and an
//! update stream of its own, a `winleadplus-sim` serving generated prospects, and N replicas
//! of `client-core` and of `sync-service` on free loopback ports. Both services check
//! callers with an HS256 secret of the stack's own; [`Stack`]'s gRPC calls carry a token
//! minted for the organisation they name.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use crm_db::Database;
use crm_db::testing::TestDatabase;
use proto::tonic::service::interceptor::InterceptedService;
use proto::tonic::transport::Channel;
use proto::winleadplus::win_lead_plus_sync_service_client::WinLeadPlusSyncServiceClient;
use proto::winleadplus::{
    SyncProspectsRequest, UpdateWinLeadPlusConfigRequest, WinLeadPlusSyncLog,
};
use service_kit::auth::mint::{Bearer, hs256_token};
use uuid::Uuid;

use crate::binaries::Binaries;
use crate::check::{self, Checker};
use crate::nats::free_port;
use crate::process::{Process, ProcessSpec};
use crate::sim::SimAdmin;

/// The token the simulator expects.
pub const SIM_TOKEN: &str = "fault-tests-token";

/// What to start.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// A word for the log directory and messages (the test's name).
    pub label: String,
    /// `sync-service` processes.
    pub sync_replicas: usize,
    /// `client-core` processes.
    pub core_replicas: usize,
    /// Prospects the simulator generates at start.
    pub prospects: usize,
    /// The seed of the generated prospects.
    pub seed: u64,
    /// `SYNC_BATCH_SIZE`.
    pub batch_size: u16,
    /// `SYNC_LEASE_TIMEOUT_SECS` (5 at least).
    pub lease_timeout_secs: u64,
    /// `SYNC_CRON` with the scheduler on; `None`: the scheduler off.
    pub sync_cron: Option<String>,
    /// The NATS server; `None`: `NATS_URL`, else `nats://127.0.0.1:4222`.
    pub nats_url: Option<String>,
    /// `RUST_LOG` of the services.
    pub rust_log: String,
    /// More variables for every sync-service.
    pub sync_env: Vec<(String, String)>,
    /// More variables for every client-core.
    pub core_env: Vec<(String, String)>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            label: "stack".to_owned(),
            sync_replicas: 1,
            core_replicas: 1,
            prospects: 500,
            seed: 42,
            batch_size: 50,
            lease_timeout_secs: 5,
            sync_cron: None,
            nats_url: None,
            rust_log: std::env::var("FAULT_TESTS_RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            sync_env: Vec::new(),
            core_env: Vec::new(),
        }
    }
}

/// The running product. Dropping it kills its processes (the databases are dropped by
/// [`TestDatabase`]'s own drop); [`Stack::cleanup`] also removes the stream and the logs.
pub struct Stack {
    pub core_db: TestDatabase,
    pub commercial_db: TestDatabase,
    pub sim: Process,
    pub sim_admin: SimAdmin,
    pub cores: Vec<Process>,
    pub syncs: Vec<Process>,
    /// `NATS_SUBJECT_PREFIX` of both services.
    pub prefix: String,
    /// `CORE_STREAM`.
    pub stream: String,
    pub nats_url: String,
    /// The logs of the processes.
    pub dir: PathBuf,
    secret: String,
    /// gRPC port of each sync-service replica.
    sync_grpc: Vec<u16>,
    /// HTTP (ops) port of each client-core replica.
    core_http: Vec<u16>,
}

/// sync-service's gRPC client with a bearer token.
pub type SyncClient = WinLeadPlusSyncServiceClient<InterceptedService<Channel, Bearer>>;

impl Stack {
    /// Creates the databases and starts the simulator, the client-cores, then the
    /// sync-services; every process is ready when this returns.
    pub async fn start(binaries: &Binaries, options: StackOptions) -> anyhow::Result<Self> {
        service_kit::tls::install_default_provider();
        let core_db = TestDatabase::try_new(Database::Core)
            .await
            .context("cannot create crm_core's test database")?;
        let commercial_db = TestDatabase::try_new(Database::Commercial)
            .await
            .context("cannot create crm_commercial's test database")?;
        let tag = Uuid::new_v4().simple().to_string()[..12].to_owned();
        let dir = std::env::temp_dir().join(format!("fault-tests-{}-{tag}", options.label));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let prefix = format!("ft{tag}");
        let stream = format!("FT_{tag}");
        let nats_url = options.nats_url.clone().unwrap_or_else(|| {
            std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
        });
        let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        let key = base64::engine::general_purpose::STANDARD.encode(key);
        let common = |name: &str| -> Vec<(String, String)> {
            vec![
                ("LOG_FORMAT".to_owned(), "pretty".to_owned()),
                ("RUST_LOG".to_owned(), options.rust_log.clone()),
                ("NO_COLOR".to_owned(), "1".to_owned()),
                ("FAULT_TESTS_PROCESS".to_owned(), name.to_owned()),
            ]
        };

        let sim_port = free_port()?;
        let sim_base = format!("http://127.0.0.1:{sim_port}");
        let mut sim_env = common("winleadplus-sim");
        sim_env.extend(pairs(&[
            ("SIM_ADDR", &format!("127.0.0.1:{sim_port}")),
            ("SIM_TOKEN", SIM_TOKEN),
            ("SIM_GENERATE", &options.prospects.to_string()),
            ("SIM_SEED", &options.seed.to_string()),
        ]));
        let sim = Process::start(ProcessSpec {
            name: "winleadplus-sim".to_owned(),
            program: binaries.path("winleadplus-sim"),
            env: sim_env,
            ready_url: format!("{sim_base}/healthz"),
            log_file: dir.join("winleadplus-sim.log"),
        })
        .await?;
        let sim_admin = SimAdmin::new(sim_base)?;

        let mut cores = Vec::new();
        let mut core_http = Vec::new();
        for i in 0..options.core_replicas {
            let (grpc, http) = (free_port()?, free_port()?);
            let name = format!("client-core#{i}");
            let mut env = common(&name);
            env.extend(pairs(&[
                ("CORE_GRPC_ADDR", &format!("127.0.0.1:{grpc}")),
                ("CORE_HTTP_ADDR", &format!("127.0.0.1:{http}")),
                ("CORE_DATABASE_URL", core_db.url()),
                ("CORE_DB_POOL_SIZE", "4"),
                ("NATS_URL", &nats_url),
                ("NATS_SUBJECT_PREFIX", &prefix),
                ("CORE_STREAM", &stream),
                ("AUTH_JWT_SECRET", &secret),
            ]));
            env.extend(options.core_env.iter().cloned());
            cores.push(
                Process::start(ProcessSpec {
                    ready_url: format!("http://127.0.0.1:{http}/readyz"),
                    log_file: dir.join(format!("client-core-{i}.log")),
                    program: binaries.path("client-core"),
                    name,
                    env,
                })
                .await?,
            );
            core_http.push(http);
        }

        let mut syncs = Vec::new();
        let mut sync_grpc = Vec::new();
        for i in 0..options.sync_replicas {
            let (grpc, http) = (free_port()?, free_port()?);
            let name = format!("sync-service#{i}");
            let mut env = common(&name);
            env.extend(pairs(&[
                ("SYNC_GRPC_ADDR", &format!("127.0.0.1:{grpc}")),
                ("SYNC_HTTP_ADDR", &format!("127.0.0.1:{http}")),
                ("COMMERCIAL_DATABASE_URL", commercial_db.url()),
                ("SYNC_DB_POOL_SIZE", "4"),
                ("NATS_URL", &nats_url),
                ("NATS_SUBJECT_PREFIX", &prefix),
                ("WINLEADPLUS_API_URL", &sim_admin.prospects_url()),
                // The simulator speaks http on loopback.
                ("WINLEADPLUS_ALLOW_HTTP_HOSTS", "127.0.0.1"),
                ("WINLEADPLUS_RETRY_BASE_MS", "50"),
                ("TOKEN_ENCRYPTION_KEY", &key),
                ("AUTH_JWT_SECRET", &secret),
                ("SYNC_BATCH_SIZE", &options.batch_size.to_string()),
                (
                    "SYNC_LEASE_TIMEOUT_SECS",
                    &options.lease_timeout_secs.to_string(),
                ),
                ("SYNC_CREATE_TIMEOUT_SECS", "10"),
                (
                    "SYNC_SCHEDULER_ENABLED",
                    if options.sync_cron.is_some() {
                        "true"
                    } else {
                        "false"
                    },
                ),
                ("SYNC_TIMEZONE", "UTC"),
            ]));
            if let Some(cron) = &options.sync_cron {
                env.push(("SYNC_CRON".to_owned(), cron.clone()));
            }
            env.extend(options.sync_env.iter().cloned());
            syncs.push(
                Process::start(ProcessSpec {
                    ready_url: format!("http://127.0.0.1:{http}/readyz"),
                    log_file: dir.join(format!("sync-service-{i}.log")),
                    program: binaries.path("sync-service"),
                    name,
                    env,
                })
                .await?,
            );
            sync_grpc.push(grpc);
        }

        Ok(Self {
            core_db,
            commercial_db,
            sim,
            sim_admin,
            cores,
            syncs,
            prefix,
            stream,
            nats_url,
            dir,
            secret,
            sync_grpc,
            core_http,
        })
    }

    /// The checker of this stack's databases.
    pub fn checker(&self) -> Checker {
        Checker::new(
            self.core_db.url().to_owned(),
            self.commercial_db.url().to_owned(),
        )
    }

    /// A gRPC client of sync-service replica `replica`, calling as a member of `org`.
    pub async fn sync_client(&self, replica: usize, org: Uuid) -> anyhow::Result<SyncClient> {
        let port = self
            .sync_grpc
            .get(replica)
            .with_context(|| format!("no sync-service replica {replica}"))?;
        let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))?
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await
            .with_context(|| format!("cannot connect to sync-service#{replica}"))?;
        let token = hs256_token(
            &self.secret,
            "fault-tests",
            &[org],
            Duration::from_secs(3600),
        )?;
        Ok(WinLeadPlusSyncServiceClient::with_interceptor(
            channel,
            Bearer::new(&token)?,
        ))
    }

    /// Saves `org`'s config: the simulator with its token, enabled, every `interval_minutes`.
    pub async fn configure(&self, org: Uuid, interval_minutes: i32) -> anyhow::Result<()> {
        self.sync_client(0, org)
            .await?
            .save_config(UpdateWinLeadPlusConfigRequest {
                organisation_id: Some(org.to_string()),
                api_endpoint: Some(self.sim_admin.prospects_url()),
                api_token: Some(SIM_TOKEN.to_owned()),
                enabled: Some(true),
                sync_interval_minutes: Some(interval_minutes),
                ..Default::default()
            })
            .await
            .context("SaveConfig")?;
        Ok(())
    }

    /// One `SyncProspects` call on `replica`: the log it answers (the running one when a
    /// sync of `org` already runs).
    pub async fn sync_once(&self, replica: usize, org: Uuid) -> anyhow::Result<WinLeadPlusSyncLog> {
        self.sync_client(replica, org)
            .await?
            .sync_prospects(SyncProspectsRequest {
                organisation_id: org.to_string(),
                dry_run: false,
                ..Default::default()
            })
            .await
            .context("SyncProspects")?
            .into_inner()
            .sync_log
            .context("SyncProspects answered no log")
    }

    /// Starts a `SyncProspects` call on `replica` in a task (to kill or stop something while
    /// it runs); the task gives the log, or the call's error.
    pub async fn spawn_sync(
        &self,
        replica: usize,
        org: Uuid,
    ) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<WinLeadPlusSyncLog>>> {
        let mut client = self.sync_client(replica, org).await?;
        Ok(tokio::spawn(async move {
            client
                .sync_prospects(SyncProspectsRequest {
                    organisation_id: org.to_string(),
                    dry_run: false,
                    ..Default::default()
                })
                .await
                .context("SyncProspects")?
                .into_inner()
                .sync_log
                .context("SyncProspects answered no log")
        }))
    }

    /// Syncs `org` until a sync started by this call succeeds: waits while another holds the
    /// lease (a dead holder's until it is stale), retries a failed sync or a replica that
    /// does not answer. Fails after `timeout` with the last answer.
    pub async fn sync_until_success(
        &self,
        org: Uuid,
        timeout: Duration,
    ) -> anyhow::Result<WinLeadPlusSyncLog> {
        let deadline = Instant::now() + timeout;
        let mut attempt = 0;
        loop {
            let replica = attempt % self.sync_grpc.len().max(1);
            attempt += 1;
            let last = match self.sync_once(replica, org).await {
                Ok(log) if log.status == "SUCCESS" => return Ok(log),
                Ok(log) => format!("{} {}: {:?}", log.status, log.id, log.errors),
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() > deadline {
                bail!("no successful sync of {org} within {timeout:?}; last answer: {last}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Syncs every organisation once more and waits until the checker finds the exact state
    /// (updates are applied asynchronously; a message whose consumer died is redelivered
    /// after JetStream's ack wait of 30 s).
    pub async fn converge(&self, orgs: &[Uuid]) -> anyhow::Result<check::CheckReport> {
        for &org in orgs {
            self.sync_until_success(org, Duration::from_secs(120))
                .await?;
        }
        let prospects = self.sim_admin.prospects().await?;
        self.checker()
            .eventually(&prospects, orgs, Duration::from_secs(75))
            .await
    }

    /// Changes the e-mail of about `fraction` of the prospects that every organisation of
    /// `orgs` has already recorded (a mapping), chosen by `seed`; returns how many.
    ///
    /// Only recorded prospects: a prospect whose create reached client-core but whose record
    /// was lost (a crash in between) and which changes before the next sync is never updated
    /// in crm_core (see `kill_sync::a_create_replayed_with_changed_data_reaches_client_core`);
    /// `SimAdmin::mutate` may pick such a prospect.
    pub async fn change_recorded(
        &self,
        orgs: &[Uuid],
        fraction: f64,
        seed: u64,
    ) -> anyhow::Result<usize> {
        let mut recorded: Option<std::collections::BTreeSet<i64>> = None;
        for org in orgs {
            let ids = check::query_column(
                self.commercial_db.url(),
                &format!(
                    "SELECT winleadplus_prospect_id::text FROM winleadplus_mappings \
                     WHERE organisation_id = '{org}'"
                ),
            )
            .await?
            .into_iter()
            .filter_map(|id| id.parse::<i64>().ok())
            .collect();
            recorded = Some(match recorded {
                None => ids,
                Some(before) => before.intersection(&ids).copied().collect(),
            });
        }
        let recorded = recorded.unwrap_or_default();
        let threshold = (fraction.clamp(0.0, 1.0) * 1_000_000.0) as u64;
        let changed: Vec<serde_json::Value> = self
            .sim_admin
            .prospects()
            .await?
            .into_iter()
            .filter_map(|mut p| {
                let id = p
                    .get("idProspect")
                    .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))?;
                let picked =
                    recorded.contains(&id) && mix(seed ^ id.unsigned_abs()) % 1_000_000 < threshold;
                if !picked {
                    return None;
                }
                let email = format!("changed-{seed:x}-{id}@example.org");
                p.as_object_mut()?
                    .insert("email".to_owned(), serde_json::Value::String(email));
                Some(p)
            })
            .collect();
        self.sim_admin.upsert(&changed).await?;
        Ok(changed.len())
    }

    /// Terminates every backend connected to this stack's two databases (but the one asking);
    /// returns how many.
    pub async fn terminate_db_backends(&self) -> anyhow::Result<i64> {
        let sql = format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname IN ('{}', '{}') AND pid <> pg_backend_pid()",
            self.core_db.name(),
            self.commercial_db.name()
        );
        check::query_i64(self.core_db.url(), &sql).await
    }

    /// The sum over the client-core replicas of one metric sample (a counter restarts at zero
    /// with its process).
    pub async fn core_metric(&self, sample: &str) -> anyhow::Result<u64> {
        let http = reqwest::Client::new();
        let mut total = 0;
        for port in &self.core_http {
            let text = http
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await?
                .text()
                .await?;
            total += text
                .lines()
                .find_map(|l| {
                    l.strip_prefix(sample)
                        .and_then(|rest| rest.trim().parse::<f64>().ok())
                })
                .map_or(0, |v| v as u64);
        }
        Ok(total)
    }

    /// Stops everything: the processes (SIGKILL), the update stream, the databases; the
    /// log directory is removed unless `keep_logs`.
    pub async fn cleanup(mut self, keep_logs: bool) -> anyhow::Result<()> {
        for process in self.syncs.iter_mut().chain(self.cores.iter_mut()) {
            process.kill()?;
        }
        self.sim.kill()?;
        let connect = async_nats::connect(&self.nats_url);
        if let Ok(Ok(nats)) = tokio::time::timeout(Duration::from_secs(3), connect).await {
            let js = async_nats::jetstream::new(nats);
            // The stream may be gone with a server of the test's own.
            let _gone =
                tokio::time::timeout(Duration::from_secs(5), js.delete_stream(&self.stream)).await;
        }
        let Stack {
            core_db,
            commercial_db,
            dir,
            ..
        } = self;
        core_db.cleanup().await?;
        commercial_db.cleanup().await?;
        if !keep_logs {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        Ok(())
    }
}

/// A 64-bit mixing function (SplitMix64's finalizer): a well-spread choice from a seed.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
