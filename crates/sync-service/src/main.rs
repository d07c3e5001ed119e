//! The `sync-service` binary: configuration, logging, then the library's `App` until SIGINT
//! or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use service_kit::{shutdown, telemetry, tls};
use sync_service::{App, Config};

#[tokio::main]
async fn main() -> ExitCode {
    tls::install_default_provider();
    let config = Config::parse();
    telemetry::init(config.log_format);
    shutdown::run_service("sync-service", App::build(config), App::run_until_stopped).await
}
