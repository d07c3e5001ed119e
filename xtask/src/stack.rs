//! The product started in one process for the demo and the benchmark: the WinLeadPlus
//! simulator, client-core and sync-service on free loopback ports, against the databases
//! and NATS of the usual variables, on NATS subjects and a stream of their own (so they never
//! mix with services already running on the machine). Checks the prerequisites first and
//! says in one line what to start when one is missing.

use std::time::Duration;

use anyhow::Context;
use client_core::config::LogFormat as CoreLogFormat;
use crm_db::Database;
use proto::clients::client_base_service_client::ClientBaseServiceClient;
use proto::contrats::contrat_service_client::ContratServiceClient;
use proto::tonic::service::interceptor::InterceptedService;
use proto::tonic::transport::Channel;
use proto::winleadplus::win_lead_plus_sync_service_client::WinLeadPlusSyncServiceClient;
use serde_json::Value;
use service_kit::auth::AuthConfig;
use service_kit::auth::mint::{Bearer, hs256_token};
use service_kit::nats::NatsArgs;
use sync_service::config::LogFormat as SyncLogFormat;
use sync_service::keys::{EncryptionKey, KeyArgs};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use winleadplus_sim::{Sim, SimConfig, SimData};

/// The token the simulator expects.
pub(crate) const SIM_TOKEN: &str = "demo-token";

/// What to start.
pub(crate) struct StackOptions {
    /// The simulator's prospects.
    pub(crate) prospects: Vec<Value>,
    /// Prospects per sync batch.
    pub(crate) batch_size: u16,
}

/// A gRPC channel whose calls carry the demo caller's bearer token.
pub(crate) type Authorized = InterceptedService<Channel, Bearer>;

/// The running product.
pub(crate) struct Stack {
    pub(crate) sim: Sim,
    /// The organisation the demo works in: the only one its token lets it see.
    pub(crate) organisation: uuid::Uuid,
    pub(crate) sync: WinLeadPlusSyncServiceClient<Authorized>,
    pub(crate) contrats: ContratServiceClient<Authorized>,
    pub(crate) clients: ClientBaseServiceClient<Authorized>,
    pub(crate) core_metrics: client_core::metrics::Metrics,
    pub(crate) stream: String,
    pub(crate) nats: async_nats::Client,
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

/// The URL of a database from its variable, else the default of ARCHITECTURE.md.
pub(crate) fn database_url(db: Database) -> String {
    std::env::var(db.env_var()).unwrap_or_else(|_| db.default_url().to_owned())
}

/// The NATS settings the services read (`NATS_URL`, `NATS_CREDS`, `NATS_USER`, …), from the
/// environment, with the services' defaults.
#[derive(Debug, clap::Parser)]
struct NatsEnv {
    #[command(flatten)]
    nats: NatsArgs,
}

/// The NATS server and credentials of the environment, as the services would read them.
pub(crate) fn nats_args() -> anyhow::Result<NatsArgs> {
    use clap::Parser;
    let args = NatsEnv::try_parse_from(["xtask"])
        .map_err(|e| anyhow::anyhow!("NATS settings: {}", e.to_string().trim_end()))?
        .nats;
    args.validate()?;
    Ok(args)
}

/// Checks PostgreSQL and NATS, migrates, and returns a NATS connection.
pub(crate) async fn prerequisites() -> anyhow::Result<async_nats::Client> {
    for db in Database::ALL {
        let url = database_url(db);
        if let Err(e) = crm_db::ensure_database(&url).await {
            anyhow::bail!(
                "{e}\n  PostgreSQL must be running (this machine: `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`; \
                 with Docker: `docker compose -f deploy/docker-compose.yml up -d postgres nats`), \
                 or set {} to where it runs",
                db.env_var()
            );
        }
        crm_db::run_pending(&url, db).await?;
    }
    let args = nats_args()?;
    let connect = service_kit::nats::connect(&args, "xtask");
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(service_kit::nats::ConnectError::Config(e))) => Err(e.into()),
        _ => anyhow::bail!(
            "cannot connect to NATS at {}\n  NATS with JetStream must be running (this machine: \
             `start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server`; \
             with Docker: `docker compose -f deploy/docker-compose.yml up -d nats`), or set NATS_URL",
            service_kit::urls::mask_credentials(&args.url)
        ),
    }
}

impl Stack {
    /// Starts the simulator, client-core and sync-service.
    pub(crate) async fn start(
        options: StackOptions,
        nats: async_nats::Client,
    ) -> anyhow::Result<Self> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let tag = &tag[..12];
        let prefix = format!("xtask-{tag}");
        let stream = format!("XTASK_{tag}");
        let shutdown = CancellationToken::new();
        let loopback = "127.0.0.1:0".parse().context("loopback address")?;

        let sim = Sim::start(SimConfig {
            addr: loopback,
            token: SIM_TOKEN.to_owned(),
            data: SimData::Prospects(options.prospects),
        })
        .await
        .context("cannot start the WinLeadPlus simulator")?;

        // Both services check callers as in production: an HS256 secret of this run, and a
        // token for one organisation.
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let auth = AuthConfig {
            jwt_secret: Some(secret.clone().into()),
            ..AuthConfig::default()
        };
        let organisation = uuid::Uuid::new_v4();
        let bearer = Bearer::new(&hs256_token(
            &secret,
            "xtask-demo",
            &[organisation],
            Duration::from_secs(24 * 3600),
        )?)?;
        let core = client_core::App::build(client_core::Config {
            grpc_addr: loopback,
            http_addr: loopback,
            database_url: database_url(Database::Core),
            db_pool_size: 8,
            migrate_on_start: false,
            nats: nats_args()?,
            nats_subject_prefix: prefix.clone(),
            stream: stream.clone(),
            consumer: "client-core".to_owned(),
            retry_budget_secs: 900,
            update_batch: 512,
            create_concurrency: 4,
            stream_max_age_hours: 168,
            dead_letter_retention_days: 30,
            log_format: CoreLogFormat::Pretty,
            auth: auth.clone(),
        })
        .await
        .context("cannot start client-core")?;
        let core_grpc = core.grpc_addr()?;
        let core_metrics = core.metrics();

        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        let sync = sync_service::App::build(sync_service::Config {
            grpc_addr: loopback,
            http_addr: loopback,
            database_url: database_url(Database::Commercial),
            db_pool_size: 8,
            migrate_on_start: false,
            nats: nats_args()?,
            nats_subject_prefix: prefix,
            winleadplus_api_url: sim.prospects_url(),
            // The simulator speaks http on loopback.
            winleadplus_allow_http_hosts: vec!["127.0.0.1".to_owned()],
            winleadplus_api_token: None,
            keys: KeyArgs::single(EncryptionKey::from_bytes(key)),
            sync_cron: "0 0 * * * *"
                .parse()
                .map_err(|e| anyhow::anyhow!("cron: {e}"))?,
            sync_timezone: chrono_tz::Europe::Paris,
            scheduler_enabled: false,
            scheduler_concurrency: 1,
            batch_size: options.batch_size,
            connect_timeout_secs: 5,
            request_timeout_secs: 600,
            max_attempts: 3,
            retry_base_ms: 200,
            max_body_mb: 2048,
            max_record_kb: 256,
            read_idle_secs: 60,
            max_duration_secs: 3600,
            max_archive_ratio: 0.2,
            lease_timeout_secs: 120,
            create_timeout_secs: 60,
            log_format: SyncLogFormat::Pretty,
            auth: auth.clone(),
        })
        .await
        .context("cannot start sync-service")?;
        let sync_grpc = sync.grpc_addr()?;

        let tasks = vec![
            (
                "client-core",
                tokio::spawn(core.run_until_stopped(shutdown.clone())),
            ),
            (
                "sync-service",
                tokio::spawn(sync.run_until_stopped(shutdown.clone())),
            ),
        ];
        let channel = |addr: std::net::SocketAddr| async move {
            Channel::from_shared(format!("http://{addr}"))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .connect()
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to {addr}: {e}"))
        };
        let sync_channel = channel(sync_grpc).await?;
        Ok(Self {
            organisation,
            sync: WinLeadPlusSyncServiceClient::with_interceptor(
                sync_channel.clone(),
                bearer.clone(),
            ),
            contrats: ContratServiceClient::with_interceptor(sync_channel, bearer.clone()),
            clients: ClientBaseServiceClient::with_interceptor(channel(core_grpc).await?, bearer),
            sim,
            core_metrics,
            stream,
            nats,
            shutdown,
            tasks,
        })
    }

    /// Updates applied by client-core so far.
    pub(crate) fn updates_applied(&self) -> u64 {
        metric(
            &self.core_metrics.base().render(),
            r#"core_events_total{kind="update",outcome="applied"}"#,
        )
    }

    /// Stops everything and removes the stream of this run.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        for (name, task) in self.tasks {
            task.await
                .with_context(|| format!("{name} task"))?
                .with_context(|| format!("{name} stopped on an error"))?;
        }
        self.sim.stop().await;
        let js = async_nats::jetstream::new(self.nats.clone());
        if let Err(e) = js.delete_stream(&self.stream).await {
            tracing::warn!(error = %e, "cannot delete the stream of this run");
        }
        Ok(())
    }
}

/// The value of one sample line of a Prometheus text exposition (0 when absent).
pub(crate) fn metric(text: &str, sample: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).map(str::trim))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}
