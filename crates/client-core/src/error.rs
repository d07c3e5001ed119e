//! The errors of client-core's domain operations. `grpc/error.rs` turns them into status
//! codes in one place; the NATS handlers turn them into per-item errors or retries.

use uuid::Uuid;

/// What went wrong with a request or an event.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something unusable; the message says what and how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// A request field that cannot be parsed (an id that is not a UUID, …); the message names
    /// the field.
    #[error(transparent)]
    Field(#[from] service_kit::fields::FieldError),
    /// No live client with that id among the caller's organisations.
    #[error("client {id} not found")]
    NotFound {
        /// The id asked for.
        id: Uuid,
    },
    /// The request names an organisation that is not among the caller's. Only for an
    /// organisation the caller sent; a client of another organisation asked for by id is
    /// [`Error::NotFound`], so that ids cannot be probed.
    #[error(transparent)]
    PermissionDenied(#[from] service_kit::auth::Forbidden),
    /// The request is well formed but the client's state forbids it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The database failed; the cause goes to the log, never to the caller.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}
