//! Pure mapping of WinLeadPlus prospects to CRM records.
//!
//! A prospect arrives as loosely typed JSON (keys spelled several ways, numbers as strings,
//! three date formats). [`map_prospect`] turns one into typed records — a client, its
//! principal address and its contracts — plus human-readable warnings and a change hash;
//! [`PayloadMapper`] does the same for a whole payload, one record at a time, and rejects
//! duplicate ids. The exact rules are in `docs/WINLEADPLUS_API.md`.
//!
//! Invariants: no I/O, no async, no panics. A problem in one field is a warning and a `None`;
//! only a prospect that cannot be identified (no object, no valid `idProspect`) is an error.

mod contract;
mod error;
mod hash;
mod id;
pub mod limits;
pub mod mask;
mod payload;
pub mod payment;
mod phone;
mod prospect;
mod record;
mod values;

pub use error::{MapError, RecordError};
pub use hash::data_hash;
pub use id::ProspectId;
pub use payload::{Mapped, PayloadMapper};
pub use phone::normalize_phone;
pub use prospect::map_prospect;
pub use record::{AddressRecord, ClientRecord, ContratRecord, LigneRecord, MappedProspect};

/// Version of the mapping rules; part of every [`data_hash`].
///
/// Bump it whenever the mapping changes: every stored hash then differs and the next sync
/// re-applies every prospect.
///
/// 2: amounts rounded to cents and bounded, quantities read, dates bounded to 1900–2100.
pub const MAPPER_VERSION: &str = "2";

/// The `source` the consumers write on what this crate maps.
pub const SOURCE: &str = "WinLeadPlus";
