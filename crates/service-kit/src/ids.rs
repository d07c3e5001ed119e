//! UUID fields of requests and events: the one rule for reading them (trimmed, required or
//! optional) and an error that names the field. `grpc` turns it into `INVALID_ARGUMENT`; a
//! service's own error type may wrap it instead.

use uuid::Uuid;

/// A UUID field that is missing or malformed; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    /// The field is absent or blank.
    #[error("{field} is required")]
    Missing {
        /// The request field, e.g. `organisation_id`.
        field: String,
    },
    /// The field is not a UUID.
    #[error("{field} must be a UUID, got {value:?}")]
    Malformed {
        /// The request field.
        field: String,
        /// What the caller sent, trimmed.
        value: String,
    },
}

/// Parses the required UUID field `field`, ignoring surrounding spaces.
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, InvalidId> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InvalidId::Missing {
            field: field.to_owned(),
        });
    }
    Uuid::parse_str(value).map_err(|_| InvalidId::Malformed {
        field: field.to_owned(),
        value: value.to_owned(),
    })
}

/// Parses an optional UUID field: absent, empty or blank is `None`.
pub fn parse_optional_uuid(field: &str, value: Option<&str>) -> Result<Option<Uuid>, InvalidId> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_uuid(field, v).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6f1c1a3e-0000-4000-8000-000000000001";

    #[test]
    fn a_required_uuid_is_trimmed_and_errors_name_the_field() {
        let check = |value: &str, expected: Result<&str, &str>| {
            let got = parse_uuid("organisation_id", value)
                .map(|id| id.to_string())
                .map_err(|e| e.to_string());
            assert_eq!(
                got,
                expected.map(str::to_owned).map_err(str::to_owned),
                "{value:?}"
            );
        };
        check(ID, Ok(ID));
        check(&format!("  {ID}\n"), Ok(ID));
        check("", Err("organisation_id is required"));
        check("   ", Err("organisation_id is required"));
        check(
            " nope ",
            Err("organisation_id must be a UUID, got \"nope\""),
        );
    }

    #[test]
    fn an_optional_uuid_is_none_when_absent_or_blank() {
        let check = |value: Option<&str>, expected: Result<Option<&str>, ()>| {
            let got = parse_optional_uuid("societe_id", value)
                .map(|id| id.map(|id| id.to_string()))
                .map_err(|_| ());
            assert_eq!(got, expected.map(|id| id.map(str::to_owned)), "{value:?}");
        };
        check(None, Ok(None));
        check(Some(""), Ok(None));
        check(Some("  "), Ok(None));
        check(Some(ID), Ok(Some(ID)));
        check(Some("42"), Err(()));
    }
}
