//! HTTP side of the WinLeadPlus client: requests, retries, status handling, pagination.
//! Each page is read under a `fetch_page` span (`page`, then `status`, `attempts`, `bytes`
//! and `records` as they become known), nested in the sync's span. Every request goes
//! through the egress policy (`egress.rs`): its URL is checked before it is sent, its host
//! resolved by the policy's resolver; redirects are never followed, and a `next` link the
//! policy or the origin rule refuses fails the fetch (a fetch cut short must not look whole).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing::field::Empty;

use super::egress::{EgressPolicy, Refusal};
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
    /// Where requests may go.
    pub egress: EgressPolicy,
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
    /// A 3xx: redirects are not followed (the token would go wherever they point).
    #[error(
        "WinLeadPlus answered a redirect (HTTP {status}) to another location; redirects are not followed: set api_endpoint to the final URL"
    )]
    Redirect {
        /// The status received.
        status: u16,
    },
    /// The egress policy refuses the endpoint or a page link: nothing was sent there.
    #[error("{what} refused: {reason}")]
    Refused {
        /// `api_endpoint` or `next page link`.
        what: &'static str,
        /// The rule.
        reason: Refusal,
    },
    /// A `next` link that is not followed; the fetch is incomplete, so it fails.
    #[error("next page link refused: {0}")]
    NextLink(String),
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
            // The address connected to is the one the policy checked: no proxy resolves the
            // name in our place, and no redirect takes the token somewhere unchecked.
            .dns_resolver(settings.egress.resolver())
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
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

    /// The egress policy requests follow.
    pub fn egress(&self) -> &EgressPolicy {
        &self.settings.egress
    }

    /// `GET endpoint?limit=1` once, no retry: reports status and latency, and for a network
    /// failure only which kind it is (`could not connect`, `timed out`, `TLS error`). An
    /// endpoint the egress policy refuses is an error: nothing is sent.
    pub async fn test_connection(
        &self,
        endpoint: &Endpoint,
        token: &str,
    ) -> Result<TestOutcome, Refusal> {
        self.settings.egress.check_url(endpoint.url())?;
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
        Ok(match response {
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
            Err(e) => {
                if let Some(refusal) = refusal_in(&e) {
                    return Err(refusal);
                }
                self.metrics.winleadplus_status(0);
                TestOutcome {
                    success: false,
                    message: transport_kind(&e).to_owned(),
                    http_status: 0,
                    latency_ms,
                }
            }
        })
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
        let mut what = "api_endpoint";
        for page_number in 1..=MAX_PAGES {
            // Checked before every request (the resolver checks names; literals are not
            // resolved): a link to an IP literal is refused here.
            self.settings
                .egress
                .check_url(&url)
                .map_err(|reason| FetchError::Refused { what, reason })?;
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
                .await
                .map_err(|e| match e {
                    // The resolver's refusal, named after what was asked for.
                    FetchError::Refused { reason, .. } => FetchError::Refused { what, reason },
                    other => other,
                })?;
            mapper = returned;
            summary.pages += 1;
            summary.records += page.records;
            summary.bytes += page.bytes;
            if page.records == 0 {
                summary.complete = true;
                return Ok(summary);
            }
            match next_url(
                &self.settings.egress,
                &endpoint,
                &url,
                &page.pagination,
                page_number,
            )? {
                Some(next) => {
                    url = next;
                    what = "next page link";
                }
                None => {
                    summary.complete = true;
                    return Ok(summary);
                }
            }
        }
        // The page guard stopped it: what was read is imported, but the answer is not known to
        // be whole, so nothing missing from it is archived.
        tracing::warn!(
            pages = MAX_PAGES,
            "stopped following pages at the guard; the answer may be incomplete"
        );
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
                    if status.is_redirection() {
                        return Err(FetchError::Redirect {
                            status: status.as_u16(),
                        });
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
                    if let Some(reason) = refusal_in(&e) {
                        return Err(FetchError::Refused {
                            what: "api_endpoint",
                            reason,
                        });
                    }
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
/// if the egress policy allows it, and on the endpoint's origin: the token never goes
/// anywhere else. One that cannot be followed is an error, not the end: the pages behind it
/// were not read.
fn next_url(
    egress: &EgressPolicy,
    endpoint: &Endpoint,
    current: &url::Url,
    page: &Pagination,
    page_number: u32,
) -> Result<Option<url::Url>, FetchError> {
    if let Some(next) = &page.next {
        let next = current.join(next).map_err(|e| {
            FetchError::NextLink(format!(
                "{} is not a valid URL ({e})",
                mapper::mask::excerpt(next)
            ))
        })?;
        egress
            .check_url(&next)
            .map_err(|reason| FetchError::Refused {
                what: "next page link",
                reason,
            })?;
        let origin = endpoint.url().origin();
        if next.origin() != origin {
            return Err(FetchError::NextLink(format!(
                "{} is on another origin than api_endpoint ({}); the token is only sent to the endpoint's origin",
                next.origin().ascii_serialization(),
                origin.ascii_serialization()
            )));
        }
        return Ok(Some(next));
    }
    let Some(total) = page.total_pages else {
        return Ok(None);
    };
    let this = page.page.unwrap_or(u64::from(page_number));
    if this >= total {
        return Ok(None);
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
    Ok(Some(next))
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
        s if s.is_redirection() => FetchError::Redirect { status: s.as_u16() }.to_string(),
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

/// What kind of network failure `e` is, in words that carry nothing from outside (no
/// address, no error text): `timed out`, `TLS error` or `could not connect`.
fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if is_tls(e) {
        "TLS error"
    } else {
        "could not connect"
    }
}

/// Whether a TLS handshake failed: rustls reports it through tokio-rustls as an I/O error
/// of kind `InvalidData` wrapping the rustls error, found in the chain of a connect error.
fn is_tls(e: &reqwest::Error) -> bool {
    e.is_connect()
        && sources(e).any(|s| {
            s.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
        })
}

/// The egress policy's refusal behind a failed request (the resolver's), if it is one.
fn refusal_in(e: &reqwest::Error) -> Option<Refusal> {
    sources(e).find_map(|s| s.downcast_ref::<Refusal>().cloned())
}

/// `e` and its sources, outermost first. An I/O error's `source()` skips the error it
/// wraps (it answers that error's source): the wrapped error is visited instead.
fn sources<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    })
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
        let policy = EgressPolicy::new(&["wlp.example"]).unwrap();
        let page = Pagination {
            page: Some(1),
            total_pages: Some(3),
            ..Pagination::default()
        };
        let next = next_url(&policy, &ep, ep.url(), &page, 1).unwrap().unwrap();
        assert_eq!(next.as_str(), "http://wlp.example/api/prospects?page=2");
        let last = Pagination {
            page: Some(3),
            total_pages: Some(3),
            ..Pagination::default()
        };
        assert!(next_url(&policy, &ep, &next, &last, 3).unwrap().is_none());
        assert!(
            next_url(&policy, &ep, ep.url(), &Pagination::default(), 1)
                .unwrap()
                .is_none()
        );
    }

    /// What `next_url` makes of a page whose `next` is `next`.
    fn follow(next: &str) -> Result<String, String> {
        let ep = endpoint();
        let policy = EgressPolicy::new(&["wlp.example", "evil.example"]).unwrap();
        let page = Pagination {
            next: Some(next.into()),
            ..Pagination::default()
        };
        next_url(&policy, &ep, ep.url(), &page, 1)
            .map(|url| url.unwrap().to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_next_url_on_another_origin_or_refused_fails_the_fetch() {
        let cases = [
            (
                "/api/prospects?cursor=abc",
                Ok("http://wlp.example/api/prospects?cursor=abc"),
            ),
            (
                "http://evil.example/steal",
                Err(
                    "next page link refused: http://evil.example is on another origin than \
                     api_endpoint (http://wlp.example); the token is only sent to the endpoint's origin",
                ),
            ),
            (
                "http://169.254.169.254/latest/meta-data",
                Err(
                    "next page link refused: 169.254.169.254 is a link-local address; internal \
                     addresses are only reachable for hosts listed in WINLEADPLUS_ALLOW_HTTP_HOSTS",
                ),
            ),
            (
                "http://[oops/",
                Err(
                    "next page link refused: http://[oops/ is not a valid URL (invalid IPv6 address)",
                ),
            ),
        ];
        for (next, expected) in cases {
            assert_eq!(
                follow(next).as_deref(),
                expected.map_err(str::to_owned).as_deref(),
                "{next}"
            );
        }
    }

    #[tokio::test]
    async fn a_fetch_is_refused_by_the_resolver_before_any_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = WinLeadPlusClient::new(
            ClientSettings {
                connect_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(5),
                max_attempts: 3,
                retry_base: Duration::from_millis(1),
                max_body_bytes: 1 << 20,
                max_record_bytes: 1 << 16,
                read_idle_timeout: Duration::from_secs(5),
                egress: EgressPolicy::default(),
            },
            Metrics::new(),
        )
        .unwrap();
        let endpoint = Endpoint::parse(&format!("https://localhost:{port}/api/prospects")).unwrap();
        let (_records, fetch) = client.fetch(
            endpoint,
            "tok".into(),
            8,
            Arc::new(|_, _| false),
            CancellationToken::new(),
        );
        let error = fetch.await.unwrap().unwrap_err();
        assert_eq!(
            error.to_string(),
            "api_endpoint refused: localhost resolves to a loopback address; internal \
             addresses are only reachable for hosts listed in WINLEADPLUS_ALLOW_HTTP_HOSTS"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "nothing connects");
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
