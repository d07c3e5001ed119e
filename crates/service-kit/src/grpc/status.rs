//! Where the kit's request errors become a status code: the caller's mistake, so
//! `INVALID_ARGUMENT` with the message that names the field.

use tonic::Status;

use crate::fields::FieldError;

impl From<FieldError> for Status {
    fn from(e: FieldError) -> Self {
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
