//! Start-up configuration of sync-service: one typed struct, every field a `--flag` and an
//! environment variable (ARCHITECTURE.md, "Runtime contract"), validated before anything
//! runs. Secrets are wrapped so they never print.

use std::net::SocketAddr;
use std::str::FromStr;

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};
use service_kit::auth::AuthConfig;
use service_kit::nats::NatsArgs;
pub use service_kit::telemetry::LogFormat;

use crate::keys::KeyArgs;
use crate::winleadplus::EgressPolicy;

/// sync-service: imports WinLeadPlus prospects into the CRM.
#[derive(Debug, Clone, Parser)]
#[command(name = "sync-service", version, about)]
pub struct Config {
    /// gRPC listen address (winleadplus.WinLeadPlusSyncService, contrats.ContratService,
    /// health, reflection).
    #[arg(long, env = "SYNC_GRPC_ADDR", default_value = "0.0.0.0:50053")]
    pub grpc_addr: SocketAddr,

    /// HTTP listen address of sync-service's operations endpoints (/healthz, /readyz,
    /// /metrics).
    #[arg(long, env = "SYNC_HTTP_ADDR", default_value = "0.0.0.0:8083")]
    pub http_addr: SocketAddr,

    /// PostgreSQL URL of the crm_commercial database.
    #[arg(
        long,
        env = "COMMERCIAL_DATABASE_URL",
        default_value = "postgres://localhost/crm_commercial",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Connections in the crm_commercial pool, shared by syncs and gRPC calls.
    #[arg(long, env = "SYNC_DB_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub db_pool_size: u16,

    /// Apply crm_commercial's pending migrations at start-up (as `cargo xtask migrate`
    /// does).
    #[arg(long, env = "SYNC_MIGRATE_ON_START", default_value_t = false)]
    pub migrate_on_start: bool,

    /// The NATS server and how to log in there (`NATS_URL`, `NATS_CREDS`, `NATS_USER`,
    /// `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CA_FILE`, `NATS_TLS_REQUIRED`).
    #[command(flatten)]
    pub nats: NatsArgs,

    /// Prefix of every NATS subject (empty in production; tests isolate themselves with it).
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = "")]
    pub nats_subject_prefix: String,

    /// Default WinLeadPlus endpoint of a new organisation config.
    #[arg(
        long,
        env = "WINLEADPLUS_API_URL",
        default_value = "https://winleadplus.com/api/prospects"
    )]
    pub winleadplus_api_url: String,

    /// Hosts (names or IP literals, comma-separated) that may be reached over plain http and
    /// at internal addresses (loopback, private, link-local…), e.g. `127.0.0.1,winleadplus-sim`;
    /// every other endpoint must be https at a public address.
    #[arg(
        long,
        env = "WINLEADPLUS_ALLOW_HTTP_HOSTS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub winleadplus_allow_http_hosts: Vec<String>,

    /// Fallback WinLeadPlus token for organisations that have none of their own.
    #[arg(long, env = "WINLEADPLUS_API_TOKEN", hide_env_values = true)]
    pub winleadplus_api_token: Option<SecretString>,

    /// Keys that seal stored tokens (`TOKEN_ENCRYPTION_KEYS`, or the older single
    /// `TOKEN_ENCRYPTION_KEY`). Without one no token can be saved.
    #[command(flatten)]
    pub keys: KeyArgs,

    /// When the scheduler looks for due organisations (cron with seconds: sec min hour dom mon dow).
    #[arg(long, env = "SYNC_CRON", default_value = "0 0 * * * *", value_parser = parse_cron)]
    pub sync_cron: cron::Schedule,

    /// Time zone of `SYNC_CRON`.
    #[arg(long, env = "SYNC_TIMEZONE", default_value = "Europe/Paris")]
    pub sync_timezone: chrono_tz::Tz,

    /// Run the scheduler (turn off to only sync on request).
    #[arg(long, env = "SYNC_SCHEDULER_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub scheduler_enabled: bool,

    /// Organisations synced at the same time by one scheduler tick.
    #[arg(long, env = "SYNC_SCHEDULER_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub scheduler_concurrency: u16,

    /// Prospects handled per batch (one create request, one transaction).
    #[arg(long, env = "SYNC_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=5000))]
    pub batch_size: u16,

    /// Seconds to establish a connection to WinLeadPlus.
    #[arg(long, env = "WINLEADPLUS_CONNECT_TIMEOUT_SECS", default_value_t = 10)]
    pub connect_timeout_secs: u64,

    /// Seconds a whole WinLeadPlus response may take (download included).
    #[arg(long, env = "WINLEADPLUS_TIMEOUT_SECS", default_value_t = 300)]
    pub request_timeout_secs: u64,

    /// Attempts of one WinLeadPlus request (time-outs, 5xx, 429); 1 means no retry.
    #[arg(long, env = "WINLEADPLUS_MAX_ATTEMPTS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_attempts: u32,

    /// First retry delay in milliseconds (doubles, with jitter).
    #[arg(long, env = "WINLEADPLUS_RETRY_BASE_MS", default_value_t = 500)]
    pub retry_base_ms: u64,

    /// Largest response body accepted, in megabytes.
    #[arg(long, env = "WINLEADPLUS_MAX_BODY_MB", default_value_t = 512)]
    pub max_body_mb: u64,

    /// Largest single prospect record accepted, in kilobytes: a larger one fails alone.
    #[arg(long, env = "WINLEADPLUS_MAX_RECORD_KB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_record_kb: u64,

    /// Seconds without a single byte from WinLeadPlus after which a request is abandoned.
    #[arg(long, env = "WINLEADPLUS_READ_IDLE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub read_idle_secs: u64,

    /// Seconds a whole sync may run; past it, it stops at a batch boundary and ends FAILED.
    #[arg(long, env = "SYNC_MAX_DURATION_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_duration_secs: u64,

    /// Largest share (0 to 1) of an organisation's mapped prospects a sync archives when they
    /// are missing from WinLeadPlus's answer; past it (or with an empty answer) none are, with
    /// a warning, unless the sync is asked with `force_archive`.
    #[arg(long, env = "SYNC_MAX_ARCHIVE_RATIO", default_value_t = 0.2, value_parser = parse_ratio)]
    pub max_archive_ratio: f64,

    /// Seconds without heartbeat after which a RUNNING sync is considered dead and taken over.
    #[arg(long, env = "SYNC_LEASE_TIMEOUT_SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..))]
    pub lease_timeout_secs: u64,

    /// Seconds to wait for client-core's answer to a create batch.
    #[arg(long, env = "SYNC_CREATE_TIMEOUT_SECS", default_value_t = 30)]
    pub create_timeout_secs: u64,

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

    /// Checks what clap cannot: at most one way to log in to NATS, at most one of the two key
    /// settings, and a default endpoint that is an http(s) URL the egress policy allows (its
    /// scheme, and its address when it is an IP literal; a name is checked on every
    /// connection).
    pub fn validate(&self) -> anyhow::Result<()> {
        self.nats.validate()?;
        let endpoint = crate::domain::Endpoint::parse(&self.winleadplus_api_url)
            .map_err(|e| anyhow::anyhow!("WINLEADPLUS_API_URL: {e}"))?;
        self.egress_policy()?
            .check_url(endpoint.url())
            .map_err(|e| anyhow::anyhow!("WINLEADPLUS_API_URL refused: {e}"))?;
        self.keys.keys()?;
        Ok(())
    }

    /// The egress policy of `WINLEADPLUS_ALLOW_HTTP_HOSTS`.
    pub fn egress_policy(&self) -> anyhow::Result<EgressPolicy> {
        Ok(EgressPolicy::new(&self.winleadplus_allow_http_hosts)?)
    }

    /// The fallback token, if any.
    pub fn fallback_token(&self) -> Option<&str> {
        self.winleadplus_api_token
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|t| !t.is_empty())
    }
}

fn parse_ratio(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(format!(
            "not a ratio between 0 and 1 (e.g. 0.2 for 20 %): {value:?}"
        )),
    }
}

fn parse_cron(value: &str) -> Result<cron::Schedule, String> {
    cron::Schedule::from_str(value).map_err(|e| {
        format!("not a cron expression with seconds (sec min hour dom mon dow), e.g. \"0 0 * * * *\": {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let mut all = vec!["sync-service"];
        all.extend_from_slice(args);
        Config::try_parse_from(all)
    }

    #[test]
    fn defaults_follow_the_runtime_contract() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.grpc_addr.port(), 50053);
        assert_eq!(c.http_addr.port(), 8083);
        assert_eq!(c.sync_timezone, chrono_tz::Europe::Paris);
        assert!(c.keys.keys().unwrap().is_empty());
    }

    #[test]
    fn a_bad_key_or_cron_is_refused_with_a_clear_reason() {
        let e = parse(&["--token-encryption-key", "c2hvcnQ="])
            .unwrap_err()
            .to_string();
        assert!(e.contains("32 bytes"), "{e}");
        let e = parse(&["--sync-cron", "every hour"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cron"), "{e}");
        let e = parse(&["--sync-timezone", "Mars/Olympus"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("sync-timezone") || e.contains("Mars"), "{e}");
    }

    #[test]
    fn a_bad_key_is_refused_without_being_echoed() {
        // Valid base64 of 31 bytes.
        let key = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgg==";
        let e = parse(&["--token-encryption-key", key])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TOKEN_ENCRYPTION_KEY") && e.contains("32 bytes"),
            "{e}"
        );
        assert!(!e.contains("ZGVm"), "{e}");
    }

    #[test]
    fn the_default_endpoint_must_satisfy_the_egress_policy() {
        let validate = |args: &[&str]| parse(args).unwrap().validate().map_err(|e| e.to_string());
        let url = "--winleadplus-api-url";
        let hosts = "--winleadplus-allow-http-hosts";
        let sim = "http://127.0.0.1:8090";
        let cases: [(&[&str], Result<(), &str>); 5] = [
            (&[], Ok(())),
            (&[url, sim, hosts, "winleadplus-sim, 127.0.0.1"], Ok(())),
            (
                &[url, sim],
                Err(
                    "WINLEADPLUS_API_URL refused: 127.0.0.1 is a loopback address; internal \
                     addresses are only reachable for hosts listed in WINLEADPLUS_ALLOW_HTTP_HOSTS",
                ),
            ),
            (
                &[url, "http://wlp.example"],
                Err(
                    "WINLEADPLUS_API_URL refused: http is only allowed for hosts in \
                     WINLEADPLUS_ALLOW_HTTP_HOSTS; use https",
                ),
            ),
            (
                &[hosts, "http://sim:8090"],
                Err(
                    "WINLEADPLUS_ALLOW_HTTP_HOSTS: \"http://sim:8090\" is not a host name or an \
                     IP literal (give hosts only, without scheme, port or path, e.g. \
                     127.0.0.1,winleadplus-sim)",
                ),
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(
                validate(args).as_ref().map(drop).map_err(String::as_str),
                expected,
                "{args:?}"
            );
        }
    }

    #[test]
    fn the_archive_ratio_defaults_to_a_fifth_and_must_lie_between_0_and_1() {
        assert!((parse(&[]).unwrap().max_archive_ratio - 0.2).abs() < f64::EPSILON);
        let cases = [
            ("0", Some(0.0)),
            ("1", Some(1.0)),
            ("0.05", Some(0.05)),
            ("1.5", None),
            ("-0.1", None),
            ("NaN", None),
            ("a fifth", None),
        ];
        for (value, expected) in cases {
            let parsed = parse(&[&format!("--max-archive-ratio={value}")]);
            match expected {
                Some(ratio) => assert!(
                    (parsed.unwrap().max_archive_ratio - ratio).abs() < f64::EPSILON,
                    "{value}"
                ),
                None => {
                    let e = parsed.unwrap_err().to_string();
                    assert!(e.contains("between 0 and 1"), "{value}: {e}");
                }
            }
        }
    }

    #[test]
    fn the_key_never_prints() {
        let c = parse(&[
            "--token-encryption-key",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ])
        .unwrap();
        assert!(!format!("{c:?}").contains("AAAA"));
    }
}
