//! Who is calling, once the token has been verified: the typed [`Caller`] handlers and stores
//! see instead of the raw token. Its organisations come from one claim of the token (a string
//! or an array of strings); entries that are Keycloak group paths (`/orgs/<uuid>`) count as
//! their last segment, and entries that are not organisation ids are ignored.

use std::collections::BTreeSet;

use serde_json::Value;
use uuid::Uuid;

/// The authenticated caller of a gRPC method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    subject: String,
    organisations: Organisations,
}

/// The organisations a caller may read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Organisations {
    /// Every organisation (only when authentication is disabled).
    All,
    /// These and no other; possibly none at all.
    Only(BTreeSet<Uuid>),
}

impl Caller {
    /// A caller limited to `organisations` (or to none, given an empty set).
    pub fn new(subject: impl Into<String>, organisations: Organisations) -> Self {
        Self {
            subject: subject.into(),
            organisations,
        }
    }

    /// The caller [`Authenticator`](crate::auth::Authenticator) answers with when authentication
    /// is disabled: it may see every organisation.
    pub fn unrestricted() -> Self {
        Self::new("anonymous (authentication disabled)", Organisations::All)
    }

    /// The token's `sub`: who the caller is, for logs and audit columns.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The organisations the caller may see, for stores that filter by them.
    pub fn organisations(&self) -> &Organisations {
        &self.organisations
    }

    /// Whether the caller may read or write data of `organisation`.
    pub fn may_access(&self, organisation: Uuid) -> bool {
        self.organisations.contains(organisation)
    }
}

impl Organisations {
    /// Whether `organisation` is among these.
    pub fn contains(&self, organisation: Uuid) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(&organisation),
        }
    }

    /// The organisations the caller is limited to, or `None` when it may see every one:
    /// what a store puts in its `WHERE organisation_id = ANY(…)`.
    pub fn limited_to(&self) -> Option<&BTreeSet<Uuid>> {
        match self {
            Self::All => None,
            Self::Only(set) => Some(set),
        }
    }
}

/// The organisations named by the claim's value (absent, a string or an array of strings).
/// Anything else is ignored: a token with a surprising claim is authenticated but may see
/// nothing, which fails closed.
pub(crate) fn organisations_from_claim(value: Option<&Value>) -> BTreeSet<Uuid> {
    let entries: Vec<&Value> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    };
    entries
        .into_iter()
        .filter_map(|entry| match entry {
            Value::String(text) => organisation_id(text),
            _ => {
                tracing::debug!("ignoring an organisation claim entry that is not a string");
                None
            }
        })
        .collect()
}

/// `<uuid>` or a group path whose last segment is one (`/orgs/<uuid>`).
fn organisation_id(entry: &str) -> Option<Uuid> {
    let last = entry.trim().trim_end_matches('/').rsplit('/').next()?;
    match Uuid::try_parse(last) {
        Ok(id) => Some(id),
        Err(_) => {
            // Claims are not secrets; the entry says which group confused us.
            tracing::debug!(
                entry,
                "ignoring an organisation claim entry that is not an id"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const A: &str = "0b9d6a5e-0d55-4c5c-9d43-5a3f7e1c2b11";
    const B: &str = "7f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5";

    fn ids(list: &[&str]) -> BTreeSet<Uuid> {
        list.iter()
            .filter_map(|s| Uuid::try_parse(s).ok())
            .collect()
    }

    fn check(claim: Option<Value>, expected: &[&str]) {
        assert_eq!(
            organisations_from_claim(claim.as_ref()),
            ids(expected),
            "{claim:?}"
        );
    }

    #[test]
    fn a_single_string_names_one_organisation() {
        check(Some(json!(A)), &[A]);
    }

    #[test]
    fn an_array_names_each_of_its_organisations() {
        check(Some(json!([A, B])), &[A, B]);
    }

    #[test]
    fn a_keycloak_group_path_counts_as_its_last_segment() {
        check(
            Some(json!([format!("/orgs/{A}"), format!("/orgs/{B}/")])),
            &[A, B],
        );
        check(Some(json!(format!("/tenants/acme/{A}"))), &[A]);
    }

    #[test]
    fn entries_that_are_not_ids_are_ignored() {
        check(
            Some(json!(["/orgs/acme", "admin", 42, null, {"id": A}, A])),
            &[A],
        );
        check(Some(json!(true)), &[]);
        check(Some(json!({ "org": A })), &[]);
    }

    #[test]
    fn a_missing_or_empty_claim_gives_no_organisation() {
        check(None, &[]);
        check(Some(Value::Null), &[]);
        check(Some(json!([])), &[]);
        check(Some(json!("")), &[]);
    }

    #[test]
    fn a_caller_may_access_only_its_organisations() {
        let [a, b] = [A, B].map(|s| Uuid::try_parse(s).unwrap_or_default());
        let caller = Caller::new("alice", Organisations::Only(ids(&[A])));
        assert!(caller.may_access(a));
        assert!(!caller.may_access(b));
        assert_eq!(caller.organisations().limited_to(), Some(&ids(&[A])));

        let nobody = Caller::new("bob", Organisations::Only(BTreeSet::new()));
        assert!(!nobody.may_access(a));

        let everyone = Caller::unrestricted();
        assert!(everyone.may_access(a) && everyone.may_access(b));
        assert_eq!(everyone.organisations().limited_to(), None);
    }
}
