//! Logging set-up: `RUST_LOG` filters (default `info`); JSON lines in production, pretty in
//! a terminal.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

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

/// Installs the global subscriber, writing to standard error. Only the first call installs
/// one (tests call this once per test); later calls change nothing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format.is_json(std::io::stderr().is_terminal()) {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if result.is_err() {
        tracing::debug!("a tracing subscriber was already installed");
    }
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
}
