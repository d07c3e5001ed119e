//! A client's phone: the number as entered, which the CRM shows, and its normalized form,
//! which it matches on (linking an imported client to a manual one, `Search`). Both come from
//! one parse, so the stored pair can never disagree.

use crate::domain::optional_text;
use crate::error::Error;

/// A phone number as entered (trimmed, within the column limit) and its normalized form
/// ([`mapper::normalize_phone`], computed once here). A number without any digit is kept as
/// entered and has no normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    raw: String,
    normalized: Option<String>,
}

impl Phone {
    /// Parses an optional `telephone` field: absent or blank is `None`; longer than
    /// [`mapper::limits::TELEPHONE`] characters is refused.
    pub fn parse(value: Option<&str>) -> Result<Option<Self>, Error> {
        let raw = optional_text("telephone", value, mapper::limits::TELEPHONE)?;
        Ok(raw.map(|raw| Self {
            normalized: mapper::normalize_phone(&raw),
            raw,
        }))
    }

    /// The number as entered (trimmed).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The form numbers are matched on (`+33 6 12…` and `06.12…` give `0612…`); `None` when
    /// the number has no digit.
    pub fn normalized(&self) -> Option<&str> {
        self.normalized.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: Option<&str>, expected: Option<(&str, Option<&str>)>) {
        let phone = Phone::parse(input).ok().flatten();
        assert_eq!(
            phone.as_ref().map(|p| (p.as_str(), p.normalized())),
            expected,
            "{input:?}"
        );
    }

    #[test]
    fn a_phone_keeps_the_number_as_entered_and_its_normalized_form() {
        check(
            Some(" +33 6 12 34 56 78 "),
            Some(("+33 6 12 34 56 78", Some("0612345678"))),
        );
        check(
            Some("06.12.34.56.78"),
            Some(("06.12.34.56.78", Some("0612345678"))),
        );
        check(Some("inconnu"), Some(("inconnu", None)));
        check(Some("   "), None);
        check(None, None);
    }

    #[test]
    fn a_phone_longer_than_the_column_is_refused_naming_the_field() {
        let long = "6".repeat(mapper::limits::TELEPHONE + 1);
        let Err(e) = Phone::parse(Some(&long)) else {
            panic!("accepted")
        };
        assert!(e.to_string().starts_with("telephone is too long"), "{e}");
    }
}
