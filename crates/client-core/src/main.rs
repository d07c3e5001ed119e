//! The `client-core` binary: configuration, logging, then the library's `App`.

use std::process::ExitCode;

use clap::Parser;
use client_core::{App, Config, startup, telemetry};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init(config.log_format);
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("client-core cannot start: {e:#}");
            eprintln!("client-core: {e:#}");
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
            tracing::error!("client-core stopped on an error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
