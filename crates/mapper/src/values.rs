//! Lenient readers for the loosely typed fields of a prospect.
//!
//! WinLeadPlus spells keys several ways and sends numbers as strings, dates in three formats
//! and the odd `"oui"` for a boolean. Every reader here takes the first of several keys that
//! holds a value, cleans it (trim, no NUL, blank means absent) and returns `None` plus a
//! warning when the value is present but unusable. Nothing here panics or fails.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value};

use crate::limits;

/// Longest raw value quoted in a warning, in characters.
const QUOTE_MAX: usize = 40;

/// The warnings of one prospect, prefixed by the scope being read (e.g. `contrat 601`).
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    list: Vec<String>,
    scope: String,
}

impl Warnings {
    /// Records a warning in the current scope.
    pub(crate) fn push(&mut self, message: impl fmt::Display) {
        let warning = if self.scope.is_empty() {
            message.to_string()
        } else {
            format!("{}: {message}", self.scope)
        };
        self.list.push(warning);
    }

    /// Prefixes the following warnings with `scope` (empty: no prefix).
    pub(crate) fn set_scope(&mut self, scope: String) {
        self.scope = scope;
    }

    /// Stops prefixing warnings.
    pub(crate) fn clear_scope(&mut self) {
        self.scope.clear();
    }

    pub(crate) fn into_vec(self) -> Vec<String> {
        self.list
    }
}

/// A JSON object of the payload and where it sits (for warnings: `informationsPaiement[0]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'v, 'p> {
    map: &'v Map<String, Value>,
    path: &'p str,
}

/// Names a field in a warning: `key`, or `path.key` inside a nested object.
struct Label<'a> {
    path: &'a str,
    key: &'a str,
}

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(self.key)
        } else {
            write!(f, "{}.{}", self.path, self.key)
        }
    }
}

impl<'v, 'p> Obj<'v, 'p> {
    /// The top-level object of a prospect.
    pub(crate) fn root(map: &'v Map<String, Value>) -> Self {
        Obj { map, path: "" }
    }

    /// A nested object, named `path` in warnings.
    pub(crate) fn nested(map: &'v Map<String, Value>, path: &'p str) -> Self {
        Obj { map, path }
    }

    /// Where this object sits, as given to [`Obj::nested`]; empty for the root.
    pub(crate) fn path(self) -> &'p str {
        self.path
    }

    fn label<'a>(&'a self, key: &'a str) -> Label<'a> {
        Label {
            path: self.path,
            key,
        }
    }

    /// The first of `keys` holding a value: not `null`, not a blank string.
    pub(crate) fn find(self, keys: &[&'static str]) -> Option<(&'static str, &'v Value)> {
        keys.iter().find_map(|&key| match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if clean_str(s).is_empty() => None,
            Some(value) => Some((key, value)),
        })
    }

    /// Text: trimmed, without NUL, at most `max` characters (truncated with a warning).
    ///
    /// Numbers and booleans become their JSON text; arrays and objects are ignored with a warning.
    pub(crate) fn text(
        self,
        w: &mut Warnings,
        keys: &[&'static str],
        max: usize,
    ) -> Option<String> {
        let (key, value) = self.find(keys)?;
        let text = match value {
            Value::String(s) => clean(s),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => return None,
            Value::Array(_) | Value::Object(_) => {
                w.push(format_args!(
                    "{}: expected text, found {}",
                    self.label(key),
                    kind(value)
                ));
                return None;
            }
        };
        Some(limit(w, self.label(key), text, max))
    }

    /// A decimal number: a JSON number or a string such as `"1 234,50"`.
    pub(crate) fn decimal(self, w: &mut Warnings, keys: &[&'static str]) -> Option<Decimal> {
        let (key, value) = self.find(keys)?;
        let parsed = match value {
            Value::Number(n) => decimal_from_number(n),
            Value::String(s) => parse_decimal(s),
            _ => {
                w.push(format_args!(
                    "{}: expected a number, found {}",
                    self.label(key),
                    kind(value)
                ));
                return None;
            }
        };
        if parsed.is_none() {
            w.push(format_args!(
                "{}: unreadable number {}",
                self.label(key),
                quote(value)
            ));
        }
        parsed
    }

    /// An amount or a price for a `NUMERIC(14,2)` column: a [`Obj::decimal`] rounded to
    /// cents; one with more than 12 integer digits is dropped with a warning.
    pub(crate) fn money(self, w: &mut Warnings, keys: &[&'static str]) -> Option<Decimal> {
        self.fitted(w, keys, limits::money)
    }

    /// A quantity for an `INTEGER` column: a whole number that fits `i32`, else dropped with
    /// a warning.
    pub(crate) fn quantity(self, w: &mut Warnings, keys: &[&'static str]) -> Option<i32> {
        self.fitted(w, keys, |n| {
            if n.fract().is_zero() {
                n.to_i32()
            } else {
                None
            }
        })
    }

    /// A [`Obj::decimal`] that `fit` turns into what its column holds; `None` from `fit`
    /// drops the value with an "out of range" warning naming the field and the value.
    fn fitted<T>(
        self,
        w: &mut Warnings,
        keys: &[&'static str],
        fit: impl FnOnce(Decimal) -> Option<T>,
    ) -> Option<T> {
        let parsed = self.decimal(w, keys)?;
        let fitted = fit(parsed);
        if fitted.is_none() {
            let key = self.find(keys).map_or("", |(key, _)| key);
            w.push(format_args!(
                "{} {} out of range; not stored",
                self.label(key),
                limits::truncate(&parsed.to_string(), QUOTE_MAX)
            ));
        }
        fitted
    }

    /// A calendar date: `YYYY-MM-DD`, `DD/MM/YYYY` or an RFC 3339 timestamp, in the years
    /// 1900 to 2100 (a `DATE` column holds more, but nothing real from WinLeadPlus is outside).
    pub(crate) fn date(self, w: &mut Warnings, keys: &[&'static str]) -> Option<NaiveDate> {
        let (key, value) = self.find(keys)?;
        let parsed = value.as_str().and_then(parse_date);
        match parsed {
            None => w.push(format_args!(
                "{}: unreadable date {}",
                self.label(key),
                quote(value)
            )),
            Some(date) if !limits::date_in_range(date) => {
                w.push(format_args!(
                    "{} {} out of range; not stored",
                    self.label(key),
                    quote(value)
                ));
                return None;
            }
            Some(_) => {}
        }
        parsed
    }

    /// A boolean: JSON `true`/`false` or the strings `"true"`/`"false"`.
    pub(crate) fn boolean(self, w: &mut Warnings, keys: &[&'static str]) -> Option<bool> {
        let (key, value) = self.find(keys)?;
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_bool(s),
            _ => None,
        };
        if parsed.is_none() {
            w.push(format_args!(
                "{}: not a boolean {}",
                self.label(key),
                quote(value)
            ));
        }
        parsed
    }

    /// A nested object; any other kind of value is ignored with a warning.
    pub(crate) fn object(
        self,
        w: &mut Warnings,
        keys: &[&'static str],
    ) -> Option<(&'static str, &'v Map<String, Value>)> {
        let (key, value) = self.find(keys)?;
        match value {
            Value::Object(map) => Some((key, map)),
            _ => {
                w.push(format_args!(
                    "{}: expected an object, found {}",
                    self.label(key),
                    kind(value)
                ));
                None
            }
        }
    }

    /// A list; an object counts as a one-element list, other values are ignored with a warning.
    pub(crate) fn list(
        self,
        w: &mut Warnings,
        keys: &[&'static str],
    ) -> Option<(&'static str, &'v [Value])> {
        let (key, value) = self.find(keys)?;
        match value {
            Value::Array(items) => Some((key, items.as_slice())),
            Value::Object(_) => Some((key, std::slice::from_ref(value))),
            _ => {
                w.push(format_args!(
                    "{}: expected a list, found {}",
                    self.label(key),
                    kind(value)
                ));
                None
            }
        }
    }
}

/// `s` trimmed, NUL characters removed (PostgreSQL rejects them in text).
pub(crate) fn clean(s: &str) -> String {
    let trimmed = clean_str(s);
    if trimmed.contains('\0') {
        let without_nul: String = trimmed.chars().filter(|&c| c != '\0').collect();
        without_nul.trim().to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `s` without surrounding whitespace and NULs (inner NULs stay: see [`clean`]).
fn clean_str(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}

/// Truncates `text` to `max` characters, with a warning naming the field (never the value).
pub(crate) fn limit(
    w: &mut Warnings,
    field: impl fmt::Display,
    text: String,
    max: usize,
) -> String {
    let kept = limits::truncate(&text, max);
    if kept.len() == text.len() {
        return text;
    }
    w.push(format_args!("{field} truncated to {max} characters"));
    kept.trim_end().to_owned()
}

/// Parses `"1234"`, `"29.90"`, `"29,90"`, `"1 234,50"`, `"1.234,50"`, `"-3"`.
///
/// Spaces (including U+00A0 and U+202F) are digit-group separators. When both `.` and `,`
/// appear, the last one is the decimal separator and the other groups digits.
pub(crate) fn parse_decimal(s: &str) -> Option<Decimal> {
    let mut compact = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '0'..='9' | '.' | ',' | '-' | '+' => compact.push(c),
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    let decimal_point = match (compact.rfind('.'), compact.rfind(',')) {
        (Some(dot), Some(comma)) if comma > dot => Some(','),
        (Some(_), _) => Some('.'),
        (None, Some(_)) => Some(','),
        (None, None) => None,
    };
    let grouping = if decimal_point == Some(',') { '.' } else { ',' };
    let normalized: String = compact
        .chars()
        .filter(|&c| c != grouping)
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let unsigned = normalized.strip_prefix(['-', '+']).unwrap_or(&normalized);
    let well_formed = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && unsigned.bytes().filter(|&b| b == b'.').count() <= 1;
    if !well_formed {
        return None;
    }
    Decimal::from_str(&normalized).ok()
}

/// A JSON number as a decimal, exactly as written by serde_json (`29.9`, not `29.899999…`).
fn decimal_from_number(n: &serde_json::Number) -> Option<Decimal> {
    if let Some(i) = n.as_i64() {
        return Some(Decimal::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(Decimal::from(u));
    }
    let text = n.to_string();
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text).ok()
    } else {
        Decimal::from_str(&text).ok()
    }
}

/// Parses `YYYY-MM-DD`, `DD/MM/YYYY` or an RFC 3339 timestamp (its date as written).
///
/// The year must be written with exactly four digits and no sign: chrono alone would take
/// `+12345-01-01` or `-0001-01-01`.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let four_digit_year = match s.as_bytes() {
        [y0, y1, y2, y3, b'-', ..] => [y0, y1, y2, y3].iter().all(|b| b.is_ascii_digit()),
        [_, _, b'/', _, _, b'/', rest @ ..] => {
            rest.len() == 4 && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    if !four_digit_year {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.date_naive()))
}

/// `"true"` / `"false"`, trimmed, in any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// "a string", "an object", … for warnings about a value of the wrong kind.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A short quotation of a raw scalar for a warning; only the kind for lists and objects.
fn quote(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let short = limits::truncate(s, QUOTE_MAX);
            let ellipsis = if short.len() < s.len() { "…" } else { "" };
            format!("{short:?}{ellipsis}")
        }
        Value::Array(_) | Value::Object(_) => format!("({})", kind(value)),
        scalar => scalar.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn obj(value: &Value) -> Obj<'_, 'static> {
        Obj::root(value.as_object().unwrap())
    }

    #[test]
    fn numbers_are_read_from_json_numbers_and_french_or_english_strings() {
        let cases: [(Value, Option<&str>); 22] = [
            (json!(1234), Some("1234")),
            (json!(-3), Some("-3")),
            (json!(29.9), Some("29.9")),
            (json!(1e20), Some("100000000000000000000")),
            (json!(u64::MAX), Some("18446744073709551615")),
            (json!("1234"), Some("1234")),
            (json!("29.90"), Some("29.90")),
            (json!("29,90"), Some("29.90")),
            (json!("1 234,50"), Some("1234.50")),
            (json!("1\u{a0}234,50"), Some("1234.50")),
            (json!("1\u{202f}234,50"), Some("1234.50")),
            (json!("1.234,50"), Some("1234.50")),
            (json!("1,234.50"), Some("1234.50")),
            (json!(" -3 "), Some("-3")),
            (json!("+4"), Some("4")),
            (json!("abc"), None),
            (json!("12abc"), None),
            (json!("1.2.3"), None),
            (json!("1_000"), None),
            (json!("-"), None),
            (json!("3-4"), None),
            (json!("99999999999999999999999999999999999"), None),
        ];
        for (raw, expected) in cases {
            let value = json!({ "montant": raw });
            let mut w = Warnings::default();
            let got = obj(&value).decimal(&mut w, &["montant"]);
            let expected = expected.map(|e| Decimal::from_str(e).unwrap());
            assert_eq!(got, expected, "{raw}");
            assert_eq!(w.into_vec().len(), usize::from(expected.is_none()), "{raw}");
        }
    }

    #[test]
    fn unreadable_numbers_warn_with_the_field_and_value() {
        let value = json!({ "montant": "vingt" , "prix": [1]});
        let mut w = Warnings::default();
        assert_eq!(obj(&value).decimal(&mut w, &["montant"]), None);
        assert_eq!(obj(&value).decimal(&mut w, &["prix"]), None);
        assert_eq!(
            w.into_vec(),
            [
                "montant: unreadable number \"vingt\"",
                "prix: expected a number, found a list"
            ]
        );
    }

    #[test]
    fn dates_are_read_in_the_three_forms_and_impossible_ones_warn() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        let cases = [
            (json!("1984-03-12"), date(1984, 3, 12)),
            (json!("12/03/1984"), date(1984, 3, 12)),
            (json!(" 01/07/1990 "), date(1990, 7, 1)),
            (json!("1990-07-01T00:00:00Z"), date(1990, 7, 1)),
            (json!("2025-03-17T07:20:19.301Z"), date(2025, 3, 17)),
            (json!("1990-07-01T23:30:00-05:00"), date(1990, 7, 1)),
            (json!("1990-07-01T00:30:00+02:00"), date(1990, 7, 1)),
            (json!("31/02/1990"), None),
            (json!("1990-02-30"), None),
            (json!("1990-07-01 garbage"), None),
            (json!("07/01/90x"), None),
            (json!("demain"), None),
            (json!(19900701), None),
            (json!(true), None),
        ];
        for (raw, expected) in cases {
            let value = json!({ "dateNaissance": raw });
            let mut w = Warnings::default();
            assert_eq!(
                obj(&value).date(&mut w, &["dateNaissance"]),
                expected,
                "{raw}"
            );
            let warnings = w.into_vec();
            assert_eq!(warnings.len(), usize::from(expected.is_none()), "{raw}");
            assert!(
                warnings.iter().all(|w| w.starts_with("dateNaissance: ")),
                "{warnings:?}"
            );
        }
    }

    #[test]
    fn booleans_accept_json_bools_and_true_false_strings_only() {
        let cases = [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!("true"), Some(true)),
            (json!(" FALSE "), Some(false)),
            (json!("oui"), None),
            (json!(1), None),
            (json!({}), None),
        ];
        for (raw, expected) in cases {
            let value = json!({ "b": raw });
            let mut w = Warnings::default();
            assert_eq!(obj(&value).boolean(&mut w, &["b"]), expected, "{raw}");
            assert_eq!(w.into_vec().len(), usize::from(expected.is_none()), "{raw}");
        }
    }

    #[test]
    fn absent_null_and_blank_values_are_none_without_warning() {
        let value = json!({ "a": null, "b": "   ", "c": "\u{0}" });
        let o = obj(&value);
        let mut w = Warnings::default();
        for key in ["a", "b", "c", "missing"] {
            assert_eq!(o.text(&mut w, &[key], 10), None);
            assert_eq!(o.decimal(&mut w, &[key]), None);
            assert_eq!(o.date(&mut w, &[key]), None);
            assert_eq!(o.boolean(&mut w, &[key]), None);
            assert!(o.list(&mut w, &[key]).is_none());
        }
        assert!(w.into_vec().is_empty());
    }

    #[test]
    fn text_is_trimmed_freed_of_nul_and_made_from_scalars() {
        let cases = [
            (json!("  Dupont "), Some("Dupont")),
            (json!("Nul\u{0}Octet"), Some("NulOctet")),
            (json!("\u{0} x \u{0}"), Some("x")),
            (json!(1000), Some("1000")),
            (json!(12.5), Some("12.5")),
            (json!(true), Some("true")),
            (json!(["a"]), None),
            (json!({"a": 1}), None),
        ];
        for (raw, expected) in cases {
            let value = json!({ "nom": raw });
            let mut w = Warnings::default();
            assert_eq!(
                obj(&value).text(&mut w, &["nom"], 100).as_deref(),
                expected,
                "{raw}"
            );
        }
    }

    #[test]
    fn the_first_key_holding_a_value_wins() {
        let value = json!({ "a": null, "b": "", "c": "third", "d": "fourth" });
        let mut w = Warnings::default();
        assert_eq!(
            obj(&value)
                .text(&mut w, &["a", "b", "c", "d"], 10)
                .as_deref(),
            Some("third")
        );
        assert_eq!(
            obj(&value).text(&mut w, &["d", "c"], 10).as_deref(),
            Some("fourth")
        );
    }

    #[test]
    fn long_text_is_truncated_on_a_char_boundary_with_a_warning_naming_the_field() {
        let value = json!({ "nom": "é".repeat(150), "ville": "ab😀cd" });
        let mut w = Warnings::default();
        let nom = obj(&value).text(&mut w, &["nom"], 100).unwrap();
        assert_eq!(nom.chars().count(), 100);
        assert!(nom.chars().all(|c| c == 'é'));
        let ville = obj(&value).text(&mut w, &["ville"], 3).unwrap();
        assert_eq!(ville, "ab😀");
        assert_eq!(
            w.into_vec(),
            [
                "nom truncated to 100 characters",
                "ville truncated to 3 characters"
            ]
        );
    }

    #[test]
    fn lists_accept_a_single_object_as_a_one_element_list() {
        let value = json!({ "l": [1, 2], "o": {"x": 1}, "s": "no" });
        let mut w = Warnings::default();
        assert_eq!(
            obj(&value).list(&mut w, &["l"]).map(|(_, l)| l.len()),
            Some(2)
        );
        assert_eq!(
            obj(&value).list(&mut w, &["o"]).map(|(_, l)| l.len()),
            Some(1)
        );
        assert!(obj(&value).list(&mut w, &["s"]).is_none());
        assert_eq!(w.into_vec(), ["s: expected a list, found a string"]);
    }

    #[test]
    fn warnings_carry_the_scope_and_the_nested_path() {
        let value = json!({ "prix_base": "x" });
        let mut w = Warnings::default();
        w.set_scope("contrat 7".to_owned());
        Obj::nested(value.as_object().unwrap(), "offre").decimal(&mut w, &["prix_base"]);
        w.clear_scope();
        w.push("plain");
        assert_eq!(
            w.into_vec(),
            [
                "contrat 7: offre.prix_base: unreadable number \"x\"",
                "plain"
            ]
        );
    }

    #[test]
    fn quoted_values_are_short_and_escaped() {
        let long = json!({ "d": format!("{}\n", "x".repeat(100)) });
        let mut w = Warnings::default();
        obj(&long).date(&mut w, &["d"]);
        let warning = &w.into_vec()[0];
        assert!(warning.chars().count() < 70, "{warning}");
        assert!(!warning.contains('\n'));
    }
}
