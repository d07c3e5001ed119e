//! Building and running client-core: binds its own listeners (port 0 works, so tests start
//! the real thing), connects to PostgreSQL and NATS, and runs the gRPC server, the HTTP
//! endpoints, the create responder and the update consumer until one shutdown token fires.

use std::net::SocketAddr;

use service_kit::auth::Authenticator;
use service_kit::grpc::GrpcServer;
use service_kit::listeners::Listeners;
use service_kit::ops::Ops;
use service_kit::shutdown::Parts;
use tokio_util::sync::CancellationToken;

use crm_db::pool::OpenOptions;

use crate::config::Config;
use crate::db::{self, ClientStore, DbPool, DeadLetterStore, EventStore};
use crate::grpc::{ClientBaseServiceServer, ClientService};
use crate::metrics::Metrics;
use crate::nats::{self, CreateResponder, UpdateConsumer, ensure_update_stream};
use crate::retention;

/// A client-core ready to run: listeners bound, connections open.
pub struct App {
    listeners: Listeners,
    pool: DbPool,
    nats: nats::Connection,
    consumer: UpdateConsumer,
    responder: CreateResponder,
    metrics: Metrics,
    /// Checks every gRPC caller (the layer in front of every service).
    authenticator: Authenticator,
    /// How long dead letters are kept.
    dead_letter_retention: chrono::Duration,
}

impl App {
    /// Connects and binds everything; any failure says what could not be reached.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.nats.validate()?;
        let authenticator = Authenticator::new(&config.auth)?;
        let metrics = Metrics::new();
        let pool = crm_db::pool::open(
            OpenOptions {
                database: crm_db::Database::Core,
                url: config.database_url.clone(),
                size: usize::from(config.db_pool_size),
                migrate: config.migrate_on_start,
            },
            metrics.base().statement_hook(),
        )
        .await?;
        let nats = nats::connect(&config.nats, "client-core").await?;
        let update_subject = config.subject(proto::subjects::CLIENT_UPDATE);
        let stream = ensure_update_stream(
            &nats,
            &config.stream,
            &update_subject,
            config.stream_max_age(),
        )
        .await?;
        let consumer = UpdateConsumer::open(
            &stream,
            &config.consumer,
            update_subject,
            EventStore::new(pool.clone()),
            DeadLetterStore::new(pool.clone()),
            metrics.clone(),
            std::time::Duration::from_secs(config.retry_budget_secs),
            usize::from(config.update_batch),
        )
        .await?;
        let responder = CreateResponder::subscribe(
            nats.clone(),
            config.subject(proto::subjects::CLIENT_CREATE),
            EventStore::new(pool.clone()),
            metrics.clone(),
            usize::from(config.create_concurrency),
        )
        .await?;
        let listeners = Listeners::bind(config.grpc_addr, config.http_addr).await?;
        Ok(Self {
            listeners,
            pool,
            nats,
            consumer,
            responder,
            metrics,
            authenticator,
            dead_letter_retention: config.dead_letter_retention(),
        })
    }

    /// The bound gRPC address (the real port when configured with port 0).
    pub fn grpc_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listeners.grpc.local_addr()?)
    }

    /// This instance's metrics (what `/metrics` serves).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listeners.http.local_addr()?)
    }

    /// Runs until `shutdown` fires, then stops taking work, finishes what is in hand and
    /// returns. An error from any part stops the others too.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            listeners,
            pool,
            nats,
            consumer,
            responder,
            metrics,
            authenticator,
            dead_letter_retention,
        } = self;
        // One part failing stops the whole service: better a restart than half a service.
        let stop = shutdown.child_token();

        let service = ClientService::new(ClientStore::new(pool.clone()));
        let grpc = GrpcServer::new(metrics.base().rpc(), authenticator)
            .reflect(proto::FILE_DESCRIPTOR_SET)
            .add_service(ClientBaseServiceServer::new(service));
        let purge = retention::run(
            DeadLetterStore::new(pool.clone()),
            dead_letter_retention,
            metrics.clone(),
            stop.clone(),
        );
        let checks = vec![db::readiness(pool), nats::readiness(nats.clone())];
        let ops = Ops::new(metrics.base().registry(), checks);

        let result = Parts::new(stop.clone())
            .servers(listeners, grpc, ops)
            .add("create responder", responder.run(stop.clone()))
            .add("update consumer", consumer.run(stop))
            .add("dead-letter purge", purge)
            .run()
            .await;
        if let Err(e) = nats.flush().await {
            tracing::warn!(error = %e, "cannot flush NATS on shutdown");
        }
        result
    }
}
