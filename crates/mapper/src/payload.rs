//! [`PayloadMapper`]: maps the records of one payload in order, as they stream in, and rejects
//! a prospect id seen earlier in the same payload (the first occurrence wins).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_json::Value;

use crate::error::{MapError, RecordError};
use crate::hash::data_hash;
use crate::id::ProspectId;
use crate::limits;
use crate::prospect::{ID_KEY, map_identified};
use crate::record::MappedProspect;

/// Longest raw id kept in a [`RecordError`], in characters.
const RAW_ID_MAX: usize = 40;

/// One record of a payload, mapped or recognised as already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// New or changed data, mapped.
    Changed(Box<MappedProspect>),
    /// Data whose hash the caller already holds: not mapped.
    Unchanged {
        /// The prospect.
        external_id: ProspectId,
        /// Its hash (the same as the caller's).
        data_hash: String,
    },
}

fn map_prospect_unchecked(id: ProspectId, data_hash: String, raw: &Value) -> MappedProspect {
    match raw {
        Value::Object(map) => map_identified(id, data_hash, map),
        // `map_next_if_changed` only returns an id for objects.
        _ => map_identified(id, data_hash, &serde_json::Map::new()),
    }
}

/// Maps a payload one record at a time.
///
/// Keep one per payload (per sync): it numbers records from 1 and remembers which record
/// each prospect id came from.
#[derive(Debug, Default)]
pub struct PayloadMapper {
    /// Records seen so far, mapped or not.
    records: usize,
    /// Prospect id → record number of its first (mapped) occurrence.
    first_seen: HashMap<i64, usize>,
}

impl PayloadMapper {
    /// A mapper for a new payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps the next record of the payload.
    ///
    /// Fails for a record that [`crate::map_prospect`] rejects, and for a prospect id already
    /// mapped from an earlier record of this payload. Never panics.
    pub fn map_next(&mut self, raw: &Value) -> Result<MappedProspect, RecordError> {
        match self.map_next_if_changed(raw, |_, _| false)? {
            Mapped::Changed(mapped) => Ok(*mapped),
            // Unreachable with a predicate that never says "unchanged"; kept total.
            Mapped::Unchanged {
                external_id,
                data_hash,
            } => Ok(map_prospect_unchecked(external_id, data_hash, raw)),
        }
    }

    /// Like [`PayloadMapper::map_next`], but asks `unchanged(id, data_hash)` first and skips
    /// the mapping of a prospect whose data is already applied: an unchanged re-sync costs
    /// parsing and hashing only. Ids and duplicates are checked either way.
    pub fn map_next_if_changed(
        &mut self,
        raw: &Value,
        unchanged: impl FnOnce(ProspectId, &str) -> bool,
    ) -> Result<Mapped, RecordError> {
        self.records += 1;
        let record = self.records;
        let Value::Object(map) = raw else {
            return Err(RecordError {
                record,
                prospect_id: None,
                reason: MapError::NotAnObject.to_string(),
            });
        };
        let raw_id = map.get(ID_KEY).unwrap_or(&Value::Null);
        let id = ProspectId::parse(raw_id).map_err(|error| RecordError {
            record,
            prospect_id: raw_id_text(raw_id),
            reason: error.to_string(),
        })?;
        match self.first_seen.entry(id.get()) {
            Entry::Occupied(first) => Err(RecordError {
                record,
                prospect_id: raw_id_text(raw_id),
                reason: format!(
                    "duplicate of record {} in this payload (the first occurrence wins)",
                    first.get()
                ),
            }),
            Entry::Vacant(slot) => {
                slot.insert(record);
                let data_hash = data_hash(raw);
                if unchanged(id, &data_hash) {
                    Ok(Mapped::Unchanged {
                        external_id: id,
                        data_hash,
                    })
                } else {
                    Ok(Mapped::Changed(Box::new(map_identified(
                        id, data_hash, map,
                    ))))
                }
            }
        }
    }

    /// Counts a record that could not even be parsed (too large, too deep, invalid JSON) and
    /// returns its error: `prospect_id` is what could be read of its id, if anything.
    /// `reason` is given the record's number.
    pub fn reject(
        &mut self,
        prospect_id: Option<String>,
        reason: impl FnOnce(usize) -> String,
    ) -> RecordError {
        self.records += 1;
        RecordError {
            record: self.records,
            prospect_id,
            reason: reason(self.records),
        }
    }

    /// How many records [`PayloadMapper::map_next`] has seen.
    pub fn records(&self) -> usize {
        self.records
    }
}

/// The raw id as text when it is a string or a number, shortened when long.
fn raw_id_text(raw: &Value) -> Option<String> {
    let text = match raw {
        Value::String(s) => s.trim(),
        Value::Number(n) => return Some(n.to_string()),
        _ => return None,
    };
    match text {
        "" => None,
        short if short.chars().count() <= RAW_ID_MAX => Some(short.to_owned()),
        long => Some(format!("{}…", limits::truncate(long, RAW_ID_MAX))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn records_are_numbered_from_one_and_errors_say_which() {
        let mut mapper = PayloadMapper::new();
        assert!(mapper.map_next(&json!({ "idProspect": 1 })).is_ok());
        let error = mapper.map_next(&json!("x")).unwrap_err();
        assert_eq!(
            error,
            RecordError {
                record: 2,
                prospect_id: None,
                reason: "not a JSON object".into()
            }
        );
        assert_eq!(error.to_string(), "record 2: not a JSON object");
        assert_eq!(mapper.records(), 2);
    }

    #[test]
    fn a_rejected_record_takes_the_next_number_and_keeps_the_count() {
        let mut mapper = PayloadMapper::new();
        assert!(mapper.map_next(&json!({ "idProspect": 1 })).is_ok());
        let error = mapper.reject(Some("7".into()), |n| format!("record {n} is broken"));
        assert_eq!(error.to_string(), "prospect 7: record 2 is broken");
        assert_eq!(error.record, 2);
        let next = mapper.map_next(&json!("x")).unwrap_err();
        assert_eq!(next.record, 3);
        assert_eq!(mapper.records(), 3);
    }

    #[test]
    fn invalid_ids_keep_their_raw_text_when_readable() {
        let cases = [
            (json!({}), None, "record 1: missing idProspect"),
            (
                json!({ "idProspect": null }),
                None,
                "record 1: missing idProspect",
            ),
            (
                json!({ "idProspect": " abc " }),
                Some("abc"),
                "prospect abc: invalid idProspect \" abc \": not an integer",
            ),
            (
                json!({ "idProspect": -4 }),
                Some("-4"),
                "prospect -4: invalid idProspect -4: not a positive integer",
            ),
            (
                json!({ "idProspect": [] }),
                None,
                "record 1: invalid idProspect []: not an integer",
            ),
        ];
        for (raw, id, display) in cases {
            let error = PayloadMapper::new().map_next(&raw).unwrap_err();
            assert_eq!(error.prospect_id.as_deref(), id, "{raw}");
            assert_eq!(error.to_string(), display, "{raw}");
        }
    }

    #[test]
    fn a_repeated_id_fails_as_a_duplicate_of_the_first_record() {
        let mut mapper = PayloadMapper::new();
        assert!(mapper.map_next(&json!({ "idProspect": 1001 })).is_ok());
        assert!(mapper.map_next(&json!({ "idProspect": 1002 })).is_ok());
        let error = mapper
            .map_next(&json!({ "idProspect": "1001", "nom": "autre" }))
            .unwrap_err();
        assert_eq!(error.record, 3);
        assert_eq!(error.prospect_id.as_deref(), Some("1001"));
        assert_eq!(
            error.to_string(),
            "prospect 1001: duplicate of record 1 in this payload (the first occurrence wins)"
        );
    }

    #[test]
    fn a_failed_record_does_not_claim_its_id() {
        let mut mapper = PayloadMapper::new();
        assert!(mapper.map_next(&json!({ "idProspect": "12.0" })).is_err());
        assert!(mapper.map_next(&json!({ "idProspect": 12 })).is_ok());
    }

    #[test]
    fn long_raw_ids_are_shortened() {
        let error = PayloadMapper::new()
            .map_next(&json!({ "idProspect": "9".repeat(100) + "x" }))
            .unwrap_err();
        assert_eq!(
            error.prospect_id.map(|id| id.chars().count()),
            Some(RAW_ID_MAX + 1)
        );
    }

    #[test]
    fn an_unchanged_prospect_is_recognised_without_being_mapped() {
        let raw = json!({ "idProspect": 7, "nom": "Dupont", "informationsPaiement": [{ "iban": "FR00 bad" }] });
        let hash = crate::data_hash(&raw);
        let mut mapper = PayloadMapper::new();
        let seen = mapper
            .map_next_if_changed(&raw, |id, h| id.get() == 7 && h == hash)
            .unwrap();
        assert_eq!(
            seen,
            Mapped::Unchanged {
                external_id: ProspectId::try_from(7).unwrap(),
                data_hash: hash.clone()
            }
        );
        // Duplicates are still caught, and a changed hash is mapped in full.
        assert!(mapper.map_next_if_changed(&raw, |_, _| true).is_err());
        let mut fresh = PayloadMapper::new();
        let Mapped::Changed(m) = fresh.map_next_if_changed(&raw, |_, _| false).unwrap() else {
            panic!("mapped")
        };
        assert_eq!(m.data_hash, hash);
        assert!(!m.warnings.is_empty());
    }
}
