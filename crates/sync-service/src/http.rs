//! The operator's HTTP endpoints: `/healthz` (the process runs), `/readyz` (PostgreSQL and
//! NATS answer) and `/metrics` (Prometheus text).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::db::{self, DbPool};
use crate::metrics::Metrics;

/// What the HTTP handlers need.
#[derive(Clone)]
pub struct HttpState {
    /// For the readiness check.
    pub pool: DbPool,
    /// For the readiness check.
    pub nats: async_nats::Client,
    /// For `/metrics`.
    pub metrics: Metrics,
}

/// The router of the operator endpoints.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<HttpState>) -> (StatusCode, String) {
    let database = db::ping(&state.pool).await;
    let nats = state.nats.connection_state();
    let nats_ok = matches!(nats, async_nats::connection::State::Connected);
    if database.is_ok() && nats_ok {
        return (StatusCode::OK, "ready".to_owned());
    }
    let mut problems = Vec::new();
    if let Err(e) = database {
        problems.push(format!("postgresql: {e}"));
    }
    if !nats_ok {
        problems.push(format!("nats: {nats}"));
    }
    (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n"))
}

async fn metrics(State(state): State<HttpState>) -> ([(&'static str, &'static str); 1], String) {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
