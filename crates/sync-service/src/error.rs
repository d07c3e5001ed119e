//! The errors of sync-service's operations. `grpc/error.rs` turns them into status codes in
//! one place.

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something unusable; the message says what and how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Well formed, but the current state forbids it (e.g. no token to sync with).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller may not do this (e.g. send the stored token elsewhere).
    #[error("{0}")]
    PermissionDenied(String),
    /// The database failed; the cause goes to the log, never to the caller.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// A stored secret cannot be used.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Anything else unexpected (a task that died, …).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

impl From<service_kit::fields::FieldError> for Error {
    fn from(e: service_kit::fields::FieldError) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl From<service_kit::auth::Forbidden> for Error {
    fn from(e: service_kit::auth::Forbidden) -> Self {
        Self::PermissionDenied(e.to_string())
    }
}
