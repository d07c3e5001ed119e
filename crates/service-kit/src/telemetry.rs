//! Logging set-up: `RUST_LOG` filters (default `info`); JSON lines in production, pretty in
//! a terminal. Whatever `RUST_LOG` asks, the database drivers and the NATS client stay at
//! `info`: their debug and trace lines print SQL bind parameters and message payloads, which
//! hold IBANs, social-security numbers and sealed tokens.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter::FilterExt, filter::Targets};

/// Targets held at `info` or quieter whatever `RUST_LOG` says: below it they log every
/// statement with its bind parameters (the database drivers) or every message with its
/// payload (`async_nats`).
pub const PINNED_TARGETS: &[&str] = &["tokio_postgres", "diesel", "diesel_async", "async_nats"];

/// How log lines are written (the services' `LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON when standard error is not a terminal, pretty otherwise.
    Auto,
    /// One JSON object per line (production).
    Json,
    /// Human-readable (terminal).
    Pretty,
}

impl LogFormat {
    /// Whether lines are JSON, given whether standard error is a terminal.
    fn is_json(self, on_terminal: bool) -> bool {
        match self {
            LogFormat::Json => true,
            LogFormat::Pretty => false,
            LogFormat::Auto => !on_terminal,
        }
    }
}

/// Installs the global subscriber, writing to standard error, filtered by `RUST_LOG`. Only
/// the first call installs one (tests call this once per test); later calls change nothing.
pub fn init(format: LogFormat) {
    let directives = std::env::var("RUST_LOG").unwrap_or_default();
    let on_terminal = std::io::stderr().is_terminal();
    let result = tracing_subscriber::registry()
        .with(layer(format, on_terminal, &directives, std::io::stderr))
        .try_init();
    if result.is_err() {
        tracing::debug!("a tracing subscriber was already installed");
    }
}

/// The services' log layer: `directives` (`RUST_LOG` syntax; empty or invalid means `info`)
/// with [`PINNED_TARGETS`] held at `info`, written by `writer`. Tests install it with a
/// writer of their own to read what the services would log.
pub fn layer<S, W>(
    format: LogFormat,
    on_terminal: bool,
    directives: &str,
    writer: W,
) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer().with_writer(writer);
    if format.is_json(on_terminal) {
        lines.json().with_filter(filter(directives)).boxed()
    } else {
        lines.with_filter(filter(directives)).boxed()
    }
}

/// `directives` (or `info`), and [`PINNED_TARGETS`] at `info` at most.
fn filter<S: Subscriber + for<'a> LookupSpan<'a>>(directives: &str) -> impl Filter<S> + use<S> {
    let asked = match EnvFilter::try_new(directives) {
        Ok(filter) if !directives.trim().is_empty() => filter,
        _ => EnvFilter::new("info"),
    };
    let pinned = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(PINNED_TARGETS.iter().map(|t| (*t, LevelFilter::INFO)));
    asked.and(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_writes_json_only_when_standard_error_is_not_a_terminal() {
        let check = |format: LogFormat, on_terminal: bool, json: bool| {
            assert_eq!(
                format.is_json(on_terminal),
                json,
                "{format:?} {on_terminal}"
            );
        };
        check(LogFormat::Auto, false, true);
        check(LogFormat::Auto, true, false);
        check(LogFormat::Json, true, true);
        check(LogFormat::Json, false, true);
        check(LogFormat::Pretty, false, false);
        check(LogFormat::Pretty, true, false);
    }

    #[test]
    fn log_format_reads_the_names_operators_write() {
        for (name, format) in [
            ("auto", LogFormat::Auto),
            ("json", LogFormat::Json),
            ("pretty", LogFormat::Pretty),
        ] {
            assert_eq!(LogFormat::from_str(name, true).ok(), Some(format), "{name}");
        }
        assert!(LogFormat::from_str("xml", true).is_err());
    }

    #[test]
    fn database_drivers_stay_at_info_whatever_rust_log_says() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::registry().with(layer(
            LogFormat::Pretty,
            false,
            "trace,tokio_postgres=trace,diesel=debug",
            lines.clone(),
        ));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "tokio_postgres::query", "executing with parameters [FR76…]");
            tracing::trace!(target: "diesel", "bind");
            tracing::info!(target: "tokio_postgres::connection", "connected");
            tracing::trace!(target: "sync_service", "kept");
        });
        let text = lines.text();
        assert!(!text.contains("FR76") && !text.contains("bind"), "{text}");
        assert!(
            text.contains("connected") && text.contains("kept"),
            "{text}"
        );
    }

    /// A writer into memory.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Lines {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Lines {
        type Writer = Lines;

        fn make_writer(&'w self) -> Lines {
            self.clone()
        }
    }
}
