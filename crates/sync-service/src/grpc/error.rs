//! The one place where sync-service's errors become gRPC status codes.

use proto::tonic::Status;

use crate::error::Error;

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(m) => Status::invalid_argument(m),
            Error::NotFound(m) => Status::not_found(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::PermissionDenied(m) => Status::permission_denied(m),
            Error::Crypto(c) => Status::failed_precondition(c.to_string()),
            Error::Db(cause) => {
                // The cause (SQL, connection) is for the operator, not the frontend.
                tracing::error!(error = %cause, "database failure");
                match cause {
                    crate::db::DbError::Pool(_) => {
                        Status::unavailable("the sync database is unavailable; try again shortly")
                    }
                    crate::db::DbError::Query(_) => Status::internal("internal error"),
                }
            }
            Error::Internal(m) => {
                tracing::error!(error = %m, "internal failure");
                Status::internal("internal error")
            }
        }
    }
}
