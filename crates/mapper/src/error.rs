//! Errors of the mapper: [`MapError`] for one prospect on its own, [`RecordError`] for a
//! record of a payload (it adds the record number and the raw id).

use std::fmt;

/// Why a prospect could not be mapped at all. Everything else is a warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The record is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// `idProspect` is missing or `null`.
    #[error("missing idProspect")]
    MissingId,
    /// `idProspect` is present but not a positive integer that fits in an `i64`.
    #[error("invalid idProspect {raw}: {reason}")]
    InvalidId {
        /// The raw value as compact JSON (strings keep their quotes), shortened when long.
        raw: String,
        /// What is wrong with it, e.g. `not an integer`.
        reason: &'static str,
    },
}

/// A record of a payload that was not mapped.
///
/// Displays as `prospect {id}: {reason}` when the raw id could be read, else as
/// `record {n}: {reason}` (e.g. `record 8: not a JSON object`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Position of the record in the payload, starting at 1.
    pub record: usize,
    /// The raw `idProspect` as text when it is a string or a number (even an invalid one).
    pub prospect_id: Option<String>,
    /// What went wrong, without the `prospect`/`record` prefix.
    pub reason: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.prospect_id {
            Some(id) => write!(f, "prospect {id}: {}", self.reason),
            None => write!(f, "record {}: {}", self.record, self.reason),
        }
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_errors_name_the_problem_and_the_raw_value() {
        let cases = [
            (MapError::NotAnObject, "not a JSON object"),
            (MapError::MissingId, "missing idProspect"),
            (
                MapError::InvalidId {
                    raw: "\"abc\"".into(),
                    reason: "not an integer",
                },
                "invalid idProspect \"abc\": not an integer",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn record_errors_prefer_the_prospect_id_over_the_record_number() {
        let known = RecordError {
            record: 11,
            prospect_id: Some("1001".into()),
            reason: "dup".into(),
        };
        let unknown = RecordError {
            record: 8,
            prospect_id: None,
            reason: "not a JSON object".into(),
        };
        assert_eq!(known.to_string(), "prospect 1001: dup");
        assert_eq!(unknown.to_string(), "record 8: not a JSON object");
    }
}
