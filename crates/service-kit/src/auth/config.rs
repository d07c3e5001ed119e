//! Start-up configuration of authentication (ARCHITECTURE.md, "Security (contract)"): a clap
//! `Args` struct each service flattens into its own `Config`, so both read the same
//! environment variables. [`AuthConfig::validate`] turns it into the checked settings the
//! [`Authenticator`](crate::auth::Authenticator) is built from, or into one line saying what to set.

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Name of the claim holding the caller's organisations when `AUTH_ORG_CLAIM` is not set.
pub const DEFAULT_ORG_CLAIM: &str = "organisations";

/// How callers of the gRPC services are authenticated. Meant to be
/// `#[command(flatten)]`ed into a service's `Config`.
///
/// At least one of `AUTH_JWT_SECRET`, `AUTH_JWKS_URL` or `AUTH_DISABLED=true` must be set;
/// both a secret and a JWKS URL may be set, then HS256, RS256 and ES256 tokens are all
/// accepted.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// HS256 shared secret (the CRM services' `JWT_SECRET`). Never printed.
    #[arg(
        long = "auth-jwt-secret",
        env = "AUTH_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<SecretString>,

    /// URL of the identity provider's JSON Web Key Set (RS256/ES256 keys), e.g. Keycloak's
    /// `…/realms/<realm>/protocol/openid-connect/certs`. Fetched on first use, then again
    /// when a token names an unknown key (at most once a minute).
    #[arg(long = "auth-jwks-url", env = "AUTH_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// Required `iss` of every token, when set.
    #[arg(long = "auth-issuer", env = "AUTH_ISSUER")]
    pub issuer: Option<String>,

    /// Required `aud` of every token (one of its audiences), when set.
    #[arg(long = "auth-audience", env = "AUTH_AUDIENCE")]
    pub audience: Option<String>,

    /// Claim holding the caller's organisations: a string or an array of strings, each an
    /// organisation id or a group path such as `/orgs/<uuid>`.
    #[arg(long = "auth-org-claim", env = "AUTH_ORG_CLAIM", default_value = DEFAULT_ORG_CLAIM)]
    pub org_claim: String,

    /// Accept every call without a token, as a caller who may see every organisation. For
    /// local use only; only the value `true` disables authentication.
    #[arg(long = "auth-disabled", env = "AUTH_DISABLED", default_value_t = false)]
    pub disabled: bool,

    /// Leave gRPC server reflection open to callers without a token.
    #[arg(
        long = "grpc-reflection-public",
        env = "GRPC_REFLECTION_PUBLIC",
        default_value_t = false
    )]
    pub reflection_public: bool,
}

impl Default for AuthConfig {
    /// Nothing configured: [`validate`](Self::validate) refuses it until a secret, a JWKS
    /// URL or `disabled` is set.
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwks_url: None,
            issuer: None,
            audience: None,
            org_claim: DEFAULT_ORG_CLAIM.to_owned(),
            disabled: false,
            reflection_public: false,
        }
    }
}

/// Why an [`AuthConfig`] cannot be used. Each message is one line naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither a secret, nor a JWKS URL, nor `AUTH_DISABLED=true`.
    #[error(
        "authentication is not configured: set AUTH_JWT_SECRET or AUTH_JWKS_URL \
         (or AUTH_DISABLED=true for local use only)"
    )]
    NotConfigured,
    /// `AUTH_JWKS_URL` is not an absolute http(s) URL without credentials.
    #[error("AUTH_JWKS_URL must be an http or https URL without user or password: {reason}")]
    InvalidJwksUrl {
        /// What is wrong with it (the URL itself is not repeated: it could carry a password).
        reason: String,
    },
    /// `AUTH_ORG_CLAIM` is set to an empty string.
    #[error("AUTH_ORG_CLAIM must name a claim (default: {DEFAULT_ORG_CLAIM})")]
    EmptyOrgClaim,
    /// The HTTP client for the JWKS cannot be built (no TLS roots, for instance).
    #[error("cannot build the HTTP client for AUTH_JWKS_URL")]
    HttpClient(#[source] reqwest::Error),
    /// The TLS configuration of that client cannot be built.
    #[error("cannot build the HTTP client for AUTH_JWKS_URL")]
    Tls(#[from] crate::tls::TlsError),
}

/// The checked form of an [`AuthConfig`].
#[derive(Debug, Clone)]
pub(crate) enum Settings {
    /// `AUTH_DISABLED=true`: every call is let through.
    Disabled,
    /// Tokens are verified.
    Verify(VerifySettings),
}

/// What a token is checked against. At least one of `hs256_secret` and `jwks_url` is set.
#[derive(Debug, Clone)]
pub(crate) struct VerifySettings {
    pub(crate) hs256_secret: Option<SecretString>,
    pub(crate) jwks_url: Option<Url>,
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) org_claim: String,
}

impl AuthConfig {
    /// Checks the configuration. Empty values count as unset, since compose files and
    /// Helm charts often pass `VAR=` for "not set".
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.settings().map(|_| ())
    }

    pub(crate) fn settings(&self) -> Result<Settings, ConfigError> {
        if self.disabled {
            return Ok(Settings::Disabled);
        }
        let hs256_secret = self
            .jwt_secret
            .as_ref()
            .filter(|secret| !secret.expose_secret().is_empty())
            .cloned();
        let jwks_url = non_empty(&self.jwks_url).map(parse_jwks_url).transpose()?;
        if hs256_secret.is_none() && jwks_url.is_none() {
            return Err(ConfigError::NotConfigured);
        }
        let org_claim = self.org_claim.trim();
        if org_claim.is_empty() {
            return Err(ConfigError::EmptyOrgClaim);
        }
        Ok(Settings::Verify(VerifySettings {
            hs256_secret,
            jwks_url,
            issuer: non_empty(&self.issuer).map(str::to_owned),
            audience: non_empty(&self.audience).map(str::to_owned),
            org_claim: org_claim.to_owned(),
        }))
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_jwks_url(raw: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidJwksUrl {
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme is neither http nor https"));
    }
    // The URL is logged when the key set cannot be fetched: it must hold no secret.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it carries credentials"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        auth: AuthConfig,
    }

    fn parse(args: &[&str]) -> AuthConfig {
        let mut argv = vec!["service"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().auth
    }

    #[test]
    fn nothing_configured_fails_with_one_line_naming_the_variables() {
        let error = parse(&[]).validate().unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, ConfigError::NotConfigured));
        assert!(!message.contains('\n'));
        for variable in ["AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_DISABLED=true"] {
            assert!(message.contains(variable), "{message}");
        }
    }

    #[test]
    fn each_way_of_configuring_is_accepted_alone_or_together() {
        let cases: &[(&[&str], bool)] = &[
            (&["--auth-jwt-secret", "s3cret"], true),
            (&["--auth-jwks-url", "https://idp.example/certs"], true),
            (
                &[
                    "--auth-jwt-secret",
                    "s3cret",
                    "--auth-jwks-url",
                    "http://keycloak:8080/certs",
                ],
                true,
            ),
            (&["--auth-disabled"], true),
            (&["--auth-jwt-secret", ""], false),
            (&["--auth-jwks-url", "  "], false),
        ];
        for (args, ok) in cases {
            assert_eq!(parse(args).validate().is_ok(), *ok, "{args:?}");
        }
    }

    #[test]
    fn a_jwks_url_that_is_not_http_or_carries_credentials_is_refused_without_echoing_it() {
        for url in [
            "file:///etc/passwd",
            "not a url",
            "https://user:hunter2@idp.example/certs",
        ] {
            let error = parse(&["--auth-jwks-url", url]).validate().unwrap_err();
            assert!(matches!(error, ConfigError::InvalidJwksUrl { .. }), "{url}");
            assert!(!error.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn the_secret_does_not_print_in_debug_output() {
        let config = parse(&["--auth-jwt-secret", "hunter2"]);
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn defaults_are_the_organisations_claim_and_reflection_closed() {
        let config = parse(&["--auth-jwt-secret", "s"]);
        assert_eq!(config.org_claim, "organisations");
        assert!(!config.reflection_public);
        assert!(!config.disabled);
        assert_eq!(AuthConfig::default().org_claim, "organisations");
    }

    #[test]
    fn an_empty_org_claim_name_is_refused() {
        let error = parse(&["--auth-jwt-secret", "s", "--auth-org-claim", " "])
            .validate()
            .unwrap_err();
        assert!(matches!(error, ConfigError::EmptyOrgClaim));
    }
}
