//! Building and running sync-service: binds its own listeners (port 0 works, so tests start
//! the real thing), connects to PostgreSQL and NATS, and runs the gRPC server, the HTTP
//! endpoints and the scheduler until one shutdown token fires. Running syncs stop at their
//! next batch boundary, their logs FAILED ("interrupted by shutdown").

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use service_kit::auth::Authenticator;
use service_kit::grpc::GrpcServer;
use service_kit::listeners::Listeners;
use service_kit::ops::Ops;
use service_kit::shutdown::Parts;
use tokio_util::sync::CancellationToken;

use crm_db::pool::OpenOptions;

use crate::config::Config;
use crate::crypto::TokenCipher;
use crate::db::configs::ConfigStore;
use crate::db::contrats::ContratStore;
use crate::db::logs::LogStore;
use crate::db::{self, DbPool};
use crate::engine::{EngineSettings, FallbackToken, SyncEngine};
use crate::grpc::{ContratServiceServer, Handlers, WinLeadPlusSyncServiceServer};
use crate::metrics::Metrics;
use crate::nats::{self, ClientEvents};
use crate::scheduler::Scheduler;
use crate::winleadplus::{ClientSettings, WinLeadPlusClient};

/// A sync-service ready to run: listeners bound, connections open.
pub struct App {
    listeners: Listeners,
    pool: DbPool,
    nats: nats::Connection,
    handlers: Handlers,
    scheduler: Option<Scheduler>,
    metrics: Metrics,
    /// Checks every gRPC caller (the layer in front of every service).
    authenticator: Authenticator,
    /// Fired when the service stops: running syncs end at their next batch.
    engine_stop: CancellationToken,
}

impl App {
    /// Connects and binds everything; any failure says what could not be reached.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let authenticator = Authenticator::new(&config.auth)?;
        let metrics = Metrics::new();
        let pool = crm_db::pool::open(
            OpenOptions {
                database: crm_db::Database::Commercial,
                url: config.database_url.clone(),
                size: usize::from(config.db_pool_size),
                migrate: config.migrate_on_start,
            },
            metrics.base().statement_hook(),
        )
        .await?;
        let nats = nats::connect(&config.nats, "sync-service").await?;
        let cipher = TokenCipher::new(&config.keys.keys()?);
        check_stored_tokens(&ConfigStore::new(pool.clone()), &cipher).await?;
        let winleadplus = WinLeadPlusClient::new(
            ClientSettings {
                connect_timeout: Duration::from_secs(config.connect_timeout_secs),
                request_timeout: Duration::from_secs(config.request_timeout_secs),
                max_attempts: config.max_attempts,
                retry_base: Duration::from_millis(config.retry_base_ms),
                max_body_bytes: config.max_body_mb.saturating_mul(1024 * 1024),
                max_record_bytes: config.max_record_kb.saturating_mul(1024),
                read_idle_timeout: Duration::from_secs(config.read_idle_secs),
                egress: config.egress_policy()?,
            },
            metrics.clone(),
        )?;
        let events = ClientEvents::new(
            nats.clone(),
            config.subject(proto::subjects::CLIENT_CREATE),
            config.subject(proto::subjects::CLIENT_UPDATE),
            Duration::from_secs(config.create_timeout_secs),
        );
        let engine_stop = CancellationToken::new();
        let default_endpoint = crate::domain::Endpoint::parse(&config.winleadplus_api_url)?;
        let fallback = config
            .fallback_token()
            .map(|token| FallbackToken::new(token, default_endpoint.clone()));
        let engine = SyncEngine::new(
            pool.clone(),
            winleadplus.clone(),
            events,
            cipher.clone(),
            EngineSettings {
                batch_size: usize::from(config.batch_size),
                lease_timeout: Duration::from_secs(config.lease_timeout_secs),
                max_duration: Duration::from_secs(config.max_duration_secs),
                max_archive_ratio: config.max_archive_ratio,
                fallback,
            },
            metrics.clone(),
            engine_stop.clone(),
        );
        let configs = ConfigStore::new(pool.clone());
        let scheduler = config.scheduler_enabled.then(|| {
            Scheduler::new(
                engine.clone(),
                configs.clone(),
                config.sync_cron.clone(),
                config.sync_timezone,
                usize::from(config.scheduler_concurrency),
            )
        });
        let handlers = Handlers {
            configs,
            logs: LogStore::new(pool.clone()),
            contrats: ContratStore::new(pool.clone()),
            engine,
            winleadplus,
            cipher,
            default_endpoint: default_endpoint.as_str().to_owned(),
        };
        let listeners = Listeners::bind(config.grpc_addr, config.http_addr).await?;
        Ok(Self {
            listeners,
            pool,
            nats,
            handlers,
            scheduler,
            metrics,
            authenticator,
            engine_stop,
        })
    }

    /// The bound gRPC address (the real port when configured with port 0).
    pub fn grpc_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listeners.grpc.local_addr()?)
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listeners.http.local_addr()?)
    }

    /// This instance's metrics (what `/metrics` serves).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The scheduler, when enabled (tests drive its `run_once`).
    pub fn scheduler(&self) -> Option<Scheduler> {
        self.scheduler.clone()
    }

    /// Runs until `shutdown` fires; then running syncs stop at a batch boundary, the
    /// servers finish their calls, and this returns.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            listeners,
            pool,
            nats,
            handlers,
            scheduler,
            metrics,
            authenticator,
            engine_stop,
        } = self;
        let stop = shutdown.child_token();
        // Syncs see the stop at once; the gRPC server waits for their calls to return.
        let forward = {
            let stop = stop.clone();
            let engine_stop = engine_stop.clone();
            tokio::spawn(async move {
                stop.cancelled().await;
                engine_stop.cancel();
            })
        };

        let grpc = GrpcServer::new(metrics.base().rpc(), authenticator)
            .reflect(proto::FILE_DESCRIPTOR_SET)
            .add_service(WinLeadPlusSyncServiceServer::new(handlers.clone()))
            .add_service(ContratServiceServer::new(handlers));
        let checks = vec![db::readiness(pool), nats::readiness(nats.clone())];
        let ops = Ops::new(metrics.base().registry(), checks);
        let scheduler = {
            let stop = stop.clone();
            async move {
                match scheduler {
                    Some(s) => s.run(stop).await,
                    None => {
                        stop.cancelled().await;
                        Ok(())
                    }
                }
            }
        };
        let result = Parts::new(stop)
            .servers(listeners, grpc, ops)
            .add("scheduler", scheduler)
            .run()
            .await;
        forward.abort();
        if let Err(e) = nats.flush().await {
            tracing::warn!(error = %e, "cannot flush NATS on shutdown");
        }
        result
    }
}

/// Refuses to start without a key while stored tokens need one (every sync of theirs would
/// fail), and warns about tokens whose key is not configured or that are in the old format.
async fn check_stored_tokens(configs: &ConfigStore, cipher: &TokenCipher) -> anyhow::Result<()> {
    let stored = configs
        .sealed_tokens()
        .await
        .context("cannot read the stored WinLeadPlus tokens")?;
    if stored.is_empty() {
        if !cipher.has_key() {
            tracing::warn!(
                "TOKEN_ENCRYPTION_KEYS is not set: organisations' API tokens cannot be saved"
            );
        }
        return Ok(());
    }
    if !cipher.has_key() {
        anyhow::bail!(
            "TOKEN_ENCRYPTION_KEYS is not set but {} organisations have a stored WinLeadPlus token: \
             set it (or TOKEN_ENCRYPTION_KEY) to the key they were sealed with",
            stored.len()
        );
    }
    for (kid, count) in crate::crypto::census(stored.iter().map(|t| t.sealed.as_slice())) {
        match kid {
            Some(kid) if cipher.knows(&kid) => {}
            Some(kid) => tracing::warn!(
                kid = %kid,
                organisations = count,
                "stored WinLeadPlus tokens were sealed with a key that is not among TOKEN_ENCRYPTION_KEYS: their syncs fail until it is added"
            ),
            None => tracing::warn!(
                organisations = count,
                "stored WinLeadPlus tokens are in the old format: their syncs fail until `cargo xtask rotate-tokens` converts them"
            ),
        }
    }
    Ok(())
}
