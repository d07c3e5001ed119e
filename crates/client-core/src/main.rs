//! The `client-core` binary: configuration, logging, then the library's `App` until SIGINT
//! or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use client_core::{App, Config};
use service_kit::{shutdown, telemetry, tls};

/// jemalloc, not glibc's malloc: it gives freed memory back, so that a long-running
/// service's RSS follows its work instead of keeping the high-water mark of its busiest
/// moment (README, Soak).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tls::install_default_provider();
    let config = Config::parse();
    telemetry::init(config.log_format);
    shutdown::run_service("client-core", App::build(config), App::run_until_stopped).await
}
