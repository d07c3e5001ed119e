//! The gRPC server of a service: its own services plus `grpc.health.v1.Health` (each added
//! service reported serving) and reflection (over the descriptor sets it is given), one
//! tracing span per call, the RPC-metrics layer, served on a bound listener until a
//! cancellation token fires.
//!
//! ```text
//! GrpcServer::new(metrics.rpc(), authenticator)
//!     .reflect(proto::FILE_DESCRIPTOR_SET)
//!     .add_service(ClientBaseServiceServer::new(service))
//!     .serve(listener, shutdown)
//!     .await?;
//! ```
//!
//! Every call goes through the tower layers of [`layers`], and only those: that function is
//! the one place a layer is added to both services. Outermost the RPC metrics (so a refused
//! call is counted too), then authentication ([`crate::auth::AuthLayer`]: every call but
//! health checks, and reflection unless it is public, needs a valid bearer token).

mod metrics;
mod status;

use std::convert::Infallible;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};

use crate::auth::{AuthLayer, Authenticator};

pub use metrics::{RpcMetrics, RpcMetricsLayer, RpcMetricsService, UNKNOWN_METHOD};

/// A handler's answer: its value as the response, or its error as the status the error
/// converts to (the service's one `From<Error> for Status`).
pub fn respond<T, E: Into<tonic::Status>>(
    result: Result<T, E>,
) -> Result<tonic::Response<T>, tonic::Status> {
    result.map(tonic::Response::new).map_err(Into::into)
}

/// Why the server could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A descriptor set given to [`GrpcServer::reflect`] cannot be decoded.
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed (accepting, HTTP/2).
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A gRPC server being put together; [`GrpcServer::serve`] runs it.
pub struct GrpcServer {
    routes: RoutesBuilder,
    /// Names of the added services, reported serving by the health service.
    served: Vec<&'static str>,
    /// Encoded `FileDescriptorSet`s reflection serves (the health service's is added).
    descriptor_sets: Vec<&'static [u8]>,
    metrics: RpcMetrics,
    authenticator: Authenticator,
}

impl GrpcServer {
    /// A server with health and reflection only, counting its calls into `metrics` and
    /// checking every caller with `authenticator`.
    pub fn new(metrics: RpcMetrics, authenticator: Authenticator) -> Self {
        Self {
            routes: RoutesBuilder::default(),
            served: Vec::new(),
            descriptor_sets: vec![tonic_health::pb::FILE_DESCRIPTOR_SET],
            metrics,
            authenticator,
        }
    }

    /// Adds a service (a generated `…Server`), reported `SERVING` by the health service.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.served.push(S::NAME);
        self
    }

    /// Lets reflection describe the services of an encoded `FileDescriptorSet` (what
    /// `grpcurl list` shows).
    pub fn reflect(mut self, encoded_file_descriptor_set: &'static [u8]) -> Self {
        self.descriptor_sets.push(encoded_file_descriptor_set);
        self
    }

    /// What `/readyz` must say about authentication (while it is off), else nothing.
    pub fn auth_warning(&self) -> Option<&'static str> {
        self.authenticator.warning()
    }

    /// Serves on `listener` until `shutdown` fires, then finishes the calls in hand.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), ServeError> {
        let Self {
            mut routes,
            served,
            descriptor_sets,
            metrics,
            authenticator,
        } = self;
        let (reporter, health) = tonic_health::server::health_reporter();
        for name in served {
            reporter
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        let reflection = descriptor_sets
            .into_iter()
            .fold(
                tonic_reflection::server::Builder::configure(),
                |builder, set| builder.register_encoded_file_descriptor_set(set),
            )
            .build_v1()?;
        routes.add_service(health).add_service(reflection);
        Server::builder()
            .trace_fn(|request| tracing::info_span!("grpc", path = %request.uri().path()))
            .layer(layers(metrics, authenticator))
            .add_routes(routes.routes())
            // Without TCP_NODELAY a small answer waits for the caller's delayed ACK (~40 ms on
            // Linux); tonic sets it only on listeners it binds itself.
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown.cancelled_owned(),
            )
            .await?;
        Ok(())
    }
}

/// The tower layers around every call, outermost first: the one place to add one. The
/// metrics layer stays outermost so that a call authentication refuses is counted too.
fn layers(
    metrics: RpcMetrics,
    authenticator: Authenticator,
) -> ServiceBuilder<Stack<AuthLayer, Stack<RpcMetricsLayer, Identity>>> {
    ServiceBuilder::new()
        .layer(RpcMetricsLayer::new(metrics))
        .layer(AuthLayer::new(authenticator))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prometheus_client::registry::Registry;
    use tonic::Code;
    use tonic::transport::Endpoint;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus as WireStatus;
    use tonic_health::pb::health_client::HealthClient;

    use super::*;

    /// An authenticator that lets every call through (authentication is tested in `auth/`).
    fn open() -> Authenticator {
        let config = crate::auth::AuthConfig {
            disabled: true,
            ..Default::default()
        };
        Authenticator::new(&config).unwrap()
    }

    /// A service that refuses every call (a stand-in for a generated server).
    #[derive(Clone)]
    struct Refuser;

    impl NamedService for Refuser {
        const NAME: &'static str = "test.Refuser";
    }

    impl tower::Service<http::Request<Body>> for Refuser {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(
            &mut self,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Infallible>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn call(&mut self, _request: http::Request<Body>) -> Self::Future {
            std::future::ready(Ok(tonic::Status::permission_denied("no").into_http()))
        }
    }

    #[tokio::test]
    async fn the_server_reports_added_services_serving_and_counts_ok_and_error_calls() {
        let mut registry = Registry::default();
        let metrics = RpcMetrics::register(&mut registry, "test_grpc_requests");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(
            GrpcServer::new(metrics, open())
                .add_service(Refuser)
                .serve(listener, shutdown.clone()),
        );
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        let check = |service: &str| HealthCheckRequest {
            service: service.to_owned(),
        };

        let serving = health.check(check("test.Refuser")).await.unwrap();
        let unknown = health.check(check("no.Such")).await.unwrap_err();

        assert_eq!(serving.into_inner().status(), WireStatus::Serving);
        assert_eq!(unknown.code(), Code::NotFound);
        let text = crate::ops::render(&registry);
        for line in [
            r#"test_grpc_requests_total{method="grpc.health.v1.Health/Check",code="Ok"} 1"#,
            r#"test_grpc_requests_total{method="grpc.health.v1.Health/Check",code="NotFound"} 1"#,
        ] {
            assert!(text.contains(line), "{line} not in {text}");
        }
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }
}
