//! The verifier: from the value of an `authorization` header to a [`Caller`]. Which
//! algorithms a token may use is decided here, from the configuration, before any key is
//! looked up: HS256 only with a shared secret, RS256 and ES256 only with a JWKS URL, nothing
//! else ever (`none`, HS512, …). So an HS256 token signed with the identity provider's public
//! key (the key-confusion attack) is refused when only the JWKS is configured, whatever its
//! `kid` says. `exp` is required and checked with 60 s of leeway, `nbf` when present, `iss`
//! and `aud` when configured.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::auth::caller::{Caller, Organisations, organisations_from_claim};
use crate::auth::config::{AuthConfig, ConfigError, Settings, VerifySettings};
use crate::auth::error::{AuthError, InvalidToken};
use crate::auth::jwks::Jwks;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// Verifies bearer tokens. Cheap to clone: clones share the cached key set.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    mode: Mode,
    reflection_public: bool,
}

enum Mode {
    Disabled,
    Verify(Box<Verifier>),
}

struct Verifier {
    /// Set when `AUTH_JWT_SECRET` is: the only key HS256 tokens are checked with.
    hs256: Option<DecodingKey>,
    /// Set when `AUTH_JWKS_URL` is: where RS256/ES256 keys come from.
    jwks: Option<Jwks>,
    /// `exp`, leeway, `nbf`, `iss`, `aud`; `algorithms` is set per token.
    validation: Validation,
    org_claim: String,
}

/// Logged at start and shown by `/readyz` while `AUTH_DISABLED=true`.
const DISABLED_WARNING: &str = "authentication is disabled (AUTH_DISABLED=true): every gRPC caller may read and change every organisation";

impl Authenticator {
    /// Checks `config` and builds the verifier. Nothing is fetched yet: the JWK set is
    /// fetched when the first RS256/ES256 token arrives.
    pub fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let mode = match config.settings()? {
            Settings::Disabled => {
                tracing::warn!("{DISABLED_WARNING}");
                Mode::Disabled
            }
            Settings::Verify(settings) => Mode::Verify(Box::new(Verifier::new(settings)?)),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                mode,
                reflection_public: config.reflection_public,
            }),
        })
    }

    /// `AUTH_DISABLED=true`: every call is accepted as a caller who may see every
    /// organisation. The service logs a warning at start and reports it in `/readyz`.
    pub fn is_disabled(&self) -> bool {
        matches!(self.inner.mode, Mode::Disabled)
    }

    /// What `/readyz` must say while authentication is off, else nothing.
    pub fn warning(&self) -> Option<&'static str> {
        self.is_disabled().then_some(DISABLED_WARNING)
    }

    /// `GRPC_REFLECTION_PUBLIC=true`: [`AuthLayer`](crate::auth::AuthLayer) lets server
    /// reflection through without a token.
    pub fn reflection_public(&self) -> bool {
        self.inner.reflection_public
    }

    /// The caller behind `authorization` (the header's value, `Bearer <jwt>`), or why the
    /// call must be refused.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        match &self.inner.mode {
            Mode::Disabled => Ok(Caller::unrestricted()),
            Mode::Verify(verifier) => verifier.verify(bearer_token(authorization)?).await,
        }
    }
}

impl fmt::Debug for Authenticator {
    /// Says how tokens are checked, never with what secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Authenticator");
        match &self.inner.mode {
            Mode::Disabled => out.field("disabled", &true),
            Mode::Verify(verifier) => out
                .field("hs256", &verifier.hs256.is_some())
                .field("jwks", &verifier.jwks.is_some())
                .field("org_claim", &verifier.org_claim),
        };
        out.field("reflection_public", &self.inner.reflection_public)
            .finish()
    }
}

impl Verifier {
    fn new(settings: VerifySettings) -> Result<Self, ConfigError> {
        let hs256 = settings
            .hs256_secret
            .as_ref()
            .map(|secret| DecodingKey::from_secret(secret.expose_secret().as_bytes()))
            .transpose()
            // Only an empty secret is refused, and settings() already set that aside.
            .map_err(|_| ConfigError::NotConfigured)?;
        let jwks = settings.jwks_url.map(Jwks::new).transpose()?;

        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(issuer) = &settings.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &settings.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            // Keycloak puts `aud: account` in every token; with no audience configured
            // there is nothing to compare it with.
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);

        Ok(Self {
            hs256,
            jwks,
            validation,
            org_claim: settings.org_claim,
        })
    }

    async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header = peek_header(token)?;
        let not_accepted = || AuthError::from(InvalidToken::AlgorithmNotAccepted);
        let algorithm = match header.alg.as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            _ => return Err(not_accepted()),
        };
        let jwks_key;
        let key = match algorithm {
            // Only ever the shared secret: never a key from the set, whatever `kid` says.
            Algorithm::HS256 => self.hs256.as_ref().ok_or_else(not_accepted)?,
            _ => {
                let jwks = self.jwks.as_ref().ok_or_else(not_accepted)?;
                let kid = header.kid.as_deref().ok_or(InvalidToken::MissingKeyId)?;
                jwks_key = jwks.key(kid, algorithm).await?;
                &jwks_key.key
            }
        };
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm];
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|error| invalid(error.into_kind()))?
            .claims;

        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(InvalidToken::BadClaim("sub".to_owned()).into()),
        };
        let organisations = organisations_from_claim(claims.get(&self.org_claim));
        Ok(Caller::new(subject, Organisations::Only(organisations)))
    }
}

/// The token of an `authorization: Bearer <jwt>` header (the scheme in any case).
fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(InvalidToken::NotBearer.into());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

/// The part of the JOSE header needed to choose a key.
#[derive(serde::Deserialize)]
struct PeekedHeader {
    alg: String,
    kid: Option<String>,
}

/// Reads the header before anything else, so the algorithm policy is ours, applied to the
/// raw `alg` string: `none` and names jsonwebtoken does not know are refused as "not
/// accepted" instead of "malformed". The signature is checked afterwards by `decode`.
fn peek_header(token: &str) -> Result<PeekedHeader, InvalidToken> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(InvalidToken::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| InvalidToken::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| InvalidToken::Malformed)
}

/// What the caller is told for each of jsonwebtoken's refusals.
fn invalid(kind: ErrorKind) -> AuthError {
    let reason = match kind {
        ErrorKind::ExpiredSignature => InvalidToken::Expired,
        ErrorKind::ImmatureSignature => InvalidToken::NotYetValid,
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => InvalidToken::BadSignature,
        ErrorKind::InvalidIssuer => InvalidToken::WrongIssuer,
        ErrorKind::InvalidAudience => InvalidToken::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => InvalidToken::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => InvalidToken::BadClaim(claim),
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => InvalidToken::AlgorithmNotAccepted,
        other => {
            tracing::debug!(kind = ?other, "token refused as malformed");
            InvalidToken::Malformed
        }
    };
    reason.into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::BTreeSet;
    use std::time::{SystemTime, UNIX_EPOCH};

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::auth::mint;

    const SECRET: &str = "a test secret that is long enough for HS256";
    const ORG_A: &str = "0b9d6a5e-0d55-4c5c-9d43-5a3f7e1c2b11";
    const ORG_B: &str = "7f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5";

    fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .try_into()
            .unwrap()
    }

    fn config() -> AuthConfig {
        AuthConfig {
            jwt_secret: Some(SECRET.into()),
            ..AuthConfig::default()
        }
    }

    fn authenticator(config: &AuthConfig) -> Authenticator {
        Authenticator::new(config).unwrap()
    }

    fn signed(claims: serde_json::Value) -> String {
        mint::hs256_sign(SECRET, &claims).unwrap()
    }

    fn orgs(list: &[&str]) -> Organisations {
        Organisations::Only(
            list.iter()
                .map(|s| Uuid::try_parse(s).unwrap())
                .collect::<BTreeSet<_>>(),
        )
    }

    async fn check(config: &AuthConfig, token: &str, expected: Result<Caller, AuthError>) {
        let header = format!("Bearer {token}");
        let actual = authenticator(config).authenticate(Some(&header)).await;
        assert_eq!(actual, expected, "{token}");
    }

    #[tokio::test]
    async fn a_valid_hs256_token_gives_its_subject_and_organisations() {
        let exp = now() + 300;
        let custom = AuthConfig {
            org_claim: "groups".to_owned(),
            ..config()
        };
        let path_a = format!("/orgs/{ORG_A}");
        let cases = [
            (
                config(),
                json!({"sub": "u", "exp": exp, "organisations": ORG_A}),
                orgs(&[ORG_A]),
            ),
            (
                config(),
                json!({"sub": "u", "exp": exp, "organisations": [ORG_A, ORG_B]}),
                orgs(&[ORG_A, ORG_B]),
            ),
            (
                config(),
                json!({"sub": "u", "exp": exp, "organisations": [path_a, "/orgs/acme"]}),
                orgs(&[ORG_A]),
            ),
            (
                custom.clone(),
                json!({"sub": "u", "exp": exp, "groups": [path_a]}),
                orgs(&[ORG_A]),
            ),
            (
                custom,
                json!({"sub": "u", "exp": exp, "organisations": ORG_A}),
                orgs(&[]),
            ),
            (config(), json!({"sub": "u", "exp": exp}), orgs(&[])),
        ];
        for (config, claims, organisations) in cases {
            check(
                &config,
                &signed(claims),
                Ok(Caller::new("u", organisations)),
            )
            .await;
        }
    }

    #[tokio::test]
    async fn the_minted_token_is_accepted() {
        let token = mint::hs256_token(
            SECRET,
            "alice",
            &[Uuid::try_parse(ORG_A).unwrap()],
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        check(&config(), &token, Ok(Caller::new("alice", orgs(&[ORG_A])))).await;
    }

    #[tokio::test]
    async fn time_claims_are_checked_with_a_minute_of_leeway() {
        let cases = [
            (json!({"sub": "u", "exp": now() - 30}), None),
            (
                json!({"sub": "u", "exp": now() - 120}),
                Some(InvalidToken::Expired),
            ),
            (
                json!({"sub": "u", "exp": now() + 300, "nbf": now() + 600}),
                Some(InvalidToken::NotYetValid),
            ),
            (
                json!({"sub": "u", "exp": now() + 300, "nbf": now() + 30}),
                None,
            ),
            (
                json!({"sub": "u", "exp": now() + 300, "nbf": now() - 30}),
                None,
            ),
            (
                json!({"sub": "u"}),
                Some(InvalidToken::MissingClaim("exp".to_owned())),
            ),
            // jsonwebtoken counts an `exp` that is not a number as absent.
            (
                json!({"sub": "u", "exp": "tomorrow"}),
                Some(InvalidToken::MissingClaim("exp".to_owned())),
            ),
        ];
        for (claims, refusal) in cases {
            let expected = match refusal {
                None => Ok(Caller::new("u", orgs(&[]))),
                Some(reason) => Err(reason.into()),
            };
            check(&config(), &signed(claims), expected).await;
        }
    }

    #[tokio::test]
    async fn issuer_and_audience_are_checked_only_when_configured() {
        let strict = AuthConfig {
            issuer: Some("https://idp.example/realms/crm".to_owned()),
            audience: Some("crm-api".to_owned()),
            ..config()
        };
        let exp = now() + 300;
        let ok = Ok(Caller::new("u", orgs(&[])));
        let cases = [
            (
                &strict,
                json!({"sub": "u", "exp": exp, "iss": "https://idp.example/realms/crm", "aud": "crm-api"}),
                ok.clone(),
            ),
            (
                &strict,
                json!({"sub": "u", "exp": exp, "iss": "https://idp.example/realms/crm", "aud": ["account", "crm-api"]}),
                ok.clone(),
            ),
            (
                &strict,
                json!({"sub": "u", "exp": exp, "iss": "https://evil.example", "aud": "crm-api"}),
                Err(InvalidToken::WrongIssuer.into()),
            ),
            (
                &strict,
                json!({"sub": "u", "exp": exp, "iss": "https://idp.example/realms/crm", "aud": "account"}),
                Err(InvalidToken::WrongAudience.into()),
            ),
            (
                &strict,
                json!({"sub": "u", "exp": exp, "aud": "crm-api"}),
                Err(InvalidToken::MissingClaim("iss".to_owned()).into()),
            ),
            (
                &strict,
                json!({"sub": "u", "exp": exp, "iss": "https://idp.example/realms/crm"}),
                Err(InvalidToken::MissingClaim("aud".to_owned()).into()),
            ),
        ];
        for (config, claims, expected) in cases {
            check(config, &signed(claims), expected).await;
        }
        // Keycloak's `aud: account` is no reason to refuse when no audience is configured.
        let loose = json!({"sub": "u", "exp": exp, "iss": "anyone", "aud": "account"});
        check(&config(), &signed(loose), ok).await;
    }

    #[tokio::test]
    async fn a_token_without_subject_is_refused() {
        for claims in [
            json!({"exp": now() + 60}),
            json!({"exp": now() + 60, "sub": ""}),
        ] {
            let expected = Err(InvalidToken::BadClaim("sub".to_owned()).into());
            check(&config(), &signed(claims), expected).await;
        }
    }

    #[tokio::test]
    async fn algorithms_outside_the_configuration_are_refused() {
        let claims = json!({"sub": "u", "exp": now() + 300});
        let encode = |alg: Algorithm, secret: &str| {
            jsonwebtoken::encode(
                &Header::new(alg),
                &claims,
                &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
            )
            .unwrap()
        };
        let b64 = |json: serde_json::Value| URL_SAFE_NO_PAD.encode(json.to_string());
        let unsigned = format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(claims.clone())
        );
        let rs256_header_hmac_signature = {
            let token = encode(Algorithm::HS256, SECRET);
            let (_, rest) = token.split_once('.').unwrap();
            format!("{}.{rest}", b64(json!({"alg": "RS256", "kid": "k"})))
        };
        for token in [
            unsigned,
            encode(Algorithm::HS512, SECRET),
            encode(Algorithm::HS384, SECRET),
            rs256_header_hmac_signature,
        ] {
            check(
                &config(),
                &token,
                Err(InvalidToken::AlgorithmNotAccepted.into()),
            )
            .await;
        }
    }

    #[tokio::test]
    async fn a_token_signed_with_another_secret_has_an_invalid_signature() {
        let token =
            mint::hs256_sign("another secret", &json!({"sub": "u", "exp": now() + 60})).unwrap();
        check(&config(), &token, Err(InvalidToken::BadSignature.into())).await;
    }

    #[tokio::test]
    async fn the_header_must_carry_a_bearer_token() {
        let authenticator = authenticator(&config());
        let token = signed(json!({"sub": "u", "exp": now() + 60}));
        let cases: [(Option<String>, Result<Caller, AuthError>); 9] = [
            (None, Err(AuthError::Missing)),
            (Some(String::new()), Err(AuthError::Missing)),
            (Some("Bearer ".to_owned()), Err(AuthError::Missing)),
            (Some("Bearer".to_owned()), Err(AuthError::Missing)),
            (
                Some(format!("Basic {token}")),
                Err(InvalidToken::NotBearer.into()),
            ),
            (Some(token.clone()), Err(InvalidToken::NotBearer.into())),
            (
                Some("Bearer not.a.jwt".to_owned()),
                Err(InvalidToken::Malformed.into()),
            ),
            (
                Some("Bearer a.b".to_owned()),
                Err(InvalidToken::Malformed.into()),
            ),
            (
                Some(format!("bEaReR  {token} ")),
                Ok(Caller::new("u", orgs(&[]))),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                authenticator.authenticate(header.as_deref()).await,
                expected,
                "{header:?}"
            );
        }
    }

    #[tokio::test]
    async fn refusal_messages_never_repeat_the_token() {
        let token = signed(json!({"sub": "u", "exp": now() - 3600}));
        let header = format!("Bearer {token}");
        let error = authenticator(&config())
            .authenticate(Some(&header))
            .await
            .unwrap_err();
        let status = tonic::Status::from(error);
        assert_eq!(status.message(), "token expired");
        let signature = token.rsplit('.').next().unwrap();
        assert!(!format!("{status:?}").contains(signature));
    }

    #[tokio::test]
    async fn disabled_authentication_lets_anyone_see_every_organisation() {
        let config = AuthConfig {
            disabled: true,
            ..AuthConfig::default()
        };
        let authenticator = authenticator(&config);
        assert!(authenticator.is_disabled());
        let caller = authenticator.authenticate(None).await.unwrap();
        assert_eq!(caller.organisations(), &Organisations::All);
    }

    #[test]
    fn debug_output_does_not_show_the_secret() {
        let printed = format!("{:?}", authenticator(&config()));
        assert!(!printed.contains(SECRET), "{printed}");
        assert!(!authenticator(&config()).is_disabled());
    }
}
