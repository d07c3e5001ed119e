//! The `winleadplus-sim` binary: configuration, logging, then the library's [`Sim`] until
//! SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use service_kit::{shutdown, telemetry};
use winleadplus_sim::{Config, Sim};

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init(config.log_format);
    let sim = match Sim::start_with(config.sim_config(), config.admin_access()).await {
        Ok(sim) => sim,
        Err(e) => {
            tracing::error!("winleadplus-sim cannot start: {e:#}");
            eprintln!("winleadplus-sim: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(url = %sim.prospects_url(), "serving prospects");
    shutdown::on_signal().cancelled().await;
    sim.stop().await;
    ExitCode::SUCCESS
}
