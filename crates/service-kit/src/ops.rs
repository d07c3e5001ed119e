//! The operator's HTTP endpoints: `/healthz` (the process runs), `/readyz` (every named check
//! passes: 200 "ready", or 503 with one `name: reason` line per failing check) and `/metrics`
//! (the service's Prometheus registry as OpenMetrics text).
//!
//! The checks come from the service: the kit knows neither the database nor the broker.

use std::fmt::Display;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use futures::FutureExt;
use futures::future::{BoxFuture, join_all};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The content type of `/metrics`.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One readiness check: a name (the start of its `/readyz` line) and a probe that says why
/// the dependency is not usable.
#[derive(Clone)]
pub struct Check {
    name: &'static str,
    probe: Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>,
}

impl Check {
    /// A check named `name` that runs `probe` on a clone of `state` (a pool, a client) each
    /// time `/readyz` is asked; the error's text is the reason shown.
    pub fn new<S, F, Fut, E>(name: &'static str, state: S, probe: F) -> Self
    where
        S: Clone + Send + Sync + 'static,
        F: Fn(S) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        Self {
            name,
            probe: Arc::new(move || {
                probe(state.clone())
                    .map(|result| result.map_err(|e| e.to_string()))
                    .boxed()
            }),
        }
    }

    /// The check's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the probe once.
    pub async fn run(&self) -> Result<(), String> {
        (self.probe)().await
    }
}

/// The operator endpoints of one service: its registry and its readiness checks.
#[derive(Clone)]
pub struct Ops {
    registry: Arc<Registry>,
    checks: Arc<[Check]>,
    /// Lines `/readyz` adds after `ready` (a setting an operator must not miss, such as
    /// authentication switched off).
    warnings: Arc<[String]>,
}

impl Ops {
    /// Endpoints serving `registry` on `/metrics`, ready when every one of `checks` passes.
    pub fn new(registry: Arc<Registry>, checks: Vec<Check>) -> Self {
        Self {
            registry,
            checks: checks.into(),
            warnings: Arc::new([]),
        }
    }

    /// Adds a line `warning: {warning}` to every `/readyz` answer (ready or not).
    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        let mut warnings = self.warnings.to_vec();
        warnings.push(warning.into());
        self.warnings = warnings.into();
        self
    }

    /// The router of `/healthz`, `/readyz` and `/metrics`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(self)
    }

    /// Serves the router on `listener` until `shutdown` fires, then finishes the requests in
    /// hand.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    }

    /// Runs every check at once: `Ok` when all pass, else one `name: reason` line per
    /// failing check, in the order they were given.
    pub async fn readiness(&self) -> Result<(), String> {
        let results = join_all(self.checks.iter().map(Check::run)).await;
        let problems: Vec<String> = self
            .checks
            .iter()
            .zip(results)
            .filter_map(|(check, result)| result.err().map(|why| format!("{}: {why}", check.name)))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// The registry as OpenMetrics text; a metric that cannot be encoded is logged and the rest
/// served.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, registry) {
        tracing::error!(error = %e, "cannot encode metrics");
    }
    out
}

async fn readyz(State(ops): State<Ops>) -> (StatusCode, String) {
    let (status, mut body) = match ops.readiness().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(problems) => (StatusCode::SERVICE_UNAVAILABLE, problems),
    };
    for warning in ops.warnings.iter() {
        body.push_str("\nwarning: ");
        body.push_str(warning);
    }
    (status, body)
}

async fn metrics(State(ops): State<Ops>) -> ([(&'static str, &'static str); 1], String) {
    ([("content-type", OPENMETRICS)], render(&ops.registry))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use prometheus_client::metrics::counter::Counter;
    use tower::ServiceExt;

    use super::*;

    fn passing(name: &'static str) -> Check {
        Check::new(name, (), |()| async { Ok::<_, String>(()) })
    }

    fn failing(name: &'static str, why: &'static str) -> Check {
        Check::new(name, why, |why| async move { Err(why) })
    }

    async fn get(ops: &Ops, path: &str) -> (StatusCode, Option<String>, String) {
        let response = ops
            .clone()
            .router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn readyz_is_ready_only_when_every_check_passes_and_names_each_failure() {
        let cases: Vec<(Vec<Check>, StatusCode, &str)> = vec![
            (vec![], StatusCode::OK, "ready"),
            (
                vec![passing("postgresql"), passing("nats")],
                StatusCode::OK,
                "ready",
            ),
            (
                vec![passing("postgresql"), failing("nats", "disconnected")],
                StatusCode::SERVICE_UNAVAILABLE,
                "nats: disconnected",
            ),
            (
                vec![
                    failing("postgresql", "no database connection"),
                    failing("nats", "disconnected"),
                ],
                StatusCode::SERVICE_UNAVAILABLE,
                "postgresql: no database connection\nnats: disconnected",
            ),
        ];
        for (checks, status, body) in cases {
            let ops = Ops::new(Arc::new(Registry::default()), checks);
            let (got_status, _, got_body) = get(&ops, "/readyz").await;
            assert_eq!((got_status, got_body.as_str()), (status, body));
        }
    }

    #[tokio::test]
    async fn healthz_answers_without_running_the_checks() {
        let ops = Ops::new(
            Arc::new(Registry::default()),
            vec![failing("postgresql", "down")],
        );
        let (status, _, body) = get(&ops, "/healthz").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    }

    #[tokio::test]
    async fn metrics_serves_the_services_registry_as_openmetrics() {
        let mut registry = Registry::default();
        let counter = Counter::<u64>::default();
        registry.register("test_things", "Things counted", counter.clone());
        counter.inc();
        let ops = Ops::new(Arc::new(registry), vec![]);
        let (status, content_type, body) = get(&ops, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some(OPENMETRICS));
        assert!(body.contains("test_things_total 1"), "{body}");
    }
}
