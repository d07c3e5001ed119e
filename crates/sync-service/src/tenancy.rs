//! Tenancy as a parameter (STYLE.md): the store methods that read or write an organisation's
//! data take either a [`Tenant`] — an organisation id somebody has checked — or the caller's
//! [`Organisations`] (lookups by id), so a query that forgets the tenant does not compile.
//!
//! A handler gets a [`Tenant`] only through [`Tenant::checked`], which refuses an
//! organisation the caller does not have with `PERMISSION_DENIED` before anything is read.
//! The engine and the scheduler act for the service itself, with no caller: they use
//! [`Tenant::internal`], which only this crate can call.

use std::fmt;

pub use service_kit::auth::Organisations;
use uuid::Uuid;

use crate::error::Error;

/// An organisation the current work may read and write: one the caller has, or one the
/// service's own jobs act for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenant(Uuid);

impl Tenant {
    /// `organisation` when it is among the caller's `organisations`; `PERMISSION_DENIED`
    /// otherwise, with a message saying which organisation and why.
    pub fn checked(organisations: &Organisations, organisation: Uuid) -> Result<Self, Error> {
        if organisations.contains(organisation) {
            return Ok(Self(organisation));
        }
        let why = match organisations.limited_to() {
            Some(set) if set.is_empty() => "your token names no organisation",
            _ => "it is not among the organisations of your token",
        };
        Err(Error::PermissionDenied(format!(
            "you may not access organisation {organisation}: {why}"
        )))
    }

    /// An organisation the service acts for on its own (a scheduled sync, or a sync whose
    /// request was checked by its handler): no caller to check against.
    pub(crate) fn internal(organisation: Uuid) -> Self {
        Self(organisation)
    }

    /// The organisation's id, for the SQL filter and the rows written.
    pub fn id(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The organisations a query by id is limited to, as the array bound to
/// `organisation_id = ANY(…)`; `None` when the caller may see every organisation (no filter).
/// An empty array matches nothing, which is what a caller without organisations may see.
pub fn scope(organisations: &Organisations) -> Option<Vec<Uuid>> {
    organisations
        .limited_to()
        .map(|set| set.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn only_the_callers_organisations_are_tenants() {
        let (own, foreign) = (Uuid::new_v4(), Uuid::new_v4());
        let caller = Organisations::Only(BTreeSet::from([own]));
        assert_eq!(Tenant::checked(&caller, own).unwrap().id(), own);
        let refused = Tenant::checked(&caller, foreign).unwrap_err();
        assert!(
            matches!(&refused, Error::PermissionDenied(m)
                if m.contains(&foreign.to_string()) && m.contains("not among")),
            "{refused:?}"
        );
        assert_eq!(
            Tenant::checked(&Organisations::All, foreign).unwrap().id(),
            foreign
        );
        let nobody = Tenant::checked(&Organisations::Only(BTreeSet::new()), own).unwrap_err();
        assert!(
            matches!(&nobody, Error::PermissionDenied(m) if m.contains("names no organisation")),
            "{nobody:?}"
        );
    }

    #[test]
    fn the_scope_of_a_query_by_id_is_the_callers_organisations() {
        let own = Uuid::new_v4();
        assert_eq!(scope(&Organisations::All), None);
        assert_eq!(
            scope(&Organisations::Only(BTreeSet::from([own]))),
            Some(vec![own])
        );
        assert_eq!(scope(&Organisations::Only(BTreeSet::new())), Some(vec![]));
    }
}
