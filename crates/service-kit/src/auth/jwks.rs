//! The identity provider's JSON Web Key Set, fetched and cached. The set is fetched lazily,
//! when the first RS256/ES256 token arrives (so a service starts, and answers health checks,
//! while the identity provider is still booting), and again whenever a token names a `kid`
//! the cache does not hold (the provider rotated its keys) — but at most once a minute,
//! however many unknown kids arrive, so forged tokens cannot make the service hammer the
//! provider. Time is `tokio::time::Instant`, which tests move with `tokio::time::advance`.
//!
//! Only signing keys the services accept are kept: RSA keys (for RS256) and P-256 keys (for
//! ES256), each with a `kid`, not marked for encryption, and whose own `alg`, when given,
//! agrees. A key that cannot be read is skipped, not fatal to the whole set.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::header::ACCEPT;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::auth::config::ConfigError;
use crate::auth::error::{AuthError, InvalidToken};

/// Least time between two fetches of the key set.
pub(crate) const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// A whole fetch, connection included; a token waits for it, so it is short.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A realm's key set is a few kilobytes; anything much larger is not one.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One verification key of the set, with the one algorithm it may verify.
#[derive(Debug)]
pub(crate) struct VerificationKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

/// The cached key set of one identity provider.
#[derive(Debug)]
pub(crate) struct Jwks {
    url: Url,
    client: reqwest::Client,
    /// The keys of the last successful fetch, by kid. Replaced whole, never edited; the lock
    /// is held only to clone or swap the `Arc`, never across an await.
    keys: RwLock<Arc<HashMap<String, Arc<VerificationKey>>>>,
    /// Serialises fetches (callers with the same unknown kid wait for one fetch instead of
    /// starting their own) and remembers when the last one was tried.
    refresh: Mutex<RefreshState>,
}

#[derive(Debug, Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    last_failed: bool,
}

/// Why a fetch of the key set failed; logged, never shown to a caller.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("request failed")]
    Http(#[from] reqwest::Error),
    #[error("answered HTTP {0} (redirects are not followed)")]
    Status(reqwest::StatusCode),
    #[error("the answer is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the answer is not a JWK set")]
    NotAKeySet(#[source] serde_json::Error),
}

impl Jwks {
    /// A cache for the key set at `url`; nothing is fetched yet.
    pub(crate) fn new(url: Url) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::client_config()?)
            // A redirect could lead the fetch to a host an attacker controls.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(ConfigError::HttpClient)?;
        Ok(Self {
            url,
            client,
            keys: RwLock::new(Arc::new(HashMap::new())),
            refresh: Mutex::new(RefreshState::default()),
        })
    }

    /// The key `kid` for a token whose header says `algorithm`, refreshing the set if the
    /// kid is unknown and the last fetch is a minute old.
    pub(crate) async fn key(
        &self,
        kid: &str,
        algorithm: Algorithm,
    ) -> Result<Arc<VerificationKey>, AuthError> {
        if let Some(key) = self.cached(kid) {
            return matching(key, algorithm);
        }
        let mut state = self.refresh.lock().await;
        // Another call may have fetched the set while this one waited for the lock.
        if let Some(key) = self.cached(kid) {
            return matching(key, algorithm);
        }
        let now = Instant::now();
        if let Some(last) = state.last_attempt
            && now.duration_since(last) < MIN_REFRESH_INTERVAL
        {
            return Err(if state.last_failed {
                AuthError::Unavailable
            } else {
                InvalidToken::UnknownKey.into()
            });
        }
        state.last_attempt = Some(now);
        match self.fetch().await {
            Ok(keys) => {
                state.last_failed = false;
                tracing::debug!(keys = keys.len(), "fetched the JWK set");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
            }
            Err(error) => {
                state.last_failed = true;
                tracing::warn!(
                    url = %self.url,
                    error = &error as &dyn std::error::Error,
                    "cannot fetch the JWK set; RS256/ES256 tokens with new keys are refused \
                     until the next attempt in a minute"
                );
                return Err(AuthError::Unavailable);
            }
        }
        match self.cached(kid) {
            Some(key) => matching(key, algorithm),
            None => Err(InvalidToken::UnknownKey.into()),
        }
    }

    fn cached(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.get(kid).cloned()
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<VerificationKey>>, FetchError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        parse_key_set(&body)
    }
}

/// A key may only verify the algorithm it was published for: an RSA key never checks an
/// ES256 token, whatever the token's header says.
fn matching(
    key: Arc<VerificationKey>,
    algorithm: Algorithm,
) -> Result<Arc<VerificationKey>, AuthError> {
    if key.algorithm == algorithm {
        Ok(key)
    } else {
        Err(InvalidToken::AlgorithmNotAccepted.into())
    }
}

/// The usable keys of a JWK set document, by kid.
fn parse_key_set(body: &[u8]) -> Result<HashMap<String, Arc<VerificationKey>>, FetchError> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet = serde_json::from_slice(body).map_err(FetchError::NotAKeySet)?;
    let mut keys = HashMap::new();
    for value in raw.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            tracing::debug!("skipping a JWK that cannot be read");
            continue;
        };
        if let Some((kid, key)) = verification_key(&jwk) {
            keys.entry(kid).or_insert_with(|| Arc::new(key));
        }
    }
    Ok(keys)
}

fn verification_key(jwk: &Jwk) -> Option<(String, VerificationKey)> {
    let kid = jwk.common.key_id.clone()?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let (algorithm, declared) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return None,
    };
    if jwk.common.key_algorithm.is_some_and(|alg| alg != declared) {
        return None;
    }
    match DecodingKey::from_jwk(jwk) {
        Ok(key) => Some((kid, VerificationKey { algorithm, key })),
        Err(error) => {
            tracing::debug!(kid, %error, "skipping a JWK that is not a valid key");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    // Key material only has to decode: these tests never verify a signature.
    fn rsa(extra: serde_json::Value) -> serde_json::Value {
        merge(
            json!({"kty": "RSA", "n": "A".repeat(344), "e": "AQAB"}),
            extra,
        )
    }

    fn ec(crv: &str, extra: serde_json::Value) -> serde_json::Value {
        let coordinate = "A".repeat(43);
        merge(
            json!({"kty": "EC", "crv": crv, "x": coordinate, "y": coordinate}),
            extra,
        )
    }

    fn merge(mut key: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
        key.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        key
    }

    fn kept(keys: Vec<serde_json::Value>) -> Vec<(String, Algorithm)> {
        let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
        let mut kept: Vec<_> = parse_key_set(&body)
            .unwrap()
            .into_iter()
            .map(|(kid, key)| (kid, key.algorithm))
            .collect();
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        kept
    }

    #[test]
    fn rsa_and_p256_signing_keys_are_kept_with_their_one_algorithm() {
        assert_eq!(
            kept(vec![
                rsa(json!({"kid": "r", "use": "sig", "alg": "RS256"})),
                ec("P-256", json!({"kid": "e"})),
            ]),
            vec![
                ("e".to_owned(), Algorithm::ES256),
                ("r".to_owned(), Algorithm::RS256)
            ]
        );
    }

    #[test]
    fn keys_the_services_cannot_use_are_skipped_not_fatal() {
        assert_eq!(
            kept(vec![
                rsa(json!({})),                                              // no kid
                rsa(json!({"kid": "enc", "use": "enc", "alg": "RSA-OAEP"})), // Keycloak's
                rsa(json!({"kid": "ps", "alg": "PS256"})),
                ec("P-384", json!({"kid": "p384"})),
                ec("P-256", json!({"kid": "es-as-rs", "alg": "RS256"})),
                json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
                json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "A".repeat(43)}),
                json!({"kid": "garbage"}),
                json!("not even an object"),
                rsa(json!({"kid": "good"})),
            ]),
            vec![("good".to_owned(), Algorithm::RS256)]
        );
    }

    #[test]
    fn a_document_that_is_not_a_key_set_is_an_error() {
        for body in [&b"<html>login</html>"[..], b"{}", b"{\"keys\": 1}"] {
            assert!(matches!(
                parse_key_set(body),
                Err(FetchError::NotAKeySet(_))
            ));
        }
    }

    #[test]
    fn a_key_verifies_only_the_algorithm_it_was_published_for() {
        let key = Arc::new(VerificationKey {
            algorithm: Algorithm::RS256,
            key: DecodingKey::from_rsa_components(&"A".repeat(344), "AQAB").unwrap(),
        });
        assert!(matching(key.clone(), Algorithm::RS256).is_ok());
        assert_eq!(
            matching(key, Algorithm::ES256).unwrap_err(),
            InvalidToken::AlgorithmNotAccepted.into()
        );
    }
}
