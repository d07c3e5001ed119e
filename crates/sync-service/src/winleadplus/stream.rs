//! Streaming parse of a WinLeadPlus response: the body flows from the socket through a
//! byte counter (size cap) into the [`Splitter`] on a blocking thread, which cuts it into
//! records; each record is parsed and mapped on its own as soon as it is complete, and sent to
//! the sync engine over a bounded channel. Only one prospect's JSON is held at a time, and a
//! record that is too large, too deep or not valid JSON fails alone.

use std::io::{BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use mapper::{Mapped, PayloadMapper, RecordError};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};
use tokio_util::sync::CancellationToken;

use super::client::{FetchError, error_chain};
use super::split::{
    EnvelopeError, Oversize, Pagination, RawRecord, RecordLimits, Splitter, sniff_prospect_id,
};

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
    /// Every page was read to its end: the answer is whole (not stopped by the page guard).
    /// Only then may a prospect missing from it be taken as removed from WinLeadPlus.
    pub complete: bool,
}

/// What one page said about itself and held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PageInfo {
    /// What the envelope said about the next page.
    pub(crate) pagination: Pagination,
    /// Records in this page.
    pub(crate) records: usize,
    /// Body bytes.
    pub(crate) bytes: u64,
}

/// Deepest nesting accepted in one prospect (the prospect object itself is level 1).
pub(crate) const MAX_RECORD_DEPTH: usize = 64;

/// Bounds of one page's parse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParseLimits {
    /// Largest body, in bytes.
    pub(crate) max_body_bytes: u64,
    /// Largest record, in bytes.
    pub(crate) max_record_bytes: u64,
    /// The read-idle timeout the HTTP client applies (to name it in errors).
    pub(crate) read_idle: Duration,
}

/// Parses one response body, sending its records on `tx`. Returns the page's information
/// and the mapper (which numbers records and remembers the ids seen, across pages).
/// `cancel` ends the body early (deadline, shutdown): the parse then stops with
/// [`FetchError::Cancelled`]. The bytes read and records parsed go on the current span (the
/// page's), whatever the outcome: a page that failed half-way says how far it got.
pub(crate) async fn parse_page(
    response: reqwest::Response,
    tx: mpsc::Sender<Record>,
    mapper: PayloadMapper,
    unchanged: Unchanged,
    limits: ParseLimits,
    cancel: CancellationToken,
) -> Result<(PageInfo, PayloadMapper), FetchError> {
    let body = Box::pin(
        response
            .bytes_stream()
            .map_err(std::io::Error::other)
            .take_until(cancel.clone().cancelled_owned()),
    );
    let bridge = SyncIoBridge::new(StreamReader::new(body));
    let counted = Arc::new(AtomicU64::new(0));
    let too_large = Arc::new(AtomicBool::new(false));
    let reader = CountingReader {
        inner: bridge,
        count: Arc::clone(&counted),
        limit: limits.max_body_bytes,
        too_large: Arc::clone(&too_large),
    };
    let record_limits = RecordLimits {
        max_bytes: usize::try_from(limits.max_record_bytes).unwrap_or(usize::MAX),
        max_depth: MAX_RECORD_DEPTH,
    };
    let task = tokio::task::spawn_blocking(move || {
        let mut sink = Sink {
            tx,
            mapper,
            unchanged,
            records: 0,
            cancelled: false,
            max_record_kb: limits.max_record_bytes / 1024,
        };
        let mut splitter =
            Splitter::new(BufReader::with_capacity(64 * 1024, reader), record_limits);
        let result = loop {
            match splitter.next_record() {
                Ok(Some(raw)) => {
                    if !sink.push(raw) {
                        break Ok(None);
                    }
                }
                Ok(None) => {
                    let position = splitter.position();
                    break splitter.finish().map(Some).map_err(|e| (e, position));
                }
                Err(e) => break Err((e, splitter.position())),
            }
        };
        (result, sink)
    });
    let (result, sink) = task.await.map_err(|e| FetchError::Interrupted {
        byte: 0,
        reason: format!("parser task failed: {e}"),
    })?;
    let bytes = counted.load(Ordering::Relaxed);
    let span = tracing::Span::current();
    span.record("bytes", bytes);
    span.record("records", sink.records);
    if sink.cancelled || cancel.is_cancelled() {
        return Err(FetchError::Cancelled);
    }
    match result {
        Ok(Some(pagination)) => Ok((
            PageInfo {
                pagination,
                records: sink.records,
                bytes,
            },
            sink.mapper,
        )),
        Ok(None) => Err(FetchError::Cancelled),
        Err(_) if too_large.load(Ordering::Relaxed) => Err(FetchError::TooLarge {
            limit_mb: limits.max_body_bytes / (1024 * 1024),
        }),
        Err((EnvelopeError::Io(e), _)) => Err(FetchError::Interrupted {
            byte: bytes,
            reason: describe_io(&e, limits.read_idle),
        }),
        Err((e @ (EnvelopeError::Unexpected { .. } | EnvelopeError::NoArray), _))
            if sink.records == 0 =>
        {
            Err(FetchError::Shape(mapper::mask::excerpt(&e.to_string())))
        }
        Err((e, position)) => Err(FetchError::InvalidJson {
            byte: position,
            reason: mapper::mask::excerpt(&e.to_string()),
        }),
    }
}

/// Why the body could not be read, for a person: a read-idle time-out is named as such.
fn describe_io(e: &std::io::Error, read_idle: Duration) -> String {
    let timed_out = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
        .is_some_and(reqwest::Error::is_timeout);
    if timed_out {
        return format!(
            "timed out: no data for {} s (WINLEADPLUS_READ_IDLE_SECS) or the whole response took longer than WINLEADPLUS_TIMEOUT_SECS",
            read_idle.as_secs()
        );
    }
    error_chain(e)
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

/// Where records go: parsed and mapped here, then sent to the engine.
struct Sink {
    tx: mpsc::Sender<Record>,
    mapper: PayloadMapper,
    unchanged: Unchanged,
    records: usize,
    cancelled: bool,
    max_record_kb: u64,
}

impl Sink {
    /// Parses, maps and sends one record; `false` when the engine stopped reading.
    fn push(&mut self, raw: RawRecord) -> bool {
        self.records += 1;
        let unparsed = match raw.skipped {
            Some(Oversize::TooLarge) => Err(format!(
                "is larger than {} KB (WINLEADPLUS_MAX_RECORD_KB); not imported",
                self.max_record_kb
            )),
            Some(Oversize::TooDeep) => Err(format!(
                "is nested deeper than {MAX_RECORD_DEPTH} levels; not imported"
            )),
            None => serde_json::from_slice::<Value>(&raw.bytes).map_err(|e| {
                format!(
                    "is not valid JSON: {}",
                    mapper::mask::excerpt(&e.to_string())
                )
            }),
        };
        let record = match unparsed {
            Ok(value) => {
                let unchanged = &self.unchanged;
                self.mapper
                    .map_next_if_changed(&value, |id, hash| unchanged(id.get(), hash))
            }
            Err(problem) => Err(self.mapper.reject(sniff_prospect_id(&raw.bytes), |number| {
                format!("record {number} {problem}")
            })),
        };
        if self.tx.blocking_send(record).is_err() {
            self.cancelled = true;
            return false;
        }
        true
    }
}
