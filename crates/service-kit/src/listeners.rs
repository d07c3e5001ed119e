//! The two ports a service listens on, bound before it runs: gRPC for the CRM, HTTP for the
//! operator. Binding at build time means port 0 works (tests read the real port back) and a
//! port already taken fails start-up with a line naming it.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

/// A service's bound listeners.
pub struct Listeners {
    /// For the gRPC server.
    pub grpc: TcpListener,
    /// For the ops endpoints (`/healthz`, `/readyz`, `/metrics`).
    pub http: TcpListener,
}

impl Listeners {
    /// Binds both addresses.
    pub async fn bind(grpc: SocketAddr, http: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self {
            grpc: TcpListener::bind(grpc)
                .await
                .with_context(|| format!("cannot listen for gRPC on {grpc}"))?,
            http: TcpListener::bind(http)
                .await
                .with_context(|| format!("cannot listen for HTTP on {http}"))?,
        })
    }
}
