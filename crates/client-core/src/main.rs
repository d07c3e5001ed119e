//! The `client-core` binary: configuration, logging, then the library's `App` until SIGINT
//! or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use client_core::{App, Config};
use service_kit::{shutdown, telemetry, tls};

#[tokio::main]
async fn main() -> ExitCode {
    tls::install_default_provider();
    let config = Config::parse();
    telemetry::init(config.log_format);
    shutdown::run_service("client-core", App::build(config), App::run_until_stopped).await
}
