//! The change hash of a raw prospect: `sha256(MAPPER_VERSION || canonical JSON)`.
//!
//! Canonical JSON sorts object keys recursively (by their UTF-8 bytes) and is compact, with
//! serde_json's number and string formatting. It is written straight into the hasher, and sorts
//! keys itself, so it does not depend on serde_json's `preserve_order` feature.

use std::io;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::MAPPER_VERSION;

/// Hex SHA-256 of [`MAPPER_VERSION`] followed by the canonical JSON of `raw`.
///
/// Every key counts, known to the mapping or not; the order of keys does not.
pub fn data_hash(raw: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(MAPPER_VERSION.as_bytes());
    let written = write_canonical(&mut HashWriter(&mut hasher), raw);
    // HashWriter never fails, and serde_json only fails on I/O errors here.
    debug_assert!(written.is_ok(), "writing into a hasher failed: {written:?}");
    hex::encode(hasher.finalize())
}

/// Feeds written bytes to a hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `value` as canonical JSON: keys sorted recursively, no whitespace.
fn write_canonical<W: io::Write>(out: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.write_all(b"{")?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(out, item)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(out, item)?;
            }
            out.write_all(b"]")
        }
        scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn canonical(value: &Value) -> String {
        let mut out = Vec::new();
        write_canonical(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn canonical_json_sorts_keys_recursively_and_is_compact() {
        let cases = [
            (json!({}), "{}"),
            (
                json!({"b": 1, "a": [true, null, "x"]}),
                r#"{"a":[true,null,"x"],"b":1}"#,
            ),
            (
                json!({"z": {"y": 1, "x": {"b": 2, "a": 1}}}),
                r#"{"z":{"x":{"a":1,"b":2},"y":1}}"#,
            ),
            (
                json!([{"b": 1, "a": 2}, 1.5, "é\n\u{0}"]),
                r#"[{"a":2,"b":1},1.5,"é\n\u0000"]"#,
            ),
            (json!({"B": 1, "a": 2, "É": 3}), r#"{"B":1,"a":2,"É":3}"#),
        ];
        for (value, expected) in cases {
            assert_eq!(canonical(&value), expected);
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_version_and_the_canonical_json() {
        // Reference values computed independently (Python hashlib).
        assert_eq!(
            data_hash(&json!({})),
            "fc6c9dfb980dfcf5904b0fe24b7743cb0c6683186c4926900c434be87faf9e2a"
        );
        assert_eq!(
            data_hash(&json!({"b": 1.5, "a": [true, null, "x\u{0}é"]})),
            "540edded532a1b26a0b7cb4efce6d9d36894e96f77baea5ab16522d8e375ed7e"
        );
    }

    #[test]
    fn reordering_keys_keeps_the_hash() {
        let a: Value =
            serde_json::from_str(r#"{"idProspect":1,"nom":"A","x":{"p":1,"q":[1,{"s":1,"r":2}]}}"#)
                .unwrap();
        let b: Value =
            serde_json::from_str(r#"{"x":{"q":[1,{"r":2,"s":1}],"p":1},"nom":"A","idProspect":1}"#)
                .unwrap();
        assert_eq!(data_hash(&a), data_hash(&b));
    }

    #[test]
    fn a_changed_value_or_an_unknown_key_changes_the_hash() {
        let base = json!({"idProspect": 1, "nom": "A"});
        let variants = [
            json!({"idProspect": 1, "nom": "B"}),
            json!({"idProspect": 1, "nom": "A", "champInconnu": null}),
            json!({"idProspect": "1", "nom": "A"}),
            json!({"idProspect": 1, "nom": "A "}),
            json!([{"idProspect": 1, "nom": "A"}]),
        ];
        for variant in variants {
            assert_ne!(data_hash(&base), data_hash(&variant), "{variant}");
        }
    }

    #[test]
    fn array_order_counts() {
        assert_ne!(data_hash(&json!([1, 2])), data_hash(&json!([2, 1])));
    }
}
