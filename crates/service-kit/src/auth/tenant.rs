//! Tenancy as a parameter: the store methods that read or write an organisation's data take
//! either a [`Tenant`] (an organisation somebody checked) or the caller's
//! [`Organisations`] (lookups by id, filtered with [`Organisations::scope`]), so a query that
//! forgets the tenant does not compile.
//!
//! A handler gets a [`Tenant`] through [`Tenant::checked`], which refuses an organisation the
//! caller does not have with [`Forbidden`] (`PERMISSION_DENIED`) before anything is read. A
//! service's own jobs (a scheduled sync, an event) act for an organisation with no caller:
//! [`Tenant::trusted`], never with an id taken from a request.

use std::fmt;

use tonic::Status;
use uuid::Uuid;

use crate::auth::caller::Organisations;

/// An organisation the current work may read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenant(Uuid);

/// The caller asked for an organisation that is not theirs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("you may not access organisation {organisation}: {why}")]
pub struct Forbidden {
    /// The organisation asked for.
    pub organisation: Uuid,
    why: &'static str,
}

impl Tenant {
    /// `organisation` when it is among the caller's `organisations`, else [`Forbidden`],
    /// saying which organisation and why.
    pub fn checked(organisations: &Organisations, organisation: Uuid) -> Result<Self, Forbidden> {
        if organisations.contains(organisation) {
            return Ok(Self(organisation));
        }
        let why = match organisations.limited_to() {
            Some(set) if set.is_empty() => "your token names no organisation",
            _ => "it is not among the organisations of your token",
        };
        Err(Forbidden { organisation, why })
    }

    /// An organisation a service's own job acts for (no caller to check against).
    pub fn trusted(organisation: Uuid) -> Self {
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

impl From<Forbidden> for Status {
    fn from(e: Forbidden) -> Self {
        Status::permission_denied(e.to_string())
    }
}

impl Organisations {
    /// The organisations a query by id is limited to, as the array bound to
    /// `organisation_id = ANY(…)`; `None` when every organisation may be seen (no filter).
    /// An empty array matches nothing: what a caller without organisations may see.
    pub fn scope(&self) -> Option<Vec<Uuid>> {
        self.limited_to().map(|set| set.iter().copied().collect())
    }
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
        assert_eq!(
            Tenant::checked(&caller, foreign).unwrap_err().to_string(),
            format!(
                "you may not access organisation {foreign}: it is not among the organisations of your token"
            )
        );
        assert_eq!(
            Tenant::checked(&Organisations::All, foreign).unwrap().id(),
            foreign
        );
        assert_eq!(
            Tenant::checked(&Organisations::Only(BTreeSet::new()), own)
                .unwrap_err()
                .to_string(),
            format!("you may not access organisation {own}: your token names no organisation")
        );
    }

    #[test]
    fn the_scope_of_a_lookup_by_id_is_the_callers_organisations_or_none_at_all() {
        let own = Uuid::new_v4();
        assert_eq!(Organisations::All.scope(), None);
        assert_eq!(
            Organisations::Only(BTreeSet::from([own])).scope(),
            Some(vec![own])
        );
        assert_eq!(Organisations::Only(BTreeSet::new()).scope(), Some(vec![]));
    }
}
