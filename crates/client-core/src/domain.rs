//! Domain values of client-core and the rules that make them valid: ids, e-mail, phone,
//! dates, the list query. The gRPC layer builds these from requests; the database layer takes
//! them.

mod phone;

use chrono::NaiveDate;
use service_kit::auth::Tenant;
use uuid::Uuid;

use crate::error::Error;

pub use phone::Phone;

/// The value of `source` for clients imported from WinLeadPlus.
pub const SOURCE_WINLEADPLUS: &str = mapper::SOURCE;
/// `statut` of a new client when none is given.
pub const DEFAULT_STATUT: &str = "ACTIF";
/// `type_client` of a new client when none is given.
pub const DEFAULT_TYPE_CLIENT: &str = "PARTICULIER";
/// Parses a required UUID field, naming the field in the error ([`service_kit::ids`] holds
/// the rule).
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, Error> {
    Ok(service_kit::ids::parse_uuid(field, value)?)
}

/// Parses an optional UUID field: absent or empty is `None`.
pub fn parse_optional_uuid(field: &str, value: Option<&str>) -> Result<Option<Uuid>, Error> {
    Ok(service_kit::ids::parse_optional_uuid(field, value)?)
}

/// Parses an optional `YYYY-MM-DD` date field: absent or empty is `None`.
pub fn parse_optional_date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, Error> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Error::invalid(format!("{field} must be a date YYYY-MM-DD, got {v:?}"))),
    }
}

/// Trims a required text field and refuses it empty or longer than `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(format!("{field} is required")));
    }
    check_len(field, value, max)?;
    Ok(value.to_owned())
}

/// Trims an optional text field: empty is `None`; longer than `max` characters is refused.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, Error> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            check_len(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), Error> {
    let len = value.chars().count();
    if len > max {
        return Err(Error::invalid(format!(
            "{field} is too long: {len} characters, at most {max}"
        )));
    }
    Ok(())
}

/// An e-mail address of a plausible form (`local@domain.tld`, no spaces); empty is `None`.
pub fn optional_email(value: Option<&str>) -> Result<Option<String>, Error> {
    let Some(email) = optional_text("email", value, mapper::limits::EMAIL)? else {
        return Ok(None);
    };
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(Some(email))
    } else {
        Err(Error::invalid(format!(
            "email is not a valid address: {email:?} (expected name@domain.tld)"
        )))
    }
}

/// An IBAN as the CRM stores it: compact and upper-case, valid under ISO 13616 — the rule
/// the mapper applies to WinLeadPlus data ([`mapper::payment::parse_iban`]). Empty is `None`.
/// The error masks the number: it may reach logs.
pub fn optional_iban(value: Option<&str>) -> Result<Option<String>, Error> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(raw) => mapper::payment::parse_iban(raw)
            .map(Some)
            .map_err(|e| Error::invalid(format!("iban {e}"))),
    }
}

/// A BIC (ISO 9362): 8 or 11 letters or digits, stored upper-case — the mapper's rule
/// ([`mapper::payment::parse_bic`]). Empty is `None`.
pub fn optional_bic(value: Option<&str>) -> Result<Option<String>, Error> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(raw) => mapper::payment::parse_bic(raw)
            .map(Some)
            .map_err(|e| Error::invalid(format!("bic {e}"))),
    }
}

/// The `source` filter of `List`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFilter {
    /// Clients imported from WinLeadPlus.
    WinLeadPlus,
    /// Clients created in the CRM (no external source).
    Crm,
}

impl SourceFilter {
    /// Parses the filter; empty means no filter.
    pub fn parse(value: Option<&str>) -> Result<Option<Self>, Error> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case(SOURCE_WINLEADPLUS) => Ok(Some(Self::WinLeadPlus)),
            Some(v) if v.eq_ignore_ascii_case("CRM") => Ok(Some(Self::Crm)),
            Some(v) => Err(Error::invalid(format!(
                "source must be \"WinLeadPlus\" or \"CRM\", got {v:?}"
            ))),
        }
    }
}

/// Columns `List` can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// Creation time (default).
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Last name.
    Nom,
    /// First name.
    Prenom,
    /// E-mail.
    Email,
}

impl SortField {
    /// Parses `sort_by` (snake_case or camelCase); empty is the default.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match value.trim() {
            "" | "created_at" | "createdAt" => Ok(Self::CreatedAt),
            "updated_at" | "updatedAt" => Ok(Self::UpdatedAt),
            "nom" => Ok(Self::Nom),
            "prenom" => Ok(Self::Prenom),
            "email" => Ok(Self::Email),
            other => Err(Error::invalid(format!(
                "sort_by must be one of created_at, updated_at, nom, prenom, email; got {other:?}"
            ))),
        }
    }
}

/// A validated `List` request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Whose clients: one of the caller's organisations.
    pub organisation: Tenant,
    /// Only this `statut`.
    pub statut: Option<String>,
    /// Only this company.
    pub societe_id: Option<Uuid>,
    /// Text to find in nom, prénom, e-mail or téléphone (case- and accent-insensitive).
    pub search: Option<String>,
    /// Only this origin.
    pub source: Option<SourceFilter>,
    /// Page number, from 1.
    pub page: i64,
    /// Page size, 1..=[`service_kit::paging::MAX_LIMIT`].
    pub limit: i64,
    /// Sort column; ties are broken by id so that pages are stable.
    pub sort: SortField,
    /// Descending order.
    pub descending: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_of_a_plausible_form_are_accepted_and_others_refused() {
        for ok in ["a@b.fr", "marie.dupont+crm@example.co.uk"] {
            assert_eq!(optional_email(Some(ok)).ok().flatten().as_deref(), Some(ok));
        }
        for bad in ["a", "a@b", "@b.fr", "a@@b.fr", "a b@c.fr", "a@.fr", "a@b."] {
            assert!(optional_email(Some(bad)).is_err(), "{bad} accepted");
        }
        assert!(matches!(optional_email(Some("  ")), Ok(None)));
    }

    #[test]
    fn ibans_are_compacted_checked_with_mod_97_and_errors_name_the_field() {
        assert_eq!(
            optional_iban(Some("fr76 3000 6000 0112 3456 7890 189"))
                .ok()
                .flatten()
                .as_deref(),
            Some("FR7630006000011234567890189")
        );
        assert!(matches!(optional_iban(Some(" ")), Ok(None)));
        assert!(matches!(optional_iban(None), Ok(None)));
        for bad in [
            "FR7630006000011234567890188",
            "hello",
            "ZZ7630006000011234567890189",
        ] {
            let Err(e) = optional_iban(Some(bad)) else {
                panic!("{bad} accepted")
            };
            let message = e.to_string();
            assert!(message.starts_with("iban "), "{message}");
            assert!(!message.contains("1234567890"), "unmasked: {message}");
        }
    }

    #[test]
    fn bics_are_8_or_11_letters_or_digits() {
        assert_eq!(
            optional_bic(Some("bnpafrpp")).ok().flatten().as_deref(),
            Some("BNPAFRPP")
        );
        assert!(matches!(optional_bic(Some("BNPAFRPPXXX")), Ok(Some(_))));
        assert!(matches!(optional_bic(Some("")), Ok(None)));
        for bad in ["BNPAFRP", "BNPAFRPPXX", "BNPA-RPP"] {
            let Err(e) = optional_bic(Some(bad)) else {
                panic!("{bad} accepted")
            };
            assert!(e.to_string().starts_with("bic "), "{e}");
        }
    }

    #[test]
    fn sort_by_knows_its_columns_and_refuses_others() {
        assert!(matches!(SortField::parse(""), Ok(SortField::CreatedAt)));
        assert!(matches!(
            SortField::parse("updatedAt"),
            Ok(SortField::UpdatedAt)
        ));
        assert!(matches!(SortField::parse("nom"), Ok(SortField::Nom)));
        assert!(SortField::parse("password").is_err());
    }

    #[test]
    fn source_filter_knows_winleadplus_and_crm_only() {
        assert!(matches!(
            SourceFilter::parse(Some("WinLeadPlus")),
            Ok(Some(SourceFilter::WinLeadPlus))
        ));
        assert!(matches!(
            SourceFilter::parse(Some("crm")),
            Ok(Some(SourceFilter::Crm))
        ));
        assert!(matches!(SourceFilter::parse(Some("")), Ok(None)));
        assert!(SourceFilter::parse(Some("Salesforce")).is_err());
    }

    #[test]
    fn uuids_and_dates_name_the_field_in_errors() {
        let Err(e) = parse_uuid("organisation_id", "nope") else {
            panic!("accepted")
        };
        assert!(e.to_string().contains("organisation_id"));
        let Err(e) = parse_optional_date("date_naissance", Some("31/12/1990")) else {
            panic!("accepted")
        };
        assert!(e.to_string().contains("date_naissance"));
        assert!(matches!(
            parse_optional_date("d", Some("1990-12-31")),
            Ok(Some(_))
        ));
    }
}
