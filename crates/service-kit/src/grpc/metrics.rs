//! The RPC-metrics tower layer: every call the server answers is counted by method
//! (`package.Service/Method`) and status code, whatever service it reached (ours, health,
//! reflection) — the handlers do not count anything themselves.
//!
//! The code is read from the response headers: a failed unary call is a trailers-only
//! response whose `grpc-status` header carries the code, while a successful one has no
//! status in its headers (it comes in the trailers, after the message). A stream is counted
//! when its headers leave, so a stream that fails later counts as `Ok`.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tonic::Code;
use tonic::codegen::http::{self, HeaderMap, StatusCode};
use tower::{Layer, Service};

/// The `method` label of calls no service implements. Their path is whatever the caller sent:
/// a label made of it would let any caller grow the metric without bound.
pub const UNKNOWN_METHOD: &str = "unknown";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: String,
    code: String,
}

/// The counter of gRPC calls by `method` and `code`, living in the service's registry
/// (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct RpcMetrics {
    calls: Family<RpcLabels, Counter>,
}

impl RpcMetrics {
    /// Registers the counter as `{name}_total` (e.g. `core_grpc_requests_total`) in the
    /// service's `registry`.
    pub fn register(registry: &mut Registry, name: &str) -> Self {
        let metrics = Self::default();
        registry.register(
            name,
            "gRPC calls by method and status code",
            metrics.calls.clone(),
        );
        metrics
    }

    /// Counts one call. `code` is written as tonic names it (`Ok`, `InvalidArgument`, …).
    fn count(&self, method: &str, code: Code) {
        let method = if code == Code::Unimplemented {
            UNKNOWN_METHOD
        } else {
            method
        };
        self.calls
            .get_or_create(&RpcLabels {
                method: method.to_owned(),
                code: format!("{code:?}"),
            })
            .inc();
    }
}

/// The layer that puts [`RpcMetricsService`] around the server's routes.
#[derive(Clone, Debug)]
pub struct RpcMetricsLayer {
    metrics: RpcMetrics,
}

impl RpcMetricsLayer {
    /// Counts into `metrics`.
    pub fn new(metrics: RpcMetrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// Counts each call `inner` answers once its response headers are ready.
#[derive(Clone, Debug)]
pub struct RpcMetricsService<S> {
    inner: S,
    metrics: RpcMetrics,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RpcMetricsService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_of(request.uri().path()).to_owned();
        let metrics = self.metrics.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            let code = match &response {
                Ok(response) => code_of(response.status(), response.headers()),
                // The server could not answer at all (tonic's own routes never do this).
                Err(_) => Code::Unknown,
            };
            metrics.count(&method, code);
            response
        })
    }
}

/// `package.Service/Method` of a gRPC path (`/package.Service/Method`).
fn method_of(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The code a response's headers announce: `grpc-status` when present (a trailers-only
/// response); without it, `Ok` for an HTTP 200 (the code follows in the trailers) and
/// `Unknown` for anything else.
fn code_of(status: StatusCode, headers: &HeaderMap) -> Code {
    match headers.get("grpc-status") {
        Some(code) => Code::from_bytes(code.as_bytes()),
        None if status == StatusCode::OK => Code::Ok,
        None => Code::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::ServiceExt;

    use super::*;

    /// Calls `path` through the layer around a service that answers `status` with `headers`.
    async fn call(
        metrics: &RpcMetrics,
        path: &str,
        status: u16,
        headers: &[(&'static str, &'static str)],
    ) {
        let headers: Vec<_> = headers.to_vec();
        let inner = tower::service_fn(move |_request: http::Request<()>| {
            let mut response = http::Response::builder().status(status);
            for (name, value) in &headers {
                response = response.header(*name, *value);
            }
            async move { Ok::<_, Infallible>(response.body(()).unwrap()) }
        });
        let request = http::Request::builder().uri(path).body(()).unwrap();
        RpcMetricsLayer::new(metrics.clone())
            .layer(inner)
            .oneshot(request)
            .await
            .unwrap();
    }

    fn exposition(registry: &Registry) -> String {
        crate::ops::render(registry)
    }

    /// A call of `path` answered with `status` and `headers`, and the labels it is counted
    /// under.
    struct Case {
        path: &'static str,
        status: u16,
        headers: &'static [(&'static str, &'static str)],
        labels: &'static str,
    }

    #[tokio::test]
    async fn each_call_is_counted_by_method_and_the_code_of_its_headers() {
        let cases = [
            Case {
                path: "/clients.ClientBaseService/Get",
                status: 200,
                headers: &[],
                labels: r#"{method="clients.ClientBaseService/Get",code="Ok"}"#,
            },
            Case {
                path: "/clients.ClientBaseService/Get",
                status: 200,
                headers: &[("grpc-status", "3")],
                labels: r#"{method="clients.ClientBaseService/Get",code="InvalidArgument"}"#,
            },
            Case {
                path: "/contrats.ContratService/Delete",
                status: 200,
                headers: &[("grpc-status", "9"), ("grpc-message", "read-only")],
                labels: r#"{method="contrats.ContratService/Delete",code="FailedPrecondition"}"#,
            },
            Case {
                path: "/no.Such/Thing",
                status: 200,
                headers: &[("grpc-status", "12")],
                labels: r#"{method="unknown",code="Unimplemented"}"#,
            },
            Case {
                path: "/clients.ClientBaseService/Get",
                status: 503,
                headers: &[],
                labels: r#"{method="clients.ClientBaseService/Get",code="Unknown"}"#,
            },
        ];
        for case in cases {
            let mut registry = Registry::default();
            let metrics = RpcMetrics::register(&mut registry, "test_grpc_requests");
            call(&metrics, case.path, case.status, case.headers).await;
            let text = exposition(&registry);
            let line = format!("test_grpc_requests_total{} 1", case.labels);
            assert!(text.contains(&line), "{}: {line} not in {text}", case.path);
        }
    }

    #[tokio::test]
    async fn calls_to_unknown_paths_share_one_label() {
        let mut registry = Registry::default();
        let metrics = RpcMetrics::register(&mut registry, "test_grpc_requests");
        for path in ["/a.B/C", "/x.Y/Z", "/random"] {
            call(&metrics, path, 200, &[("grpc-status", "12")]).await;
        }
        let text = exposition(&registry);
        assert!(
            text.contains(r#"test_grpc_requests_total{method="unknown",code="Unimplemented"} 3"#),
            "{text}"
        );
        assert!(!text.contains("a.B/C"), "{text}");
    }
}
