//! [`ProspectId`]: the WinLeadPlus `idProspect`, the key of a prospect everywhere in the CRM.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::error::MapError;

/// Longest raw value quoted in an error message, in characters.
const RAW_QUOTE_MAX: usize = 40;

/// A WinLeadPlus prospect id: a positive integer that fits in an `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ProspectId(i64);

impl ProspectId {
    /// Reads an `idProspect` value: an integer or a numeric string (trimmed).
    ///
    /// `null` is [`MapError::MissingId`]; anything else that is not a positive integer fitting
    /// in an `i64` (`"abc"`, `12.5`, `-4`, `99999999999999999999`) is [`MapError::InvalidId`],
    /// whose message quotes the raw value.
    pub fn parse(raw: &Value) -> Result<ProspectId, MapError> {
        let invalid = |reason| MapError::InvalidId {
            raw: quote(raw),
            reason,
        };
        match raw {
            Value::Null => Err(MapError::MissingId),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Self::positive(i).ok_or_else(|| invalid("not a positive integer"))
                } else if n.as_u64().is_some() {
                    Err(invalid("too large for a 64-bit integer"))
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    // 2^63: the smallest float that no i64 can hold.
                    let too_large = f.fract() == 0.0 && f >= 9_223_372_036_854_775_808.0;
                    Err(invalid(if too_large {
                        "too large for a 64-bit integer"
                    } else if f < 0.0 {
                        "not a positive integer"
                    } else {
                        "not an integer"
                    }))
                }
            }
            Value::String(s) => parse_text(s.trim()).map_err(invalid),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => Err(invalid("not an integer")),
        }
    }

    /// The id as an integer.
    pub fn get(self) -> i64 {
        self.0
    }

    fn positive(i: i64) -> Option<ProspectId> {
        (i > 0).then_some(ProspectId(i))
    }
}

impl fmt::Display for ProspectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for ProspectId {
    type Err = MapError;

    /// Parses the text of an id, with the rules of [`ProspectId::parse`] for a string.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_text(s.trim()).map_err(|reason| MapError::InvalidId {
            raw: quote_str(s),
            reason,
        })
    }
}

impl TryFrom<i64> for ProspectId {
    type Error = MapError;

    /// Accepts positive integers only.
    fn try_from(i: i64) -> Result<Self, Self::Error> {
        Self::positive(i).ok_or_else(|| MapError::InvalidId {
            raw: i.to_string(),
            reason: "not a positive integer",
        })
    }
}

impl From<ProspectId> for i64 {
    fn from(id: ProspectId) -> i64 {
        id.0
    }
}

/// Parses trimmed text as a positive `i64`, or says why it is not one.
fn parse_text(s: &str) -> Result<ProspectId, &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not an integer");
    }
    match s.parse::<i64>() {
        Ok(i) => ProspectId::positive(i).ok_or("not a positive integer"),
        Err(_) if negative => Err("not a positive integer"),
        Err(_) => Err("too large for a 64-bit integer"),
    }
}

/// The raw value as compact JSON, shortened for an error message.
fn quote(raw: &Value) -> String {
    match raw {
        Value::String(s) => quote_str(s),
        other => clip(other.to_string()),
    }
}

fn quote_str(s: &str) -> String {
    clip(Value::String(crate::limits::truncate(s, RAW_QUOTE_MAX).to_owned()).to_string())
}

fn clip(s: String) -> String {
    if s.chars().count() <= RAW_QUOTE_MAX {
        s
    } else {
        format!("{}…", crate::limits::truncate(&s, RAW_QUOTE_MAX))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn integers_and_numeric_strings_are_ids() {
        let cases = [
            (json!(1001), 1001),
            (json!("1002"), 1002),
            (json!("  42 "), 42),
            (json!("+7"), 7),
            (json!("007"), 7),
            (json!(i64::MAX), i64::MAX),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                ProspectId::parse(&raw).map(ProspectId::get),
                Ok(expected),
                "{raw}"
            );
        }
    }

    #[test]
    fn bad_ids_are_errors_that_quote_the_raw_value() {
        let cases = [
            (json!("abc"), "invalid idProspect \"abc\": not an integer"),
            (json!(12.5), "invalid idProspect 12.5: not an integer"),
            (json!("12.5"), "invalid idProspect \"12.5\": not an integer"),
            (json!(-4), "invalid idProspect -4: not a positive integer"),
            (
                json!("-4"),
                "invalid idProspect \"-4\": not a positive integer",
            ),
            (json!(0), "invalid idProspect 0: not a positive integer"),
            (
                json!(-2.5),
                "invalid idProspect -2.5: not a positive integer",
            ),
            (
                json!(u64::MAX),
                "invalid idProspect 18446744073709551615: too large for a 64-bit integer",
            ),
            (
                json!("99999999999999999999"),
                "invalid idProspect \"99999999999999999999\": too large for a 64-bit integer",
            ),
            (
                json!("-99999999999999999999"),
                "invalid idProspect \"-99999999999999999999\": not a positive integer",
            ),
            (json!(""), "invalid idProspect \"\": empty"),
            (json!("-"), "invalid idProspect \"-\": not an integer"),
            (json!(true), "invalid idProspect true: not an integer"),
            (json!([1]), "invalid idProspect [1]: not an integer"),
            (
                json!({"a": 1}),
                "invalid idProspect {\"a\":1}: not an integer",
            ),
            (Value::Null, "missing idProspect"),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                ProspectId::parse(&raw).unwrap_err().to_string(),
                expected,
                "{raw}"
            );
        }
    }

    #[test]
    fn a_big_99999999999999999999_literal_from_json_text_is_too_large() {
        let raw: Value = serde_json::from_str("99999999999999999999").unwrap();
        let message = ProspectId::parse(&raw).unwrap_err().to_string();
        // serde_json reads it as the float 1e20 and prints it in its own way (`1e+20`).
        assert_eq!(
            message,
            format!("invalid idProspect {raw}: too large for a 64-bit integer")
        );
    }

    #[test]
    fn long_raw_values_are_shortened_in_the_message() {
        let raw = json!("x".repeat(500));
        let message = ProspectId::parse(&raw).unwrap_err().to_string();
        assert!(message.chars().count() < 100, "{message}");
    }

    #[test]
    fn from_str_and_try_from_follow_the_same_rules() {
        assert_eq!("12".parse::<ProspectId>().map(ProspectId::get), Ok(12));
        assert!("abc".parse::<ProspectId>().is_err());
        assert_eq!(ProspectId::try_from(5).map(i64::from), Ok(5));
        assert!(ProspectId::try_from(0).is_err());
    }

    #[test]
    fn ids_display_and_serialize_as_plain_integers() {
        let id = ProspectId::parse(&json!("77")).unwrap();
        assert_eq!(id.to_string(), "77");
        assert_eq!(serde_json::to_string(&id).unwrap(), "77");
    }
}
