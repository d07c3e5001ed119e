//! Streaming parse of a WinLeadPlus response: the body flows from the socket through a
//! byte counter (size cap) into serde_json on a blocking thread; each prospect is mapped
//! there as soon as it is complete and sent to the sync engine over a bounded channel. Only
//! one prospect's JSON is held at a time.

use std::fmt;
use std::io::{BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures::TryStreamExt;
use mapper::{Mapped, PayloadMapper, RecordError};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::client::FetchError;

/// One record of the payload: mapped (or recognised as unchanged), or failed alone with its
/// reason.
pub type Record = Result<Mapped, RecordError>;

/// Says whether a prospect's data is already applied (`id`, `data_hash`): such a prospect
/// is only hashed, not mapped.
pub type Unchanged = Arc<dyn Fn(i64, &str) -> bool + Send + Sync>;

/// What a whole fetch read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchSummary {
    /// Pages requested.
    pub pages: u32,
    /// Records parsed.
    pub records: usize,
    /// Body bytes read.
    pub bytes: u64,
}

/// What one page said about itself and held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PageInfo {
    /// `next` / `next_page_url`.
    pub(crate) next: Option<String>,
    /// `page`.
    pub(crate) page: Option<u64>,
    /// `total_pages` / `totalPages` / `last_page`.
    pub(crate) total_pages: Option<u64>,
    /// Records in this page.
    pub(crate) records: usize,
    /// Body bytes.
    pub(crate) bytes: u64,
}

/// The members that may hold the prospects array in the object form.
const ARRAY_KEYS: [&str; 4] = ["data", "prospects", "items", "results"];

/// Parses one response body, sending its records on `tx`. Returns the page's information
/// and the mapper (which remembers the ids seen, across pages).
pub(crate) async fn parse_page(
    response: reqwest::Response,
    tx: mpsc::Sender<Record>,
    mapper: PayloadMapper,
    unchanged: Unchanged,
    max_body_bytes: u64,
) -> Result<(PageInfo, PayloadMapper), FetchError> {
    let body = StreamReader::new(response.bytes_stream().map_err(std::io::Error::other));
    let bridge = SyncIoBridge::new(body);
    let counted = Arc::new(AtomicU64::new(0));
    let too_large = Arc::new(AtomicBool::new(false));
    let reader = CountingReader {
        inner: bridge,
        count: Arc::clone(&counted),
        limit: max_body_bytes,
        too_large: Arc::clone(&too_large),
    };
    let task = tokio::task::spawn_blocking(move || {
        let mut sink = Sink {
            tx,
            mapper,
            unchanged,
            records: 0,
            cancelled: false,
        };
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, reader));
        let result = (&mut de)
            .deserialize_any(TopVisitor { sink: &mut sink })
            .and_then(|info| {
                de.end()?;
                Ok(info)
            });
        (result, sink)
    });
    let (result, sink) = task.await.map_err(|e| FetchError::Interrupted {
        byte: 0,
        reason: format!("parser task failed: {e}"),
    })?;
    let bytes = counted.load(Ordering::Relaxed);
    match result {
        Ok(mut info) => {
            info.records = sink.records;
            info.bytes = bytes;
            Ok((info, sink.mapper))
        }
        Err(_) if sink.cancelled => Err(FetchError::Cancelled),
        Err(_) if too_large.load(Ordering::Relaxed) => Err(FetchError::TooLarge {
            limit_mb: max_body_bytes / (1024 * 1024),
        }),
        Err(e) if e.is_io() => Err(FetchError::Interrupted {
            byte: bytes,
            reason: e.to_string(),
        }),
        Err(e) => Err(FetchError::InvalidJson {
            byte: bytes,
            line: e.line(),
            column: e.column(),
            reason: if e.is_eof() {
                "the body ends in the middle of the JSON (truncated response?)".to_owned()
            } else {
                e.to_string()
            },
        }),
    }
}

/// Counts bytes read and refuses to read past the cap.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
    limit: u64,
    too_large: Arc<AtomicBool>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.count.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limit {
            self.too_large.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("response body over the size cap"));
        }
        Ok(n)
    }
}

/// Where parsed prospects go: mapped here, then sent to the engine.
struct Sink {
    tx: mpsc::Sender<Record>,
    mapper: PayloadMapper,
    unchanged: Unchanged,
    records: usize,
    cancelled: bool,
}

impl Sink {
    fn push<E: serde::de::Error>(&mut self, raw: &Value) -> Result<(), E> {
        self.records += 1;
        let unchanged = &self.unchanged;
        let record = self
            .mapper
            .map_next_if_changed(raw, |id, hash| unchanged(id.get(), hash));
        if self.tx.blocking_send(record).is_err() {
            self.cancelled = true;
            return Err(E::custom("the sync stopped reading records"));
        }
        Ok(())
    }
}

/// The top level: an array of prospects, or an object holding one (and maybe pagination).
struct TopVisitor<'a> {
    sink: &'a mut Sink,
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = PageInfo;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of prospects, or an object with a data/prospects/items/results array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<PageInfo, A::Error> {
        ArrayVisitor { sink: self.sink }.visit_seq(seq)?;
        Ok(PageInfo::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PageInfo, A::Error> {
        let mut info = PageInfo::default();
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                k if ARRAY_KEYS.contains(&k) && !found => {
                    map.next_value_seed(ArraySeed {
                        sink: &mut *self.sink,
                    })?;
                    found = true;
                }
                "next" | "next_page_url" => {
                    info.next = map
                        .next_value::<Option<Value>>()?
                        .and_then(|v| v.as_str().map(str::to_owned));
                }
                "page" | "current_page" | "currentPage" => {
                    info.page = number(map.next_value::<Value>()?)
                }
                "total_pages" | "totalPages" | "last_page" | "lastPage" => {
                    info.total_pages = number(map.next_value::<Value>()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !found {
            return Err(serde::de::Error::custom(
                "an object without a data, prospects, items or results array",
            ));
        }
        Ok(info)
    }
}

fn number(v: Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

struct ArraySeed<'a> {
    sink: &'a mut Sink,
}

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(ArrayVisitor { sink: self.sink })
    }
}

struct ArrayVisitor<'a> {
    sink: &'a mut Sink,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of prospects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Value>()? {
            self.sink.push::<A::Error>(&raw)?;
        }
        Ok(())
    }
}
