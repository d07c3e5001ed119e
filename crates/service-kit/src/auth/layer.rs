//! The tower layer that puts authentication in front of every gRPC method of a tonic server
//! (`Server::builder().layer(AuthLayer::new(authenticator))`). Health checks stay open (load
//! balancers and orchestrators call them without a token); server reflection stays open only
//! with `GRPC_REFLECTION_PUBLIC=true`. Any other call is answered with the gRPC status
//! straight away when its token is refused, without reaching the service; when accepted, the
//! [`Caller`] travels in the request extensions, where handlers find it with [`caller`].
//! No header grants a bypass: `x-internal-service` means nothing here.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::AUTHORIZATION;
use http::{Request, Response};
use tonic::Status;
use tower::{Layer, Service};

use crate::auth::authenticator::Authenticator;
use crate::auth::caller::Caller;
use crate::auth::error::{AuthError, InvalidToken};

/// gRPC paths answered without a token, whatever the configuration.
const ALWAYS_OPEN: &[&str] = &["/grpc.health.v1.Health/"];
/// gRPC paths answered without a token when reflection is public.
const REFLECTION: &[&str] = &[
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Authenticates every call but health checks (and reflection, when public).
#[derive(Debug, Clone)]
pub struct AuthLayer {
    authenticator: Authenticator,
}

impl AuthLayer {
    /// A layer checking tokens with `authenticator`.
    pub fn new(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Authenticator,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        if is_open(request.uri().path(), self.authenticator.reflection_public()) {
            return Box::pin(self.inner.call(request));
        }
        // The clone that was not driven to readiness stays here; the ready one serves this
        // call (tower's contract for services called from a future).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let outcome = match authorization(&request) {
                Ok(header) => authenticator.authenticate(header.as_deref()).await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(error) => {
                    tracing::debug!(path = request.uri().path(), %error, "call refused");
                    Ok(Status::from(error).into_http())
                }
            }
        })
    }
}

/// The [`Caller`] that [`AuthLayer`] attached to this request. Its absence means the layer
/// is not installed on the server, which must not let the call through: it is refused.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<&Caller, Status> {
    request.extensions().get::<Caller>().ok_or_else(|| {
        tracing::error!("no authenticated caller on the request: is AuthLayer installed?");
        Status::unauthenticated("missing bearer token")
    })
}

fn is_open(path: &str, reflection_public: bool) -> bool {
    let open = |prefixes: &[&str]| prefixes.iter().any(|prefix| path.starts_with(prefix));
    open(ALWAYS_OPEN) || (reflection_public && open(REFLECTION))
}

/// The one `authorization` header's value. Two of them, or one that is not visible ASCII,
/// are refused rather than guessed at.
fn authorization<B>(request: &Request<B>) -> Result<Option<String>, AuthError> {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match request.headers().contains_key(AUTHORIZATION) {
            true => Err(InvalidToken::NotBearer.into()),
            false => Ok(None),
        };
    };
    let value = value.to_str().map_err(|_| InvalidToken::Malformed)?;
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn health_is_always_open_and_reflection_only_when_public() {
        let cases = [
            ("/grpc.health.v1.Health/Check", false, true),
            ("/grpc.health.v1.Health/Watch", false, true),
            (
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                false,
                false,
            ),
            (
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                true,
                true,
            ),
            (
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                true,
                true,
            ),
            (
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                false,
                false,
            ),
            ("/clients.ClientBaseService/List", true, false),
            ("/grpc.health.v1.HealthX/Check", true, false),
            ("/x/grpc.health.v1.Health/Check", true, false),
        ];
        for (path, reflection_public, open) in cases {
            assert_eq!(
                is_open(path, reflection_public),
                open,
                "{path} {reflection_public}"
            );
        }
    }

    #[test]
    fn a_request_without_caller_is_refused() {
        let status = caller(&tonic::Request::new(())).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn the_authorization_header_is_read_once_and_strictly() {
        fn check(values: &[&[u8]], expected: Result<Option<String>, AuthError>) {
            let mut builder = Request::builder();
            for value in values {
                builder = builder.header(AUTHORIZATION, *value);
            }
            let request = builder.body(()).unwrap();
            assert_eq!(authorization(&request), expected, "{values:?}");
        }
        check(&[], Ok(None));
        check(&[b"Bearer x"], Ok(Some("Bearer x".to_owned())));
        check(
            &[b"Bearer x", b"Bearer y"],
            Err(InvalidToken::NotBearer.into()),
        );
        check(&[b"Bearer \xff"], Err(InvalidToken::Malformed.into()));
    }
}
