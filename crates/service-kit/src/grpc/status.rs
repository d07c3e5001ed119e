//! Where the kit's request errors become status codes: each is the caller's mistake, so
//! `INVALID_ARGUMENT` with the message that names the field.

use tonic::Status;

use crate::ids::InvalidId;
use crate::paging::PagingError;

impl From<InvalidId> for Status {
    fn from(e: InvalidId) -> Self {
        Status::invalid_argument(e.to_string())
    }
}

impl From<PagingError> for Status {
    fn from(e: PagingError) -> Self {
        Status::invalid_argument(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn request_errors_are_invalid_arguments_naming_the_field() {
        let check = |status: Status, message: &str| {
            assert_eq!(
                (status.code(), status.message()),
                (Code::InvalidArgument, message)
            );
        };
        check(
            crate::ids::parse_uuid("client_id", "x").unwrap_err().into(),
            "client_id must be a UUID, got \"x\"",
        );
        check(
            crate::paging::PageRequest::parse(-2, 0, "")
                .unwrap_err()
                .into(),
            "page must be 1 or more, got -2",
        );
    }
}
