//! The `winleadplus-sim` binary: configuration, logging, then the library's [`Sim`] until
//! SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use winleadplus_sim::{Config, Sim, telemetry};

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
    shutdown_signal().await;
    tracing::info!("shutdown requested");
    sim.stop().await;
    ExitCode::SUCCESS
}

/// Resolves when SIGINT or SIGTERM arrives.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the simulator");
                let _ignored = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ignored = ctrl_c.await;
    }
}
