//! The `sync-service` binary: configuration, logging, then the library's `App`.

use std::process::ExitCode;

use clap::Parser;
use sync_service::{App, Config, startup, telemetry};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init(config.log_format);
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("sync-service cannot start: {e:#}");
            eprintln!("sync-service: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        startup::shutdown_signal().await;
        tracing::info!("shutdown requested");
        signal.cancel();
    });
    match app.run_until_stopped(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("sync-service stopped on an error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
