//! What the integration tests share: signing keys (ES256 pairs made on the spot, one RS256
//! pair committed under `keys/` because generating RSA keys is slow), tokens signed with
//! them, and a JWK set served by a local axum server on 127.0.0.1 that counts its requests
//! and can rotate its keys or fail on demand.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::Generate;
use p256::pkcs8::EncodePrivateKey;
use service_kit::auth::{AuthConfig, Authenticator};
use uuid::Uuid;

/// The shared secret of HS256 tests.
pub const SECRET: &str = "integration-test secret, long enough for HS256";

/// A test-only RSA key pair (PKCS#1), never used outside these tests.
const RSA_PEM: &str = include_str!("keys/rsa-test-only.pem");

/// Seconds since the epoch: jsonwebtoken checks `exp` against the system clock.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Tokens checked with [`SECRET`] only.
pub fn secret_config() -> AuthConfig {
    AuthConfig {
        jwt_secret: Some(SECRET.into()),
        ..AuthConfig::default()
    }
}

/// A private key and the public JWK that verifies it.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    pub jwk: Jwk,
}

impl SigningKey {
    /// A fresh P-256 key pair.
    pub fn es256(kid: &str) -> Self {
        let secret = p256::SecretKey::generate();
        let der = secret.to_pkcs8_der().unwrap();
        Self::new(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_bytes()),
        )
    }

    /// The committed RSA key pair, under `kid`.
    pub fn rs256(kid: &str) -> Self {
        let body: String = RSA_PEM
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body).unwrap();
        Self::new(kid, Algorithm::RS256, EncodingKey::from_rsa_der(&der))
    }

    fn new(kid: &str, algorithm: Algorithm, encoding: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            algorithm,
            encoding,
            jwk,
        }
    }

    /// `claims` signed with this key, its kid in the header.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// A token for `subject` in `organisation`, valid five minutes.
    pub fn token(&self, subject: &str, organisation: Uuid) -> String {
        self.sign(&claims(subject, organisation))
    }
}

/// Claims of a token for `subject` in `organisation`, valid five minutes.
pub fn claims(subject: &str, organisation: Uuid) -> serde_json::Value {
    serde_json::json!({
        "sub": subject,
        "exp": now() + 300,
        "organisations": [format!("/orgs/{organisation}")],
    })
}

/// `claims` signed with HS256 and `secret`, `kid` in the header when given: what an
/// attacker can make without any private key.
pub fn hs256_with_kid(secret: &[u8], kid: Option<&str>, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

/// What anyone can read of a published RSA key, each a candidate HMAC secret for the
/// key-confusion attack: the JWK as served, and its modulus as text and as bytes.
pub fn public_material(key: &SigningKey) -> Vec<Vec<u8>> {
    let AlgorithmParameters::RSA(rsa) = &key.jwk.algorithm else {
        panic!("not an RSA key");
    };
    vec![
        serde_json::to_vec(&key.jwk).unwrap(),
        rsa.n.clone().into_bytes(),
        URL_SAFE_NO_PAD.decode(&rsa.n).unwrap(),
    ]
}

/// How the JWKS server answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    Fail,
    Redirect,
}

struct JwksState {
    keys: Mutex<(Mode, Vec<Jwk>)>,
    requests: AtomicUsize,
}

/// A JWK set on 127.0.0.1, port chosen by the system.
pub struct JwksServer {
    pub url: String,
    state: Arc<JwksState>,
}

impl JwksServer {
    /// Serves `keys` at `/certs` until the test's runtime ends.
    pub async fn start(keys: &[&SigningKey]) -> Self {
        let state = Arc::new(JwksState {
            keys: Mutex::new((Mode::Serve, keys.iter().map(|k| k.jwk.clone()).collect())),
            requests: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/certs", get(certs))
            .route("/elsewhere", get(elsewhere))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/certs", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// Requests `/certs` has answered so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Publishes `keys` instead of the current ones (a key rotation).
    pub fn publish(&self, keys: &[&SigningKey]) {
        self.state.keys.lock().unwrap().1 = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// Makes `/certs` answer 503, a redirect, or the keys again.
    pub fn set_mode(&self, mode: Mode) {
        self.state.keys.lock().unwrap().0 = mode;
    }

    /// An authenticator that trusts this server's keys and nothing else.
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(&AuthConfig {
            jwks_url: Some(self.url.clone()),
            ..AuthConfig::default()
        })
        .unwrap()
    }
}

async fn certs(State(state): State<Arc<JwksState>>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let (mode, keys) = state.keys.lock().unwrap().clone();
    match mode {
        Mode::Serve => axum::Json(JwkSet { keys }).into_response(),
        Mode::Fail => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Mode::Redirect => Redirect::temporary("/elsewhere").into_response(),
    }
}

/// Where a redirect points: a key set the authenticator must never read.
async fn elsewhere(State(state): State<Arc<JwksState>>) -> Response {
    let (_, keys) = state.keys.lock().unwrap().clone();
    axum::Json(JwkSet { keys }).into_response()
}
