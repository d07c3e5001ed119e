//! The one place where client-core's errors become gRPC status codes.

use proto::tonic::Status;

use crate::error::Error;

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(m) => Status::invalid_argument(m),
            Error::Field(field) => Status::invalid_argument(field.to_string()),
            Error::NotFound { .. } => Status::not_found(e.to_string()),
            Error::PermissionDenied(forbidden) => forbidden.into(),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::Db(cause) => {
                // The cause (SQL, connection) is for the operator, not the frontend.
                tracing::error!(error = %cause, "database failure");
                match cause {
                    crate::db::DbError::Pool(_) => {
                        Status::unavailable("the client database is unavailable; try again shortly")
                    }
                    crate::db::DbError::Query(_) => Status::internal("internal error"),
                }
            }
        }
    }
}
