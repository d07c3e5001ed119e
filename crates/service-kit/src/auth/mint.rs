//! Minting HS256 tokens the services accept, for tests, `cargo xtask token` and the demo.
//! Behind the `mint` cargo feature: a service has no reason to sign tokens, so its binary
//! carries no code that could.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use uuid::Uuid;

use crate::auth::config::DEFAULT_ORG_CLAIM;

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// HS256 needs a non-empty secret.
    #[error("the HS256 secret is empty")]
    EmptySecret,
    /// The system clock is before 1970 or `ttl` overflows it.
    #[error("the token's expiry cannot be computed from the system clock")]
    Clock,
    /// A token with characters a header cannot carry.
    #[error("the token is not ASCII")]
    NotAscii,
    /// Signing failed.
    #[error("cannot sign the token")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// A token for `subject`, member of `organisations` (in the default `organisations` claim),
/// valid for `ttl` from now, signed with `secret` (the services' `AUTH_JWT_SECRET`).
pub fn hs256_token(
    secret: &str,
    subject: &str,
    organisations: &[Uuid],
    ttl: Duration,
) -> Result<String, MintError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| MintError::Clock)?;
    let exp = now.checked_add(ttl).ok_or(MintError::Clock)?;
    let organisations: Vec<String> = organisations.iter().map(Uuid::to_string).collect();
    hs256_sign(
        secret,
        &json!({
            "sub": subject,
            "iat": now.as_secs(),
            "exp": exp.as_secs(),
            DEFAULT_ORG_CLAIM: organisations,
        }),
    )
}

/// A token with exactly these `claims`, signed with `secret`: for tests that need claims
/// [`hs256_token`] does not write (`iss`, `aud`, `nbf`, another organisation claim, none).
pub fn hs256_sign(secret: &str, claims: &serde_json::Value) -> Result<String, MintError> {
    if secret.is_empty() {
        return Err(MintError::EmptySecret);
    }
    let key = EncodingKey::from_secret(secret.as_bytes()).map_err(MintError::Sign)?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).map_err(MintError::Sign)
}

/// A gRPC client interceptor that sends `authorization: Bearer <token>` on every call
/// (`XClient::with_interceptor(channel, bearer)`), for tests and tools.
#[derive(Debug, Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    /// The interceptor for `token` (a JWT: ASCII by construction).
    pub fn new(token: &str) -> Result<Self, MintError> {
        MetadataValue::try_from(format!("Bearer {token}"))
            .map(Self)
            .map_err(|_| MintError::NotAscii)
    }

    /// Puts the header on one request (for a client without the interceptor).
    pub fn authorize<T>(&self, mut request: tonic::Request<T>) -> tonic::Request<T> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        request
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        Ok(self.authorize(request))
    }
}
