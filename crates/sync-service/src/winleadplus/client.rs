//! HTTP side of the WinLeadPlus client: requests, retries, status handling, pagination.
//! Each page is read under a `fetch_page` span (`page`, then `status`, `attempts`, `bytes`
//! and `records` as they become known), nested in the sync's span.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing::field::Empty;

use super::split::Pagination;
use super::stream::{FetchSummary, PageInfo, ParseLimits, Record, Unchanged, parse_page};
use crate::domain::Endpoint;
use crate::metrics::Metrics;

/// Tunables of the client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole response, body included.
    pub request_timeout: Duration,
    /// Attempts of one request (1 = no retry).
    pub max_attempts: u32,
    /// First retry delay (doubles each time, with jitter).
    pub retry_base: Duration,
    /// Largest body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Largest single record accepted, in bytes: a larger one fails alone.
    pub max_record_bytes: u64,
    /// A request that receives no byte for this long is abandoned.
    pub read_idle_timeout: Duration,
}

/// Why prospects could not be fetched. Messages are what an operator reads in the log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// 401 / 403.
    #[error("WinLeadPlus rejected the API token (HTTP {status}): check the organisation's token")]
    Unauthorized {
        /// The status received.
        status: u16,
    },
    /// 404.
    #[error("WinLeadPlus endpoint not found (HTTP 404): check api_endpoint ({url})")]
    NotFound {
        /// The URL asked for.
        url: String,
    },
    /// Another status, possibly after retries.
    #[error("WinLeadPlus answered HTTP {status}{after}{body}")]
    Status {
        /// The last status received.
        status: u16,
        /// ` after N attempts` when retried.
        after: String,
        /// `: ` and the start of the error body, escaped and cut (empty without a body).
        body: String,
    },
    /// Time-outs or connection failures, after retries.
    #[error("cannot reach WinLeadPlus{after}: {reason}")]
    Unreachable {
        /// What failed.
        reason: String,
        /// ` after N attempts` when retried.
        after: String,
    },
    /// A 200 that is not JSON (an HTML error page, …).
    #[error(
        "WinLeadPlus answered {content_type} instead of JSON (HTTP {status}): is api_endpoint the API URL?"
    )]
    NotJson {
        /// The status received.
        status: u16,
        /// The content type received.
        content_type: String,
    },
    /// The envelope of the body is not valid JSON (a record of its own never is this).
    #[error("invalid JSON from WinLeadPlus at byte {byte}: {reason}")]
    InvalidJson {
        /// Bytes read when the parser stopped.
        byte: u64,
        /// What is wrong, escaped and cut to 200 characters.
        reason: String,
    },
    /// JSON, but neither an array nor an object holding one.
    #[error("unexpected response shape from WinLeadPlus: {0}")]
    Shape(String),
    /// The body exceeded the size cap.
    #[error("WinLeadPlus response larger than the {limit_mb} MB cap (WINLEADPLUS_MAX_BODY_MB)")]
    TooLarge {
        /// The cap.
        limit_mb: u64,
    },
    /// The body broke off.
    #[error("WinLeadPlus response broke off after {byte} bytes: {reason}")]
    Interrupted {
        /// Bytes read.
        byte: u64,
        /// Why.
        reason: String,
    },
    /// The consumer of the records went away (sync stopped).
    #[error("fetch cancelled")]
    Cancelled,
}

/// The result of a connection test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// Any 2xx.
    pub success: bool,
    /// What happened, for a person.
    pub message: String,
    /// The HTTP status (0 when no response).
    pub http_status: i32,
    /// Time to the response headers.
    pub latency_ms: i64,
}

/// The WinLeadPlus client (cheap to clone).
#[derive(Clone)]
pub struct WinLeadPlusClient {
    http: reqwest::Client,
    settings: ClientSettings,
    metrics: Metrics,
}

/// Most pages followed in one fetch (a guard against a server that never ends).
const MAX_PAGES: u32 = 100_000;

impl WinLeadPlusClient {
    /// A client with these settings.
    pub fn new(settings: ClientSettings, metrics: Metrics) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(service_kit::tls::client_config()?)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .read_timeout(settings.read_idle_timeout)
            .user_agent(concat!("crm-sync-service/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            settings,
            metrics,
        })
    }

    /// `GET endpoint?limit=1` once, no retry: reports status and latency.
    pub async fn test_connection(&self, endpoint: &Endpoint, token: &str) -> TestOutcome {
        let mut url = endpoint.url().clone();
        url.query_pairs_mut().append_pair("limit", "1");
        let started = Instant::now();
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .header(ACCEPT, "application/json")
            .send()
            .await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match response {
            Ok(r) => {
                let status = r.status();
                self.metrics.winleadplus_status(status.as_u16());
                let message = if status.is_success() {
                    format!("connected: HTTP {} in {latency_ms} ms", status.as_u16())
                } else {
                    describe_status(status, endpoint.as_str())
                };
                TestOutcome {
                    success: status.is_success(),
                    message,
                    http_status: i32::from(status.as_u16()),
                    latency_ms,
                }
            }
            Err(e) => TestOutcome {
                success: false,
                message: format!("cannot reach WinLeadPlus: {}", describe_transport(&e)),
                http_status: 0,
                latency_ms,
            },
        }
    }

    /// Starts fetching every page of prospects. Records (mapped or failed, in payload order)
    /// arrive on the receiver, at most `buffer` ahead of the consumer; the handle ends with
    /// the summary or the error that stopped the fetch. Dropping the receiver, or cancelling
    /// `cancel`, stops it (a body being read is cut off at once).
    pub fn fetch(
        &self,
        endpoint: Endpoint,
        token: String,
        buffer: usize,
        unchanged: Unchanged,
        cancel: CancellationToken,
    ) -> (
        mpsc::Receiver<Record>,
        JoinHandle<Result<FetchSummary, FetchError>>,
    ) {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let client = self.clone();
        let fetch = async move {
            let stop = cancel.clone();
            tokio::select! {
                fetched = client.fetch_all(endpoint, token, tx, unchanged, cancel) => fetched,
                () = stop.cancelled() => Err(FetchError::Cancelled),
            }
        };
        // The task carries the caller's span (the sync's): its pages nest under it.
        let handle = tokio::spawn(fetch.in_current_span());
        (rx, handle)
    }

    async fn fetch_all(
        &self,
        endpoint: Endpoint,
        token: String,
        tx: mpsc::Sender<Record>,
        unchanged: Unchanged,
        cancel: CancellationToken,
    ) -> Result<FetchSummary, FetchError> {
        let mut mapper = mapper::PayloadMapper::new();
        let mut summary = FetchSummary::default();
        let mut url = endpoint.url().clone();
        for page_number in 1..=MAX_PAGES {
            let span = tracing::info_span!(
                "fetch_page",
                page = page_number,
                status = Empty,
                attempts = Empty,
                bytes = Empty,
                records = Empty
            );
            let (page, returned) = self
                .fetch_page(&url, &token, &tx, mapper, &unchanged, &cancel)
                .instrument(span)
                .await?;
            mapper = returned;
            summary.pages += 1;
            summary.records += page.records;
            summary.bytes += page.bytes;
            match next_url(&endpoint, &url, &page.pagination, page_number) {
                Some(next) if page.records > 0 => url = next,
                _ => return Ok(summary),
            }
        }
        Ok(summary)
    }

    /// Requests one page and parses it, inside its `fetch_page` span: `get_with_retries`
    /// records the status and attempts on it, `parse_page` the bytes and records.
    async fn fetch_page(
        &self,
        url: &url::Url,
        token: &str,
        tx: &mpsc::Sender<Record>,
        mapper: mapper::PayloadMapper,
        unchanged: &Unchanged,
        cancel: &CancellationToken,
    ) -> Result<(PageInfo, mapper::PayloadMapper), FetchError> {
        let response = self.get_with_retries(url, token).await?;
        let limits = ParseLimits {
            max_body_bytes: self.settings.max_body_bytes,
            max_record_bytes: self.settings.max_record_bytes,
            read_idle: self.settings.read_idle_timeout,
        };
        parse_page(
            response,
            tx.clone(),
            mapper,
            Arc::clone(unchanged),
            limits,
            cancel.clone(),
        )
        .await
    }

    /// `GET url` until a usable answer, a final refusal or `max_attempts`; the last status
    /// and the number of attempts go on the current span (the page's).
    async fn get_with_retries(
        &self,
        url: &url::Url,
        token: &str,
    ) -> Result<reqwest::Response, FetchError> {
        let max = self.settings.max_attempts.max(1);
        let mut attempt = 0;
        let span = tracing::Span::current();
        loop {
            attempt += 1;
            span.record("attempts", attempt);
            let after = if attempt > 1 {
                format!(" after {attempt} attempts")
            } else {
                String::new()
            };
            let result = self
                .http
                .get(url.clone())
                .bearer_auth(token)
                .header(ACCEPT, "application/json")
                .send()
                .await;
            let retry_in = match result {
                Ok(response) => {
                    let status = response.status();
                    span.record("status", status.as_u16());
                    self.metrics.winleadplus_status(status.as_u16());
                    if status.is_success() {
                        check_content_type(&response)?;
                        return Ok(response);
                    }
                    match status {
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                            return Err(FetchError::Unauthorized {
                                status: status.as_u16(),
                            });
                        }
                        StatusCode::NOT_FOUND => {
                            return Err(FetchError::NotFound { url: redact(url) });
                        }
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
                            if attempt >= max {
                                return Err(FetchError::Status {
                                    status: status.as_u16(),
                                    after,
                                    body: body_excerpt(response).await,
                                });
                            }
                            retry_after(response.headers()).unwrap_or_else(|| self.backoff(attempt))
                        }
                        s if s.is_server_error() => {
                            if attempt >= max {
                                return Err(FetchError::Status {
                                    status: s.as_u16(),
                                    after,
                                    body: body_excerpt(response).await,
                                });
                            }
                            self.backoff(attempt)
                        }
                        s => {
                            return Err(FetchError::Status {
                                status: s.as_u16(),
                                after: String::new(),
                                body: body_excerpt(response).await,
                            });
                        }
                    }
                }
                Err(e) => {
                    self.metrics.winleadplus_status(0);
                    if attempt >= max || !(e.is_timeout() || e.is_connect() || e.is_request()) {
                        return Err(FetchError::Unreachable {
                            reason: describe_transport(&e),
                            after,
                        });
                    }
                    self.backoff(attempt)
                }
            };
            tracing::warn!(attempt, ?retry_in, url = %redact(url), "WinLeadPlus request failed; retrying");
            tokio::time::sleep(retry_in).await;
        }
    }

    /// `base · 2^(attempt-1)`, capped at 30 s, with ±50 % jitter so replicas do not retry in step.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .settings
            .retry_base
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        let capped = exp.min(Duration::from_secs(30));
        let jitter: f64 = rand::random_range(0.5..1.5);
        capped.mul_f64(jitter)
    }
}

/// The URL of the next page, if the page says there is one. A `next` URL is followed only
/// on the endpoint's origin: the token never goes anywhere else.
fn next_url(
    endpoint: &Endpoint,
    current: &url::Url,
    page: &Pagination,
    page_number: u32,
) -> Option<url::Url> {
    if let Some(next) = &page.next {
        let next = current.join(next).ok()?;
        if next.origin() != endpoint.url().origin() {
            tracing::warn!("ignoring a next-page URL on another origin");
            return None;
        }
        return Some(next);
    }
    let total = page.total_pages?;
    let this = page.page.unwrap_or(u64::from(page_number));
    if this >= total {
        return None;
    }
    let mut next = endpoint.url().clone();
    let kept: Vec<(String, String)> = next
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("page", &(this + 1).to_string());
    Some(next)
}

fn check_content_type(response: &reqwest::Response) -> Result<(), FetchError> {
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("text/html") || content_type.starts_with("text/plain") {
        return Err(FetchError::NotJson {
            status: response.status().as_u16(),
            content_type,
        });
    }
    Ok(())
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs; it falls back to back-off).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(120)))
}

/// `: ` and the start of an error response's body, escaped and cut to 200 characters; empty
/// when there is no body or it does not come within a few seconds. Reads at most 4 KB.
async fn body_excerpt(mut response: reqwest::Response) -> String {
    const MAX_BYTES: usize = 4096;
    let mut bytes = Vec::new();
    let read = async {
        while bytes.len() < MAX_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(2), read)
        .await
        .is_err()
        && bytes.is_empty()
    {
        return String::new();
    }
    bytes.truncate(MAX_BYTES);
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", mapper::mask::excerpt(text))
    }
}

fn describe_status(status: StatusCode, endpoint: &str) -> String {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            format!(
                "WinLeadPlus rejected the API token (HTTP {})",
                status.as_u16()
            )
        }
        StatusCode::NOT_FOUND => format!("endpoint not found (HTTP 404): {endpoint}"),
        s => format!("WinLeadPlus answered HTTP {}", s.as_u16()),
    }
}

fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        // reqwest's message may contain the URL; the URL carries no secret (the token is a
        // header), so it can stay.
        error_chain(e)
    }
}

/// An error and its sources, `: `-separated, cut and escaped like any text from outside.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    mapper::mask::excerpt(&message)
}

/// A URL for messages: no query string (it could carry anything).
fn redact(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::parse("http://wlp.example/api/prospects").unwrap()
    }

    #[test]
    fn pages_are_followed_until_the_last() {
        let ep = endpoint();
        let page = Pagination {
            page: Some(1),
            total_pages: Some(3),
            ..Pagination::default()
        };
        let next = next_url(&ep, ep.url(), &page, 1).unwrap();
        assert_eq!(next.as_str(), "http://wlp.example/api/prospects?page=2");
        let last = Pagination {
            page: Some(3),
            total_pages: Some(3),
            ..Pagination::default()
        };
        assert!(next_url(&ep, &next, &last, 3).is_none());
        assert!(next_url(&ep, ep.url(), &Pagination::default(), 1).is_none());
    }

    #[test]
    fn a_next_url_on_another_origin_is_not_followed() {
        let ep = endpoint();
        let same = Pagination {
            next: Some("/api/prospects?cursor=abc".into()),
            ..Pagination::default()
        };
        assert_eq!(
            next_url(&ep, ep.url(), &same, 1).unwrap().as_str(),
            "http://wlp.example/api/prospects?cursor=abc"
        );
        let other = Pagination {
            next: Some("http://evil.example/steal".into()),
            ..Pagination::default()
        };
        assert!(next_url(&ep, ep.url(), &other, 1).is_none());
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, "99999".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
