//! Start-up configuration of client-core: one typed struct, every field a `--flag` and an
//! environment variable (ARCHITECTURE.md, "Runtime contract"), validated before anything runs.

use std::net::SocketAddr;

use clap::Parser;
use service_kit::auth::AuthConfig;
use service_kit::nats::NatsArgs;
pub use service_kit::telemetry::LogFormat;

/// client-core: CRM clients over gRPC, and the consumer of WinLeadPlus client events.
#[derive(Debug, Clone, Parser)]
#[command(name = "client-core", version, about)]
pub struct Config {
    /// gRPC listen address (clients.ClientBaseService, health, reflection). 50052 is the
    /// CRM core service's port, where the frontend looks for clients (50051 is another one's).
    #[arg(long, env = "CORE_GRPC_ADDR", default_value = "0.0.0.0:50052")]
    pub grpc_addr: SocketAddr,

    /// HTTP listen address of client-core's operations endpoints (/healthz, /readyz,
    /// /metrics).
    #[arg(long, env = "CORE_HTTP_ADDR", default_value = "0.0.0.0:8081")]
    pub http_addr: SocketAddr,

    /// PostgreSQL URL of the crm_core database.
    #[arg(
        long,
        env = "CORE_DATABASE_URL",
        default_value = "postgres://localhost/crm_core",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Connections in the crm_core pool, shared by gRPC calls and the NATS consumers.
    #[arg(long, env = "CORE_DB_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub db_pool_size: u16,

    /// Apply crm_core's pending migrations at start-up (as `cargo xtask migrate` does).
    #[arg(long, env = "CORE_MIGRATE_ON_START", default_value_t = false)]
    pub migrate_on_start: bool,

    /// The NATS server and how to log in there (`NATS_URL`, `NATS_CREDS`, `NATS_USER`,
    /// `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CA_FILE`, `NATS_TLS_REQUIRED`).
    #[command(flatten)]
    pub nats: NatsArgs,

    /// Prefix of every NATS subject (empty in production; tests isolate themselves with it).
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = "")]
    pub nats_subject_prefix: String,

    /// JetStream stream of client updates (created if missing).
    #[arg(long, env = "CORE_STREAM", default_value = proto::subjects::UPDATE_STREAM)]
    pub stream: String,

    /// Durable pull consumer on that stream.
    #[arg(long, env = "CORE_CONSUMER", default_value = proto::subjects::UPDATE_CONSUMER)]
    pub consumer: String,

    /// Seconds an update that keeps failing is retried (back-off from 200 ms, doubling, at
    /// most 60 s) before it is stored as a dead letter. A payload that cannot be decoded is
    /// stored at once: no retry can fix it.
    #[arg(long, env = "CORE_RETRY_BUDGET_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub retry_budget_secs: u64,

    /// Create batches served at once by one replica (each holds a database connection).
    #[arg(long, env = "CORE_CREATE_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub create_concurrency: u16,

    /// Updates fetched from the stream at once.
    #[arg(long, env = "CORE_UPDATE_BATCH", default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=5000))]
    pub update_batch: u16,

    /// Hours the update stream keeps a message (its `max_age`): updates carry personal data,
    /// and one older than this would be stale anyway.
    #[arg(long, env = "CORE_STREAM_MAX_AGE_HOURS", default_value_t = 168, value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub stream_max_age_hours: u64,

    /// Days a dead letter is kept (replayed or not) before the hourly purge deletes it.
    #[arg(long, env = "CORE_DEAD_LETTER_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub dead_letter_retention_days: u32,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,

    /// How gRPC callers are authenticated (`AUTH_*`, `GRPC_REFLECTION_PUBLIC`).
    #[command(flatten)]
    pub auth: AuthConfig,
}

impl Config {
    /// The full name of a subject under this instance's prefix.
    pub fn subject(&self, subject: &str) -> String {
        proto::subjects::prefixed(&self.nats_subject_prefix, subject)
    }

    /// How long the update stream keeps a message.
    pub fn stream_max_age(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.stream_max_age_hours.saturating_mul(3600))
    }

    /// How long a dead letter is kept.
    pub fn dead_letter_retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.dead_letter_retention_days))
    }
}
