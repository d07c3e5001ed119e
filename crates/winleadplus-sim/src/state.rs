//! What the simulator is told to do and what it counts: the response shape, the token, the
//! queue of injected faults and the request statistics, shared by the HTTP handlers and the
//! in-process [`SimHandle`](crate::SimHandle).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::store::Store;

/// How many statuses [`Stats::history`] keeps (the most recent ones).
pub const HISTORY_LEN: usize = 1000;

/// The body shape of `GET /api/prospects`. JSON: `{"shape": "array"}`, `{"shape": "wrapped"}`,
/// `{"shape": "paginated", "page_size": 100}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "lowercase")]
pub enum Shape {
    /// A bare JSON array of prospects (the common case).
    #[default]
    Array,
    /// `{"data": [...]}`.
    Wrapped,
    /// `{"data": [...page...], "page": n, "total_pages": m}`, 1-based `?page=n`.
    Paginated {
        /// Prospects per page (at least 1; 100 when not given).
        #[serde(default = "default_page_size")]
        page_size: usize,
    },
}

fn default_page_size() -> usize {
    100
}

impl Shape {
    /// Checks the page size.
    pub fn validate(&self) -> Result<(), SimError> {
        match self {
            Shape::Paginated { page_size: 0 } => {
                Err(SimError::Invalid("page_size must be at least 1".into()))
            }
            _ => Ok(()),
        }
    }
}

/// One injected fault, applied to the next `count` authorised requests of `/api/prospects`
/// (a request refused with 401 or 400 does not use one up).
///
/// JSON like `{"status": 500, "count": 2}`, `{"status": 429, "retry_after_secs": 1}`,
/// `{"delay_ms": 300}`, `{"truncate": true}`, `{"html": true}` or `{"drip_ms": 1000}`;
/// `count` defaults to 1. `drip_ms` sends a normal body one byte at a time, that many
/// milliseconds apart (a server that never stops and never finishes).
/// `delay_ms` may be combined with any other effect (the delay comes first); `status`,
/// `truncate` and `html` exclude each other; a delay alone answers normally after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Answer this status with a JSON error body instead of the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// With `status`: send `Retry-After: <secs>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Wait this long before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Answer 200 with the JSON body cut in the middle (at a character boundary).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncate: bool,
    /// Answer 200 with `Content-Type: text/html` and an HTML error page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub html: bool,
    /// Answer 200 with the body sent one byte every `drip_ms` milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drip_ms: Option<u64>,
    /// How many requests this fault applies to (at least 1).
    #[serde(default = "default_count")]
    pub count: u32,
}

fn default_count() -> u32 {
    1
}

impl Fault {
    /// Answer `status` (with a JSON error body), once.
    pub fn status(status: u16) -> Fault {
        Fault {
            status: Some(status),
            ..Fault::empty()
        }
    }

    /// Wait `delay_ms` milliseconds, then answer normally, once.
    pub fn delay_ms(delay_ms: u64) -> Fault {
        Fault {
            delay_ms: Some(delay_ms),
            ..Fault::empty()
        }
    }

    /// A 200 whose JSON body is cut in the middle, once.
    pub fn truncate() -> Fault {
        Fault {
            truncate: true,
            ..Fault::empty()
        }
    }

    /// A 200 with an HTML error page, once.
    pub fn html() -> Fault {
        Fault {
            html: true,
            ..Fault::empty()
        }
    }

    /// A 200 whose body comes one byte every `drip_ms` milliseconds, once.
    pub fn drip_ms(drip_ms: u64) -> Fault {
        Fault {
            drip_ms: Some(drip_ms),
            ..Fault::empty()
        }
    }

    /// The same fault for the next `count` requests.
    pub fn times(self, count: u32) -> Fault {
        Fault { count, ..self }
    }

    /// The same fault with a `Retry-After` header (for a `status` fault).
    pub fn with_retry_after_secs(self, secs: u64) -> Fault {
        Fault {
            retry_after_secs: Some(secs),
            ..self
        }
    }

    /// The same fault, delayed by `delay_ms` milliseconds first.
    pub fn with_delay_ms(self, delay_ms: u64) -> Fault {
        Fault {
            delay_ms: Some(delay_ms),
            ..self
        }
    }

    /// Checks that the fault means something and its parts fit together.
    pub fn validate(&self) -> Result<(), SimError> {
        let invalid = |m: &str| Err(SimError::Invalid(m.to_owned()));
        if self.count == 0 {
            return invalid("count must be at least 1");
        }
        let effects = [
            self.status.is_some(),
            self.truncate,
            self.html,
            self.drip_ms.is_some(),
        ]
        .iter()
        .filter(|e| **e)
        .count();
        if effects > 1 {
            return invalid("status, truncate, html and drip_ms exclude each other");
        }
        if effects == 0 && self.delay_ms.is_none() {
            return invalid("a fault needs status, delay_ms, truncate, html or drip_ms");
        }
        if let Some(status) = self.status
            && !(200..=599).contains(&status)
        {
            return invalid("status must be between 200 and 599");
        }
        if self.retry_after_secs.is_some() && self.status.is_none() {
            return invalid("retry_after_secs goes with status");
        }
        Ok(())
    }

    fn empty() -> Fault {
        Fault {
            status: None,
            retry_after_secs: None,
            delay_ms: None,
            truncate: false,
            html: false,
            drip_ms: None,
            count: 1,
        }
    }
}

/// What `/api/prospects` answered since the start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests received (every one, whatever its answer).
    pub requests: u64,
    /// Requests per answered status (200 for the truncated and HTML faults). A status is
    /// counted when it is decided, before any injected delay: a client that gives up during
    /// the delay still counts.
    pub statuses: BTreeMap<u16, u64>,
    /// The answered statuses in order, the most recent [`HISTORY_LEN`] of them.
    pub history: Vec<u16>,
    /// Requests on which an injected fault was applied.
    pub faults_applied: u64,
    /// Prospects sent in 200 answers with data (truncated answers included).
    pub prospects_served: u64,
}

impl Stats {
    /// How many requests were answered with `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub(crate) fn record(&mut self, status: u16) {
        *self.statuses.entry(status).or_default() += 1;
        if self.history.len() >= HISTORY_LEN {
            self.history.remove(0);
        }
        self.history.push(status);
    }
}

/// Settings and counters, all under one mutex (never held across an `.await`).
#[derive(Debug)]
pub(crate) struct Control {
    /// The bearer token `/api/prospects` expects.
    pub(crate) token: String,
    pub(crate) shape: Shape,
    /// Pending faults, applied front first; the front one's `count` goes down by one per use.
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) stats: Stats,
    /// The bearer tokens `/api/prospects` was sent, right or wrong, the most recent
    /// [`HISTORY_LEN`] (tests check where a token did, or did not, go).
    pub(crate) bearers: VecDeque<String>,
}

impl Control {
    /// Remembers a bearer token a request carried.
    pub(crate) fn saw_bearer(&mut self, token: &str) {
        if self.bearers.len() >= HISTORY_LEN {
            self.bearers.pop_front();
        }
        self.bearers.push_back(token.to_owned());
    }

    /// Takes one use of the front fault.
    pub(crate) fn next_fault(&mut self) -> Option<Fault> {
        let front = self.faults.front_mut()?;
        let one = Fault {
            count: 1,
            ..front.clone()
        };
        front.count = front.count.saturating_sub(1);
        if front.count == 0 {
            self.faults.pop_front();
        }
        Some(one)
    }
}

/// Everything the server and the handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The prospects (read by every request for a snapshot, written by the admin API).
    store: RwLock<Store>,
    /// Token, shape, faults and statistics.
    control: Mutex<Control>,
    /// Whether `/admin` answers peers that are not on the loopback interface.
    pub(crate) admin_anywhere: bool,
}

impl Shared {
    pub(crate) fn new(store: Store, token: String, admin_anywhere: bool) -> Shared {
        Shared {
            store: RwLock::new(store),
            control: Mutex::new(Control {
                token,
                shape: Shape::default(),
                faults: VecDeque::new(),
                stats: Stats::default(),
                bearers: VecDeque::new(),
            }),
            admin_anywhere,
        }
    }

    // A panic while holding a lock cannot leave these structures half-changed in a way that
    // matters to a simulator, so a poisoned lock is simply taken over.

    pub(crate) fn store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_from_the_documented_json() {
        let cases = [
            (
                r#"{"status": 500, "count": 2}"#,
                Fault::status(500).times(2),
            ),
            (
                r#"{"status": 429, "retry_after_secs": 1}"#,
                Fault::status(429).with_retry_after_secs(1),
            ),
            (r#"{"delay_ms": 300, "count": 1}"#, Fault::delay_ms(300)),
            (r#"{"truncate": true, "count": 1}"#, Fault::truncate()),
            (r#"{"html": true}"#, Fault::html()),
        ];
        for (json, expected) in cases {
            let fault: Fault = serde_json::from_str(json).unwrap();
            assert_eq!(fault, expected, "{json}");
            fault.validate().unwrap();
        }
    }

    #[test]
    fn meaningless_faults_are_refused() {
        for json in [
            r#"{"count": 1}"#,
            r#"{"status": 500, "count": 0}"#,
            r#"{"status": 500, "html": true}"#,
            r#"{"status": 99}"#,
            r#"{"html": true, "retry_after_secs": 1}"#,
        ] {
            let fault: Fault = serde_json::from_str(json).unwrap();
            assert!(fault.validate().is_err(), "{json}");
        }
        assert!(serde_json::from_str::<Fault>(r#"{"stauts": 500}"#).is_err());
    }

    #[test]
    fn shapes_read_from_the_documented_json() {
        let cases = [
            (r#"{"shape": "array"}"#, Shape::Array),
            (r#"{"shape": "wrapped"}"#, Shape::Wrapped),
            (
                r#"{"shape": "paginated", "page_size": 7}"#,
                Shape::Paginated { page_size: 7 },
            ),
            (
                r#"{"shape": "paginated"}"#,
                Shape::Paginated { page_size: 100 },
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(
                serde_json::from_str::<Shape>(json).unwrap(),
                expected,
                "{json}"
            );
        }
        assert!(Shape::Paginated { page_size: 0 }.validate().is_err());
    }

    #[test]
    fn faults_are_used_up_in_order() {
        let mut control = Control {
            token: String::new(),
            shape: Shape::Array,
            faults: VecDeque::from([Fault::status(500).times(2), Fault::html()]),
            stats: Stats::default(),
            bearers: VecDeque::new(),
        };
        let used: Vec<Option<Fault>> = (0..4).map(|_| control.next_fault()).collect();
        assert_eq!(
            used,
            vec![
                Some(Fault::status(500)),
                Some(Fault::status(500)),
                Some(Fault::html()),
                None
            ]
        );
    }
}
