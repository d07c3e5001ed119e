//! Splits a WinLeadPlus response body into its prospect records without parsing them, so
//! that each record is then parsed on its own and a bad one fails alone.
//!
//! The splitter only follows the structure of JSON: strings (with their escapes), brackets
//! and commas. It does not validate what lies inside a record, so invalid UTF-8, a lone
//! surrogate, a number such as `1e400` or a stray character inside one prospect are left to
//! that prospect's own parse. A record larger than its cap or nested deeper than its limit is
//! skipped to its end without being kept. Only a broken envelope is an error of the whole
//! body: a truncated body, something that is not an array or an object holding one, a
//! missing comma between records.
//!
//! Memory: one record at most, plus the reader's buffer.

use std::io::{self, BufRead};

use serde_json::Value;

/// The members that may hold the prospects array in the object form.
const ARRAY_KEYS: [&str; 4] = ["data", "prospects", "items", "results"];

/// Longest member name or pagination value kept from the envelope.
const ENVELOPE_VALUE_MAX: usize = 64 * 1024;

/// Bytes kept from a record that is skipped, to read its `idProspect`.
const SNIFF_BYTES: usize = 4096;

/// Bounds of one record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordLimits {
    /// Largest record, in bytes.
    pub(crate) max_bytes: usize,
    /// Deepest nesting of arrays and objects, the record itself being level 1.
    pub(crate) max_depth: usize,
}

/// Why a record was skipped instead of kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Oversize {
    /// Larger than [`RecordLimits::max_bytes`].
    TooLarge,
    /// Nested deeper than [`RecordLimits::max_depth`].
    TooDeep,
}

/// One element of the prospects array.
#[derive(Debug)]
pub(crate) struct RawRecord {
    /// The record's bytes; only its first few kilobytes when `skipped`.
    pub(crate) bytes: Vec<u8>,
    /// Set when the record broke one of its limits.
    pub(crate) skipped: Option<Oversize>,
}

/// What the envelope said about pagination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pagination {
    /// `next` / `next_page_url`.
    pub(crate) next: Option<String>,
    /// `page` / `current_page` / `currentPage`.
    pub(crate) page: Option<u64>,
    /// `total_pages` / `totalPages` / `last_page` / `lastPage`.
    pub(crate) total_pages: Option<u64>,
}

/// Why the body as a whole cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnvelopeError {
    /// Reading the body failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The body ended inside the JSON.
    #[error("the body ends in the middle of the JSON (truncated response?)")]
    Truncated,
    /// The structure is not the expected one.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the splitter was looking for.
        expected: &'static str,
        /// What it found, quoted and escaped.
        found: String,
    },
    /// An object without the array of prospects.
    #[error("an object without a data, prospects, items or results array")]
    NoArray,
}

/// Where the splitter is in the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing read yet.
    Start,
    /// Inside the top-level object, before a member (`first`: no member read yet).
    Members { first: bool },
    /// Just after the opening bracket of the prospects array.
    ArrayFirst,
    /// After a record, before `,` or `]`.
    ArrayNext,
    /// The top-level value is complete.
    Done,
}

/// Splits one body. Call [`Splitter::next_record`] until `None`, then [`Splitter::finish`].
pub(crate) struct Splitter<R> {
    reader: R,
    limits: RecordLimits,
    state: State,
    /// The top level is an object (the array is one of its members).
    in_object: bool,
    found_array: bool,
    pagination: Pagination,
    /// Bytes consumed so far.
    position: u64,
}

impl<R: BufRead> Splitter<R> {
    /// A splitter over a body.
    pub(crate) fn new(reader: R, limits: RecordLimits) -> Self {
        Self {
            reader,
            limits,
            state: State::Start,
            in_object: false,
            found_array: false,
            pagination: Pagination::default(),
            position: 0,
        }
    }

    /// Bytes of the body consumed so far.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// The next record of the prospects array; `None` once the array is closed.
    pub(crate) fn next_record(&mut self) -> Result<Option<RawRecord>, EnvelopeError> {
        loop {
            match self.state {
                State::Start => match self.skip_whitespace()? {
                    Some(b'[') => {
                        self.bump();
                        self.found_array = true;
                        self.state = State::ArrayFirst;
                    }
                    Some(b'{') => {
                        self.bump();
                        self.in_object = true;
                        self.state = State::Members { first: true };
                    }
                    Some(other) => {
                        return Err(unexpected(
                            "an array of prospects or an object holding one",
                            other,
                        ));
                    }
                    None => return Err(EnvelopeError::Truncated),
                },
                State::Members { first } => self.member(first)?,
                State::ArrayFirst => match self.skip_whitespace()? {
                    Some(b']') => return Ok(self.close_array()),
                    Some(_) => return self.record().map(Some),
                    None => return Err(EnvelopeError::Truncated),
                },
                State::ArrayNext => match self.skip_whitespace()? {
                    Some(b',') => {
                        self.bump();
                        return self.record().map(Some);
                    }
                    Some(b']') => return Ok(self.close_array()),
                    Some(other) => return Err(unexpected("',' or ']' after a prospect", other)),
                    None => return Err(EnvelopeError::Truncated),
                },
                State::Done => return Ok(None),
            }
        }
    }

    /// Reads the rest of the envelope (members after the array) and checks that nothing but
    /// whitespace follows it; returns what it said about pagination.
    pub(crate) fn finish(mut self) -> Result<Pagination, EnvelopeError> {
        // Past the array only members remain: `next_record` reads them and yields nothing.
        while self.state != State::Done {
            self.next_record()?;
        }
        match self.skip_whitespace()? {
            None => Ok(self.pagination),
            Some(other) => Err(unexpected("the end of the body", other)),
        }
    }

    fn close_array(&mut self) -> Option<RawRecord> {
        self.bump();
        self.state = if self.in_object {
            State::Members { first: false }
        } else {
            State::Done
        };
        None
    }

    fn record(&mut self) -> Result<RawRecord, EnvelopeError> {
        let captured = self.capture(self.limits.max_bytes, self.limits.max_depth)?;
        self.state = State::ArrayNext;
        Ok(captured)
    }

    /// One member of the top-level object, or its closing brace.
    fn member(&mut self, first: bool) -> Result<(), EnvelopeError> {
        let mut next = self.skip_whitespace()?;
        if next == Some(b'}') {
            self.bump();
            if !self.found_array {
                return Err(EnvelopeError::NoArray);
            }
            self.state = State::Done;
            return Ok(());
        }
        if !first {
            match next {
                Some(b',') => self.bump(),
                Some(other) => return Err(unexpected("',' or '}' in the envelope", other)),
                None => return Err(EnvelopeError::Truncated),
            }
            next = self.skip_whitespace()?;
        }
        match next {
            Some(b'"') => {}
            Some(other) => return Err(unexpected("a member name", other)),
            None => return Err(EnvelopeError::Truncated),
        }
        let key = self.capture(ENVELOPE_VALUE_MAX, 1)?;
        let key: String = match key.skipped {
            None => serde_json::from_slice(&key.bytes).unwrap_or_default(),
            Some(_) => String::new(),
        };
        match self.skip_whitespace()? {
            Some(b':') => self.bump(),
            Some(other) => return Err(unexpected("':' after a member name", other)),
            None => return Err(EnvelopeError::Truncated),
        }
        let value_start = self.skip_whitespace()?;
        if ARRAY_KEYS.contains(&key.as_str()) && !self.found_array {
            match value_start {
                Some(b'[') => {
                    self.bump();
                    self.found_array = true;
                    self.state = State::ArrayFirst;
                    return Ok(());
                }
                Some(other) => return Err(unexpected("an array of prospects", other)),
                None => return Err(EnvelopeError::Truncated),
            }
        }
        let value = self.capture(ENVELOPE_VALUE_MAX, 64)?;
        if value.skipped.is_none() {
            self.note_pagination(&key, &value.bytes);
        }
        self.state = State::Members { first: false };
        Ok(())
    }

    fn note_pagination(&mut self, key: &str, bytes: &[u8]) {
        let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
            return;
        };
        match key {
            "next" | "next_page_url" => self.pagination.next = value.as_str().map(str::to_owned),
            "page" | "current_page" | "currentPage" => self.pagination.page = number(&value),
            "total_pages" | "totalPages" | "last_page" | "lastPage" => {
                self.pagination.total_pages = number(&value);
            }
            _ => {}
        }
    }

    /// Consumes one JSON value (object, array, string or scalar) and returns its bytes,
    /// keeping at most `max_bytes` of them and checking its depth.
    fn capture(&mut self, max_bytes: usize, max_depth: usize) -> Result<RawRecord, EnvelopeError> {
        if self.skip_whitespace()?.is_none() {
            return Err(EnvelopeError::Truncated);
        }
        let mut bytes = Vec::new();
        let mut skipped = None;
        let mut depth = 0_usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                // A scalar may end with the body (its first byte is read: the body had one
                // left); anything else is cut short.
                if depth == 0 && !in_string {
                    break;
                }
                return Err(EnvelopeError::Truncated);
            }
            let mut i = 0;
            let mut done = false;
            while i < chunk.len() {
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                        Some(offset) => {
                            i += offset;
                            if chunk[i] == b'\\' {
                                escaped = true;
                            } else {
                                in_string = false;
                                if depth == 0 {
                                    i += 1;
                                    done = true;
                                    break;
                                }
                            }
                            i += 1;
                        }
                        None => i = chunk.len(),
                    }
                    continue;
                }
                match chunk[i] {
                    b'"' => in_string = true,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > max_depth {
                            skipped = Some(Oversize::TooDeep);
                        }
                    }
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                    // The end of a scalar (not consumed: it belongs to the envelope).
                    b'}' | b']' | b',' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => {
                        done = true;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            if skipped.is_none() && bytes.len() + i > max_bytes {
                skipped = Some(Oversize::TooLarge);
            }
            let keep = if skipped.is_some() {
                SNIFF_BYTES.saturating_sub(bytes.len()).min(i)
            } else {
                i
            };
            bytes.extend_from_slice(&chunk[..keep]);
            self.reader.consume(i);
            self.position += i as u64;
            if done {
                break;
            }
        }
        if bytes.is_empty() {
            return match self.skip_whitespace()? {
                Some(other) => Err(unexpected("a value", other)),
                None => Err(EnvelopeError::Truncated),
            };
        }
        if skipped.is_some() {
            bytes.truncate(SNIFF_BYTES);
        }
        Ok(RawRecord { bytes, skipped })
    }

    /// Skips whitespace; the next byte, not consumed, or `None` at the end of the body.
    fn skip_whitespace(&mut self) -> io::Result<Option<u8>> {
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let blank = chunk
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            if blank < chunk.len() {
                let next = chunk[blank];
                self.reader.consume(blank);
                self.position += blank as u64;
                return Ok(Some(next));
            }
            let len = chunk.len();
            self.reader.consume(len);
            self.position += len as u64;
        }
    }

    /// Consumes the byte that [`Splitter::skip_whitespace`] returned.
    fn bump(&mut self) {
        self.reader.consume(1);
        self.position += 1;
    }
}

fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An [`EnvelopeError::Unexpected`] that quotes the byte found, escaped.
fn unexpected(expected: &'static str, found: u8) -> EnvelopeError {
    let found = match found {
        b'<' => "'<' (an HTML page?)".to_owned(),
        0x20..=0x7e => format!("'{}'", char::from(found)),
        other => format!("byte 0x{other:02x}"),
    };
    EnvelopeError::Unexpected { expected, found }
}

/// The `idProspect` of a record that could not be parsed, when its first bytes show one
/// (`"idProspect": 12` or `"idProspect": "12"`). Best effort: used to name the record in its
/// error.
pub(crate) fn sniff_prospect_id(bytes: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"idProspect\"";
    let at = memchr::memmem::find(bytes, KEY)?;
    let rest = bytes.get(at + KEY.len()..)?;
    let rest = trim_start(rest).strip_prefix(b":")?;
    let rest = trim_start(rest);
    let (quoted, rest) = match rest.strip_prefix(b"\"") {
        Some(inner) => (true, inner),
        None => (false, rest),
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let end = rest.get(digits).copied();
    let closed = if quoted {
        end == Some(b'"')
    } else {
        end.is_none_or(|b| matches!(b, b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
    };
    if digits == 0 || digits > 19 || !closed {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok().map(str::to_owned)
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let blank = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count();
    &bytes[blank..]
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;

    const LIMITS: RecordLimits = RecordLimits {
        max_bytes: 64,
        max_depth: 4,
    };

    /// Splits `body` read `chunk` bytes at a time: records as text (or their problem), then
    /// the pagination or the envelope error.
    fn split(body: &[u8], chunk: usize) -> (Vec<String>, Result<Pagination, String>) {
        let reader = BufReader::with_capacity(chunk, body);
        let mut splitter = Splitter::new(reader, LIMITS);
        let mut records = Vec::new();
        loop {
            match splitter.next_record() {
                Ok(Some(r)) => records.push(match r.skipped {
                    None => String::from_utf8_lossy(&r.bytes).into_owned(),
                    Some(problem) => format!("{problem:?}"),
                }),
                Ok(None) => break,
                Err(e) => return (records, Err(e.to_string())),
            }
        }
        (records, splitter.finish().map_err(|e| e.to_string()))
    }

    fn check(body: &str, records: &[&str], outcome: Result<Pagination, &str>) {
        for chunk in [1, 2, 3, 7, 4096] {
            let (got, end) = split(body.as_bytes(), chunk);
            assert_eq!(got, records, "{body} read by {chunk}");
            assert_eq!(
                end,
                outcome.clone().map_err(str::to_owned),
                "{body} by {chunk}"
            );
        }
    }

    #[test]
    fn an_array_is_split_into_its_records_whatever_the_read_sizes() {
        check(
            r#" [ {"a": "x,]}"}, 12 , "s\"]", [1,[2]], null,true ] "#,
            &[
                r#"{"a": "x,]}"}"#,
                "12",
                r#""s\"]""#,
                "[1,[2]]",
                "null",
                "true",
            ],
            Ok(Pagination::default()),
        );
        check("[]", &[], Ok(Pagination::default()));
    }

    #[test]
    fn the_object_form_gives_its_array_and_pagination_before_or_after_it() {
        check(
            r#"{"page": 2, "data": [{"idProspect": 1}], "total_pages": "3", "meta": {"x": [1]}}"#,
            &[r#"{"idProspect": 1}"#],
            Ok(Pagination {
                next: None,
                page: Some(2),
                total_pages: Some(3),
            }),
        );
        check(
            r#"{"next": "/p?c=2", "items": [], "items": [{"ignored": 1}]}"#,
            &[],
            Ok(Pagination {
                next: Some("/p?c=2".into()),
                ..Pagination::default()
            }),
        );
    }

    #[test]
    fn records_past_their_limits_are_skipped_to_their_end() {
        let long = format!(r#"[{{"a": "{}"}}, 1]"#, "x".repeat(100));
        check(&long, &["TooLarge", "1"], Ok(Pagination::default()));
        check(
            r#"[[[[[[1]]]]], [[[[1]]]], 2]"#,
            &["TooDeep", "[[[[1]]]]", "2"],
            Ok(Pagination::default()),
        );
    }

    #[test]
    fn what_is_inside_a_record_is_not_validated_here() {
        let body = b"[{\"s\": \"\xff\xfe\"}, {\"n\": 1e400}, {\"u\": \"\\ud800\"}]";
        let (records, end) = split(body, 5);
        assert_eq!(records.len(), 3);
        assert_eq!(end, Ok(Pagination::default()));
    }

    #[test]
    fn a_broken_envelope_is_an_error_of_the_whole_body() {
        let truncated = "the body ends in the middle of the JSON (truncated response?)";
        check(r#"[{"a": 1}, {"b"#, &[r#"{"a": 1}"#], Err(truncated));
        check(r#"[{"a": 1}"#, &[r#"{"a": 1}"#], Err(truncated));
        check("", &[], Err(truncated));
        check(
            "<html><body>Maintenance</body></html>",
            &[],
            Err(
                "expected an array of prospects or an object holding one, found '<' (an HTML page?)",
            ),
        );
        check(
            r#"[{"a": 1} {"b": 2}]"#,
            &[r#"{"a": 1}"#],
            Err("expected ',' or ']' after a prospect, found '{'"),
        );
        check(
            r#"{"count": 3}"#,
            &[],
            Err("an object without a data, prospects, items or results array"),
        );
        check("[1,]", &["1"], Err("expected a value, found ']'"));
        check(
            "[1] x",
            &["1"],
            Err("expected the end of the body, found 'x'"),
        );
        check(
            r#"{"data": 5}"#,
            &[],
            Err("expected an array of prospects, found '5'"),
        );
    }

    #[test]
    fn the_id_of_a_skipped_record_is_read_from_its_first_bytes() {
        let cases: [(&[u8], Option<&str>); 6] = [
            (br#"{"idProspect": 42, "nom": "x"#, Some("42")),
            (br#"{"nom": 1, "idProspect" : "77"}"#, Some("77")),
            (br#"{"idProspect": -4}"#, None),
            (br#"{"idProspect": 12.5}"#, None),
            (br#"{"idProspect": "12x"}"#, None),
            (br#"{"nom": "x"}"#, None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff_prospect_id(bytes).as_deref(), expected);
        }
    }
}
