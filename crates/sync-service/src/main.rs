//! The `sync-service` binary: configuration, logging, then the library's `App` until SIGINT
//! or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use service_kit::{shutdown, telemetry};
use sync_service::{App, Config};

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
    match app.run_until_stopped(shutdown::on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("sync-service stopped on an error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
