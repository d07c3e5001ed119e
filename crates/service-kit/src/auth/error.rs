//! Why a call was not authenticated, and the one place that decides which gRPC status each
//! reason becomes. Messages are written for the frontend developer who reads them in the
//! browser console: they say what is wrong with the token, never repeat it.

use tonic::Status;

/// Why [`Authenticator::authenticate`](crate::auth::Authenticator::authenticate) refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization` header, or an empty bearer token.
    #[error("missing bearer token")]
    Missing,
    /// A token was sent but is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidToken),
    /// The identity provider's key set could not be fetched, so the token cannot be checked
    /// now; the caller may retry.
    #[error("cannot check the token now: the identity provider's signing keys are unavailable")]
    Unavailable,
}

/// What is wrong with a token that was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    /// The header is not `Bearer <jwt>`.
    #[error("the authorization header is not a bearer token")]
    NotBearer,
    /// Not a signed JWT (three base64url parts with JSON inside).
    #[error("malformed bearer token")]
    Malformed,
    /// `alg` is none, unknown, or not enabled by this service's configuration.
    #[error("token algorithm not accepted")]
    AlgorithmNotAccepted,
    /// An RS256/ES256 token without a `kid` header (the key set cannot be searched).
    #[error("token has no key id (kid)")]
    MissingKeyId,
    /// The `kid` is not in the identity provider's key set, even after a refresh.
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// The signature does not match the key.
    #[error("token signature invalid")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("token issuer not accepted")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("token audience not accepted")]
    WrongAudience,
    /// A claim that must be there is not (`exp` always; `iss`, `aud` when configured).
    #[error("token has no {0} claim")]
    MissingClaim(String),
    /// A registered claim has the wrong type (`exp` as a string, say), or `sub` is missing.
    #[error("token claim {0} is invalid")]
    BadClaim(String),
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Missing | AuthError::Invalid(_) => {
                Status::unauthenticated(error.to_string())
            }
            AuthError::Unavailable => Status::unavailable(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn token_problems_are_unauthenticated_and_a_missing_key_set_is_unavailable() {
        let cases = [
            (
                AuthError::Missing,
                Code::Unauthenticated,
                "missing bearer token",
            ),
            (
                InvalidToken::Expired.into(),
                Code::Unauthenticated,
                "token expired",
            ),
            (
                InvalidToken::BadSignature.into(),
                Code::Unauthenticated,
                "token signature invalid",
            ),
            (
                AuthError::Unavailable,
                Code::Unavailable,
                "cannot check the token now: the identity provider's signing keys are unavailable",
            ),
        ];
        for (error, code, message) in cases {
            let status = Status::from(error);
            assert_eq!((status.code(), status.message()), (code, message));
        }
    }
}
