//! The one shutdown signal of a process: a `CancellationToken` cancelled on SIGINT or SIGTERM.
//! Everything that runs (servers, consumers, the scheduler) takes a child of it, and runs as
//! one of the service's [`Parts`]; [`run_service`] is the body of both services' `main`.

use std::process::ExitCode;

use anyhow::Context;
use futures::future::{BoxFuture, join_all};
use tokio_util::sync::CancellationToken;

use crate::grpc::GrpcServer;
use crate::listeners::Listeners;
use crate::ops::Ops;

/// A token cancelled when SIGINT or SIGTERM arrives, watched by a task spawned here (so this
/// must be called inside the tokio runtime). Logs "shutdown requested" when it fires.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        signal().await;
        tracing::info!("shutdown requested");
        fire.cancel();
    });
    token
}

/// Resolves when SIGINT or SIGTERM arrives (only SIGINT where there is no SIGTERM).
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the process");
                wait_for_ctrl_c(ctrl_c).await;
            }
        }
    }
    #[cfg(not(unix))]
    wait_for_ctrl_c(ctrl_c).await;
}

/// Waits for Ctrl-C. When it cannot be listened for, that is logged and this never resolves:
/// a service that cannot hear signals keeps serving rather than stopping at once.
async fn wait_for_ctrl_c(ctrl_c: impl Future<Output = std::io::Result<()>>) {
    if let Err(e) = ctrl_c.await {
        tracing::warn!(error = %e, "cannot listen for Ctrl-C");
        std::future::pending::<()>().await;
    }
}

/// The parts of a running service (servers, consumers, the scheduler), run together under one
/// stop token: the first part to fail cancels it, so the others wind down too (better a
/// restart than half a service), and each part's end is logged by name.
pub struct Parts {
    stop: CancellationToken,
    parts: Vec<(&'static str, BoxFuture<'static, anyhow::Result<()>>)>,
}

impl Parts {
    /// Parts that stop when `stop` is cancelled (they are handed children of it).
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            stop,
            parts: Vec::new(),
        }
    }

    /// Adds a part, named for the logs.
    pub fn add(
        mut self,
        name: &'static str,
        part: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Self {
        self.parts.push((name, Box::pin(part)));
        self
    }

    /// Adds the gRPC server and the ops endpoints, on their listeners. While authentication
    /// is off, `/readyz` says so.
    pub fn servers(self, listeners: Listeners, grpc: GrpcServer, mut ops: Ops) -> Self {
        if let Some(warning) = grpc.auth_warning() {
            ops = ops.warn(warning);
        }
        let grpc = grpc.serve(listeners.grpc, self.stop.clone());
        let http = ops.serve(listeners.http, self.stop.clone());
        self.add("grpc", async { grpc.await.context("gRPC server failed") })
            .add("http", async { http.await.context("HTTP server failed") })
    }

    /// Runs every part to its end; the first error, if any, is returned once all have ended.
    pub async fn run(self) -> anyhow::Result<()> {
        let stop = self.stop;
        let ended = join_all(self.parts.into_iter().map(|(part, future)| {
            let stop = stop.clone();
            async move {
                let result = future.await;
                match &result {
                    Ok(()) => tracing::info!(part, "stopped"),
                    Err(e) => {
                        tracing::error!(part, error = %format!("{e:#}"), "failed; stopping the service")
                    }
                }
                stop.cancel();
                result
            }
        }))
        .await;
        ended.into_iter().collect()
    }
}

/// The body of a service's `main`: builds the app, runs it until SIGINT or SIGTERM, and turns
/// the outcome into an exit code, saying on stderr and in the log why it could not start or
/// why it stopped.
pub async fn run_service<A, Run>(
    name: &str,
    build: impl Future<Output = anyhow::Result<A>>,
    run: impl FnOnce(A, CancellationToken) -> Run,
) -> ExitCode
where
    Run: Future<Output = anyhow::Result<()>>,
{
    let app = match build.await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{name} cannot start: {e:#}");
            eprintln!("{name}: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match run(app, on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{name} stopped on an error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
