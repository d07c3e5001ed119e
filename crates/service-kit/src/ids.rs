//! UUID fields of requests and events: the one rule for reading them (trimmed, required or
//! optional), failing with a [`FieldError`] that names the field.

use uuid::Uuid;

use crate::fields::FieldError;

/// Parses the required UUID field `field`, ignoring surrounding spaces.
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::Missing {
            field: field.to_owned(),
        });
    }
    Uuid::parse_str(value).map_err(|_| FieldError::NotUuid {
        field: field.to_owned(),
        value: value.to_owned(),
    })
}

/// Parses an optional UUID field: absent, empty or blank is `None`.
pub fn parse_optional_uuid(field: &str, value: Option<&str>) -> Result<Option<Uuid>, FieldError> {
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
