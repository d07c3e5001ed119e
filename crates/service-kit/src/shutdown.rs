//! The one shutdown signal of a process: a `CancellationToken` cancelled on SIGINT or SIGTERM.
//! Everything that runs (servers, consumers, the scheduler) takes a child of it.

use tokio_util::sync::CancellationToken;

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
