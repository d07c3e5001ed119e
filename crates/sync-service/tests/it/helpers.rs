//! `spawn_stack()`: the whole product for one test — client-core and sync-service running
//! in-process on port 0 against fresh crm_core and crm_commercial databases, their own NATS
//! subject prefix and stream, and a `winleadplus-sim` serving the test's prospects.
//! sync-service runs without authentication unless [`Options::auth_secret`] is set; then
//! [`Stack::with_token`] and [`Stack::member_of`] give clients that send a bearer token.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crm_db::Database;
use crm_db::testing::TestDatabase;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use proto::clients::client_base_service_client::ClientBaseServiceClient;
use proto::contrats::contrat_service_client::ContratServiceClient;
use proto::tonic::service::Interceptor;
use proto::tonic::service::interceptor::InterceptedService;
use proto::tonic::transport::Channel;
use proto::tonic::{Request, Status};
use proto::winleadplus::win_lead_plus_sync_service_client::WinLeadPlusSyncServiceClient;
use proto::winleadplus::{
    SyncProspectsRequest, UpdateWinLeadPlusConfigRequest, WinLeadPlusSyncLog,
};
use serde_json::Value;
use service_kit::auth::mint::{self, hs256_token};
use service_kit::nats::NatsArgs;
use sync_service::config::LogFormat;
use sync_service::keys::{EncryptionKey, KeyArgs};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use winleadplus_sim::{Sim, SimConfig, SimData};

pub const SIM_TOKEN: &str = "sim-token";
/// The simulator's host, the one entry of the stack's `WINLEADPLUS_ALLOW_HTTP_HOSTS`.
pub const SIM_HOST: &str = "127.0.0.1";

pub struct Stack {
    pub core_db: TestDatabase,
    pub commercial_db: TestDatabase,
    pub sim: Sim,
    /// sync-service's clients; they send no token.
    pub sync: WinLeadPlusSyncServiceClient<Channel>,
    pub contrats: ContratServiceClient<Channel>,
    pub clients: ClientBaseServiceClient<Channel>,
    pub core_config: client_core::Config,
    /// sync-service's config as last started.
    pub sync_config: sync_service::Config,
    pub nats: async_nats::Client,
    /// Messages seen on the create and update subjects since the start.
    pub published: Arc<AtomicUsize>,
    pub sync_app: Running,
    pub sync_metrics: sync_service::metrics::Metrics,
    pub core_metrics: client_core::metrics::Metrics,
    pub scheduler: Option<sync_service::scheduler::Scheduler>,
    core_app: Option<Running>,
    watcher: JoinHandle<()>,
    sync_channel: Channel,
    auth_secret: Option<&'static str>,
}

/// Sends the kit's `authorization: Bearer <token>` on every call (nothing without a token).
#[derive(Clone)]
pub struct Bearer(Option<mint::Bearer>);

impl Interceptor for Bearer {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        Ok(match &self.0 {
            Some(bearer) => bearer.authorize(request),
            None => request,
        })
    }
}

/// sync-service's clients calling as one caller.
pub struct Clients {
    pub sync: WinLeadPlusSyncServiceClient<InterceptedService<Channel, Bearer>>,
    pub contrats: ContratServiceClient<InterceptedService<Channel, Bearer>>,
}

pub struct Running {
    shutdown: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(30), handle)
                .await
                .expect("stops within 30 s")
                .expect("joins")
                .expect("stops cleanly");
        }
    }
}

pub fn fixture(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        service_kit::telemetry::init(LogFormat::Pretty);
    }
}

/// Who each party of a stack is on NATS.
pub struct NatsUsers {
    /// client-core's server and credentials.
    pub core: NatsArgs,
    /// sync-service's.
    pub sync: NatsArgs,
    /// The test's own connection, which watches every `client.>` subject.
    pub observer: NatsArgs,
}

/// Options of a stack.
pub struct Options {
    pub prospects: Vec<Value>,
    /// When set, served byte for byte instead of `prospects` (hostile records).
    pub raw: Option<Vec<Vec<u8>>>,
    pub batch_size: u16,
    pub scheduler: bool,
    pub lease_timeout_secs: u64,
    pub max_record_kb: u64,
    pub read_idle_secs: u64,
    pub max_duration_secs: u64,
    /// `SYNC_MAX_ARCHIVE_RATIO`.
    pub max_archive_ratio: f64,
    /// When set, both services log in to a NATS server of the test's own as these users, on
    /// the production subjects (no prefix), stream and consumer.
    pub nats: Option<NatsUsers>,
    /// When set, sync-service verifies HS256 tokens signed with this secret (real
    /// authentication); otherwise authentication is disabled and every call may see every
    /// organisation.
    pub auth_secret: Option<&'static str>,
    /// The token keys (one fixed key unless set).
    pub keys: KeyArgs,
    /// `WINLEADPLUS_API_TOKEN`.
    pub fallback_token: Option<&'static str>,
    /// `WINLEADPLUS_API_URL` (the simulator's endpoint unless set).
    pub api_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            prospects: Vec::new(),
            raw: None,
            batch_size: 50,
            scheduler: false,
            lease_timeout_secs: 60,
            max_record_kb: 256,
            read_idle_secs: 60,
            max_duration_secs: 3600,
            max_archive_ratio: 0.2,
            auth_secret: None,
            nats: None,
            keys: KeyArgs::single(EncryptionKey::from_bytes([42; 32])),
            fallback_token: None,
            api_url: None,
        }
    }
}

pub async fn spawn_stack(prospects: Vec<Value>) -> Stack {
    spawn_stack_with(Options {
        prospects,
        ..Options::default()
    })
    .await
}

pub async fn spawn_stack_with(options: Options) -> Stack {
    init_logs();
    let core_db = TestDatabase::new(Database::Core).await;
    let commercial_db = TestDatabase::new(Database::Commercial).await;
    let tag = Uuid::new_v4().simple().to_string();
    // On the shared server: a subject prefix and a stream of the test's own, anonymous. On
    // a server of the test's own: the production subjects, stream and users.
    let (users, prefix, stream) = match options.nats {
        Some(users) => (
            users,
            String::new(),
            proto::subjects::UPDATE_STREAM.to_owned(),
        ),
        None => {
            let url =
                std::env::var("NATS_URL").unwrap_or_else(|_| service_kit::nats::DEFAULT_URL.into());
            let anonymous = NatsArgs::new(url);
            (
                NatsUsers {
                    core: anonymous.clone(),
                    sync: anonymous.clone(),
                    observer: anonymous,
                },
                format!("t{tag}"),
                format!("T_{tag}"),
            )
        }
    };

    let core_config = client_core::Config {
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        database_url: core_db.url().to_owned(),
        db_pool_size: 4,
        migrate_on_start: false,
        nats: users.core,
        nats_subject_prefix: prefix.clone(),
        stream,
        consumer: "client-core".into(),
        retry_budget_secs: 1,
        update_batch: 256,
        create_concurrency: 4,
        stream_max_age_hours: 168,
        dead_letter_retention_days: 30,
        log_format: client_core::config::LogFormat::Pretty,
        auth: service_kit::auth::AuthConfig {
            disabled: true,
            ..Default::default()
        },
    };
    let core = client_core::App::build(core_config.clone())
        .await
        .expect("client-core builds");
    let core_grpc = core.grpc_addr().unwrap();
    let core_metrics = core.metrics();
    let core_shutdown = CancellationToken::new();
    let core_handle = tokio::spawn(core.run_until_stopped(core_shutdown.clone()));

    let sim = Sim::start(SimConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        token: SIM_TOKEN.into(),
        data: match options.raw {
            Some(raw) => SimData::Raw(raw),
            None => SimData::Prospects(options.prospects),
        },
    })
    .await
    .expect("simulator starts");

    let sync_config = sync_service::Config {
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        database_url: commercial_db.url().to_owned(),
        db_pool_size: 4,
        migrate_on_start: false,
        nats: users.sync,
        nats_subject_prefix: prefix.clone(),
        winleadplus_api_url: options.api_url.unwrap_or_else(|| sim.prospects_url()),
        // The simulator speaks http on loopback: exempt it, and only it, from the policy.
        winleadplus_allow_http_hosts: vec![SIM_HOST.into()],
        winleadplus_api_token: options.fallback_token.map(Into::into),
        keys: options.keys,
        sync_cron: "0 0 * * * *".parse().unwrap(),
        sync_timezone: chrono_tz::Europe::Paris,
        scheduler_enabled: options.scheduler,
        scheduler_concurrency: 2,
        batch_size: options.batch_size,
        connect_timeout_secs: 2,
        request_timeout_secs: 30,
        max_attempts: 4,
        retry_base_ms: 20,
        max_body_mb: 64,
        max_record_kb: options.max_record_kb,
        read_idle_secs: options.read_idle_secs,
        max_duration_secs: options.max_duration_secs,
        max_archive_ratio: options.max_archive_ratio,
        lease_timeout_secs: options.lease_timeout_secs,
        create_timeout_secs: 10,
        log_format: LogFormat::Pretty,
        auth: match options.auth_secret {
            Some(secret) => service_kit::auth::AuthConfig {
                jwt_secret: Some(secret.into()),
                disabled: false,
                ..Default::default()
            },
            None => service_kit::auth::AuthConfig {
                disabled: true,
                ..Default::default()
            },
        },
    };
    let (sync_app, sync_channel, sync_metrics, scheduler) = start_sync(sync_config.clone()).await;

    let nats = service_kit::nats::connect(&users.observer, "sync-service tests")
        .await
        .unwrap();
    let published = Arc::new(AtomicUsize::new(0));
    let mut watch = nats
        .subscribe(proto::subjects::prefixed(&prefix, "client.>"))
        .await
        .unwrap();
    nats.flush().await.unwrap();
    let counter = Arc::clone(&published);
    let watcher = tokio::spawn(async move {
        while watch.next().await.is_some() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });

    Stack {
        sync: WinLeadPlusSyncServiceClient::new(sync_channel.clone()),
        contrats: ContratServiceClient::new(sync_channel.clone()),
        sync_channel,
        auth_secret: options.auth_secret,
        clients: ClientBaseServiceClient::new(channel(core_grpc).await),
        sync_config,
        core_db,
        commercial_db,
        sim,
        core_config,
        nats,
        published,
        sync_app,
        scheduler,
        sync_metrics,
        core_metrics,
        core_app: Some(Running {
            shutdown: core_shutdown,
            handle: Some(core_handle),
        }),
        watcher,
    }
}

/// A client channel to a gRPC address.
async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Builds and runs a sync-service: (its handle, a channel to it, its metrics, its scheduler).
async fn start_sync(
    config: sync_service::Config,
) -> (
    Running,
    Channel,
    sync_service::metrics::Metrics,
    Option<sync_service::scheduler::Scheduler>,
) {
    let app = sync_service::App::build(config)
        .await
        .expect("sync-service builds");
    let grpc = app.grpc_addr().unwrap();
    let metrics = app.metrics();
    let scheduler = app.scheduler();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let running = Running {
        shutdown,
        handle: Some(handle),
    };
    (running, channel(grpc).await, metrics, scheduler)
}

impl Stack {
    /// Stops sync-service and starts it again over the same database with `keys`.
    pub async fn restart_sync(&mut self, keys: KeyArgs) {
        self.sync_app.stop().await;
        self.sync_config.keys = keys;
        let (app, channel, metrics, scheduler) = start_sync(self.sync_config.clone()).await;
        self.sync = WinLeadPlusSyncServiceClient::new(channel.clone());
        self.contrats = ContratServiceClient::new(channel.clone());
        self.sync_channel = channel;
        self.sync_app = app;
        self.sync_metrics = metrics;
        self.scheduler = scheduler;
    }

    /// A token for a caller member of `organisations`, signed with the stack's secret.
    pub fn token(&self, organisations: &[Uuid]) -> String {
        let secret = self.auth_secret.expect("a stack with authentication");
        hs256_token(secret, "tester", organisations, Duration::from_secs(600)).unwrap()
    }

    /// Clients sending `token` (none when `None`).
    pub fn with_token(&self, token: Option<&str>) -> Clients {
        let bearer = Bearer(token.map(|t| mint::Bearer::new(t).unwrap()));
        Clients {
            sync: WinLeadPlusSyncServiceClient::with_interceptor(
                self.sync_channel.clone(),
                bearer.clone(),
            ),
            contrats: ContratServiceClient::with_interceptor(self.sync_channel.clone(), bearer),
        }
    }

    /// Clients of a member of `org` alone (of anybody when authentication is disabled).
    pub fn member_of(&self, org: Uuid) -> Clients {
        match self.auth_secret {
            Some(_) => self.with_token(Some(&self.token(&[org]))),
            None => self.with_token(None),
        }
    }

    /// Saves a config for `org` pointing at the simulator with its token.
    pub async fn configure(&self, org: Uuid) {
        self.member_of(org)
            .sync
            .save_config(UpdateWinLeadPlusConfigRequest {
                organisation_id: Some(org.to_string()),
                api_endpoint: Some(self.sim.prospects_url()),
                api_token: Some(SIM_TOKEN.into()),
                enabled: Some(true),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Runs a sync through gRPC and returns (success, log).
    pub async fn sync_now(&self, org: Uuid, dry_run: bool) -> (bool, WinLeadPlusSyncLog) {
        self.sync_with(SyncProspectsRequest {
            organisation_id: org.to_string(),
            dry_run,
            force_archive: false,
        })
        .await
    }

    /// Runs a sync with `force_archive` through gRPC and returns (success, log).
    pub async fn sync_forced(&self, org: Uuid) -> (bool, WinLeadPlusSyncLog) {
        self.sync_with(SyncProspectsRequest {
            organisation_id: org.to_string(),
            dry_run: false,
            force_archive: true,
        })
        .await
    }

    /// Runs the sync `request` asks for through gRPC and returns (success, log).
    pub async fn sync_with(&self, request: SyncProspectsRequest) -> (bool, WinLeadPlusSyncLog) {
        let org: Uuid = request.organisation_id.parse().unwrap();
        let r = self
            .member_of(org)
            .sync
            .sync_prospects(request)
            .await
            .unwrap()
            .into_inner();
        (r.success, r.sync_log.expect("a sync log"))
    }

    pub async fn core_count(&self, sql: &str) -> i64 {
        self.core_db.count(sql).await
    }

    pub async fn commercial_count(&self, sql: &str) -> i64 {
        self.commercial_db.count(sql).await
    }

    /// Runs a statement on crm_commercial (a test's own constraint, say).
    pub async fn commercial_execute(&self, sql: &str) {
        let mut conn = AsyncPgConnection::establish(self.commercial_db.url())
            .await
            .unwrap();
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }

    /// Runs a statement on crm_core.
    pub async fn core_execute(&self, sql: &str) {
        let mut conn = AsyncPgConnection::establish(self.core_db.url())
            .await
            .unwrap();
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }

    /// Waits until a crm_core count reaches `expected` (updates are applied asynchronously).
    pub async fn core_eventually(&self, sql: &str, expected: i64) {
        self.core_db.eventually(sql, expected).await;
    }

    /// Messages published on the client subjects so far (after letting in-flight ones land).
    pub async fn published(&self) -> usize {
        self.nats.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        AtomicUsize::load(&self.published, Ordering::SeqCst)
    }

    /// Statements each service has sent to PostgreSQL so far: (sync-service, client-core).
    pub fn statements(&self) -> (u64, u64) {
        (
            sample(
                &self.sync_metrics.base().render(),
                "sync_db_statements_total",
            ),
            sample(
                &self.core_metrics.base().render(),
                "core_db_statements_total",
            ),
        )
    }

    pub async fn stop_core(&mut self) {
        if let Some(mut core) = self.core_app.take() {
            core.stop().await;
        }
    }

    pub async fn cleanup(mut self) {
        self.sync_app.stop().await;
        self.stop_core().await;
        self.watcher.abort();
        let js = async_nats::jetstream::new(self.nats.clone());
        let _ignored = js.delete_stream(&self.core_config.stream).await;
        self.sim.stop().await;
        self.core_db.cleanup().await.unwrap();
        self.commercial_db.cleanup().await.unwrap();
    }
}

/// The value of one sample of a Prometheus text exposition.
pub fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.trim().parse::<f64>().ok())
        })
        .map_or(0, |v| v as u64)
}

/// A sync log's counters, in the order the tests compare them: total, created, updated,
/// skipped, failed.
pub fn counters(log: &proto::winleadplus::WinLeadPlusSyncLog) -> (i32, i32, i32, i32, i32) {
    (
        log.total_prospects,
        log.created,
        log.updated,
        log.skipped,
        log.failed,
    )
}
