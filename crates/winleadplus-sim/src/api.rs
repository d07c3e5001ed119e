//! `GET /api/prospects`, as WinLeadPlus serves it: bearer token, `?limit=N`, the configured
//! body shape and `?page=n`, and the injected faults. Bodies are copied from a snapshot of the
//! store (prospects kept as JSON text) into the response stream, chunk by chunk, on a blocking
//! thread: no copy of the list, no re-serialization and no whole-body buffer.

use std::io::{self, Write};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::mpsc;

use crate::sim::SimHandle;
use crate::state::Shape;
use crate::store::Item;

/// Bytes gathered before a chunk goes to the client.
const CHUNK: usize = 256 * 1024;
/// Chunks waiting for the client at most (memory stays at `CHUNK × CHUNKS_IN_FLIGHT`).
const CHUNKS_IN_FLIGHT: usize = 4;

/// What the simulator decided to answer, before any delay.
enum Answer {
    /// A JSON error with this status.
    Error {
        status: StatusCode,
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// 200 with an HTML error page.
    Html,
    /// 200 with prospects; `truncate` cuts the body in the middle, `drip` sends it one
    /// byte at a time.
    Data {
        query: ListQuery,
        shape: Shape,
        truncate: bool,
        drip: Option<Duration>,
    },
}

impl Answer {
    fn status(&self) -> StatusCode {
        match self {
            Answer::Error { status, .. } => *status,
            Answer::Html | Answer::Data { .. } => StatusCode::OK,
        }
    }
}

/// The query parameters `/api/prospects` understands (others are ignored).
#[derive(Debug, Clone, Copy, Default)]
struct ListQuery {
    limit: Option<usize>,
    page: Option<usize>,
}

/// The envelope around the array of prospects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Envelope {
    /// `[...]`.
    Array,
    /// `{"data": [...]}`.
    Wrapped,
    /// `{"data": [...], "page": n, "total_pages": m}`.
    Page { page: usize, total_pages: usize },
}

/// `GET /api/prospects`.
pub(crate) async fn list_prospects(
    State(sim): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
) -> Response {
    let started = Instant::now();
    let (answer, delay, fault) = {
        let mut control = sim.shared().control();
        control.stats.requests += 1;
        if let Some(bearer) = bearer(&headers) {
            control.saw_bearer(bearer);
        }
        let mut delay = None;
        let mut fault = None;
        let answer = if !authorised(&headers, &control.token) {
            Answer::Error {
                status: StatusCode::UNAUTHORIZED,
                message: "missing or wrong bearer token".into(),
                retry_after_secs: None,
            }
        } else {
            match parse_query(raw_query.as_deref()) {
                Err(message) => Answer::Error {
                    status: StatusCode::BAD_REQUEST,
                    message,
                    retry_after_secs: None,
                },
                Ok(query) => {
                    let shape = control.shape;
                    match control.next_fault() {
                        None => Answer::Data {
                            query,
                            shape,
                            truncate: false,
                            drip: None,
                        },
                        Some(f) => {
                            control.stats.faults_applied += 1;
                            delay = f.delay_ms.map(Duration::from_millis);
                            fault = Some(format!("{f:?}"));
                            if let Some(status) = f.status {
                                Answer::Error {
                                    status: StatusCode::from_u16(status)
                                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                                    message: "injected fault".into(),
                                    retry_after_secs: f.retry_after_secs,
                                }
                            } else if f.html {
                                Answer::Html
                            } else {
                                Answer::Data {
                                    query,
                                    shape,
                                    truncate: f.truncate,
                                    drip: f.drip_ms.map(Duration::from_millis),
                                }
                            }
                        }
                    }
                }
            }
        };
        control.stats.record(answer.status().as_u16());
        (answer, delay, fault)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let status = answer.status().as_u16();
    let response = match answer {
        Answer::Error {
            status,
            message,
            retry_after_secs,
        } => error_response(status, &message, retry_after_secs),
        Answer::Html => html_response(),
        Answer::Data {
            query,
            shape,
            truncate,
            drip,
        } => {
            let items = sim.shared().store().snapshot();
            let (range, envelope) = select(items.len(), query, shape);
            let served = range.len();
            sim.shared().control().stats.prospects_served += served as u64;
            tracing::info!(
                status,
                prospects = served,
                ?envelope,
                truncate,
                fault,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "GET /api/prospects"
            );
            return if truncate {
                truncated_response(items, range, envelope).await
            } else if let Some(every) = drip {
                drip_response(items, range, envelope, every)
            } else {
                json_stream_response(items, range, envelope)
            };
        }
    };
    tracing::info!(
        status,
        fault,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "GET /api/prospects"
    );
    response
}

/// A 200 JSON response streaming `items[range]` in `envelope`.
pub(crate) fn json_stream_response(
    items: Arc<Vec<Item>>,
    range: Range<usize>,
    envelope: Envelope,
) -> Response {
    let (tx, mut rx) = mpsc::channel::<io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let slice = items.get(range).unwrap_or_default();
        let mut sender = ChunkSender {
            buffer: Vec::with_capacity(CHUNK),
            tx,
        };
        let written = write_body(&mut sender, slice, envelope).and_then(|()| sender.flush());
        if let Err(e) = written {
            // Mostly a client that went away; then nobody reads this either.
            tracing::debug!(error = %e, "prospects body not finished");
            if sender.tx.blocking_send(Err(e)).is_err() {
                tracing::debug!("client gone before the end of the body");
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Writes `[...]` or its envelope to `w`, one prospect at a time.
pub(crate) fn write_body<W: Write>(
    w: &mut W,
    items: &[Item],
    envelope: Envelope,
) -> io::Result<()> {
    match envelope {
        Envelope::Array => w.write_all(b"[")?,
        Envelope::Wrapped | Envelope::Page { .. } => w.write_all(b"{\"data\":[")?,
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(item.json())?;
    }
    match envelope {
        Envelope::Array => w.write_all(b"]"),
        Envelope::Wrapped => w.write_all(b"]}"),
        Envelope::Page { page, total_pages } => {
            write!(w, "],\"page\":{page},\"total_pages\":{total_pages}}}")
        }
    }
}

/// Which prospects a request gets, and in which envelope: `limit` first, then the page.
fn select(len: usize, query: ListQuery, shape: Shape) -> (Range<usize>, Envelope) {
    let len = query.limit.map_or(len, |limit| limit.min(len));
    match shape {
        Shape::Array => (0..len, Envelope::Array),
        Shape::Wrapped => (0..len, Envelope::Wrapped),
        Shape::Paginated { page_size } => {
            let page_size = page_size.max(1);
            let total_pages = len.div_ceil(page_size).max(1);
            let page = query.page.unwrap_or(1);
            let start = page.saturating_sub(1).saturating_mul(page_size).min(len);
            let end = start.saturating_add(page_size).min(len);
            (start..end, Envelope::Page { page, total_pages })
        }
    }
}

/// True when the request carries `Authorization: Bearer <token>`.
fn authorised(headers: &HeaderMap, token: &str) -> bool {
    bearer(headers).is_some_and(|given| given == token)
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let given = parts.next().unwrap_or_default().trim();
    (scheme.eq_ignore_ascii_case("bearer") && !given.is_empty()).then_some(given)
}

/// Reads `limit` and `page` (1-based); any other parameter is ignored.
fn parse_query(raw: Option<&str>) -> Result<ListQuery, String> {
    let mut query = ListQuery::default();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" => {
                let limit = value
                    .parse()
                    .map_err(|_| format!("limit must be a non-negative integer, not {value:?}"))?;
                query.limit = Some(limit);
            }
            "page" => match value.parse::<usize>() {
                Ok(page) if page >= 1 => query.page = Some(page),
                _ => return Err(format!("page must be an integer from 1, not {value:?}")),
            },
            _ => {}
        }
    }
    Ok(query)
}

/// A JSON error body with `status` (and `Retry-After` when given).
pub(crate) fn error_response(
    status: StatusCode,
    message: &str,
    retry_after_secs: Option<u64>,
) -> Response {
    let body = json!({
        "error": status.canonical_reason().unwrap_or("error"),
        "message": message,
        "status": status.as_u16(),
    });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// A 200 that is an HTML error page, as a misconfigured proxy or the platform's maintenance
/// page would send.
fn html_response() -> Response {
    const PAGE: &str = "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\">\
        <title>WinLeadPlus - Erreur</title></head>\n<body>\n<h1>Service momentanément \
        indisponible</h1>\n<p>Une erreur est survenue. Merci de réessayer dans quelques \
        instants.</p>\n</body>\n</html>\n";
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE,
    )
        .into_response()
}

/// A 200 whose JSON body comes one byte every `every` (it stops when the client goes).
fn drip_response(
    items: Arc<Vec<Item>>,
    range: Range<usize>,
    envelope: Envelope,
    every: Duration,
) -> Response {
    let mut body = Vec::new();
    if let Err(e) = write_body(&mut body, items.get(range).unwrap_or_default(), envelope) {
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None);
    }
    let stream = futures::stream::unfold(0_usize, move |at| {
        let byte = body.get(at).copied();
        async move {
            let byte = byte?;
            tokio::time::sleep(every).await;
            Some((Ok::<_, io::Error>(vec![byte]), at + 1))
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A 200 whose JSON body stops in the middle (at a character boundary, so it is still
/// UTF-8 but never valid JSON).
async fn truncated_response(
    items: Arc<Vec<Item>>,
    range: Range<usize>,
    envelope: Envelope,
) -> Response {
    let built = tokio::task::spawn_blocking(move || {
        let mut body = Vec::new();
        write_body(&mut body, items.get(range).unwrap_or_default(), envelope).map(|()| body)
    })
    .await;
    match built {
        Ok(Ok(mut body)) => {
            let mut cut = (body.len() / 2).max(1);
            while cut > 1 && body.get(cut).is_some_and(|b| b & 0xC0 == 0x80) {
                cut -= 1;
            }
            body.truncate(cut);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Ok(Err(e)) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
        Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
    }
}

/// An `io::Write` that sends what it is given to the response body in chunks of about
/// [`CHUNK`] bytes; fails once the client is gone, which stops the serialization.
struct ChunkSender {
    buffer: Vec<u8>,
    tx: mpsc::Sender<io::Result<Vec<u8>>>,
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn q(limit: Option<usize>, page: Option<usize>) -> ListQuery {
        ListQuery { limit, page }
    }

    #[test]
    fn limit_comes_before_pagination() {
        let paged = Shape::Paginated { page_size: 10 };
        let cases = [
            (25, q(None, None), Shape::Array, 0..25),
            (25, q(Some(3), None), Shape::Array, 0..3),
            (25, q(Some(300), None), Shape::Wrapped, 0..25),
            (25, q(None, None), paged, 0..10),
            (25, q(None, Some(3)), paged, 20..25),
            (25, q(None, Some(4)), paged, 25..25),
            (25, q(Some(12), Some(2)), paged, 10..12),
            (0, q(None, Some(1)), paged, 0..0),
        ];
        for (len, query, shape, expected) in cases {
            assert_eq!(
                select(len, query, shape).0,
                expected,
                "{len} {query:?} {shape:?}"
            );
        }
        assert!(matches!(
            select(25, q(None, Some(2)), paged).1,
            Envelope::Page {
                page: 2,
                total_pages: 3
            }
        ));
        assert!(matches!(
            select(0, q(None, None), paged).1,
            Envelope::Page {
                page: 1,
                total_pages: 1
            }
        ));
    }

    #[test]
    fn the_query_is_read_strictly_for_limit_and_page_only() {
        assert_eq!(parse_query(Some("limit=1&x=y")).unwrap().limit, Some(1));
        assert_eq!(parse_query(Some("page=2")).unwrap().page, Some(2));
        assert!(parse_query(None).unwrap().limit.is_none());
        for bad in ["limit=-1", "limit=abc", "page=0", "page="] {
            assert!(parse_query(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_bearer_token_must_match_exactly() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(authorised(&with("Bearer t0k"), "t0k"));
        assert!(authorised(&with("bearer t0k"), "t0k"));
        assert!(!authorised(&with("Bearer t0"), "t0k"));
        assert!(!authorised(&with("Basic t0k"), "t0k"));
        assert!(!authorised(&with("Bearer "), ""));
        assert!(!authorised(&HeaderMap::new(), "t0k"));
    }

    #[test]
    fn bodies_are_valid_json_in_every_envelope() {
        let items = vec![
            json!({"idProspect": 1}),
            json!({"idProspect": 2, "nom": "É"}),
        ];
        for (envelope, expected) in [
            (Envelope::Array, json!(items)),
            (Envelope::Wrapped, json!({"data": items})),
            (
                Envelope::Page {
                    page: 2,
                    total_pages: 5,
                },
                json!({"data": items, "page": 2, "total_pages": 5}),
            ),
        ] {
            let stored: Vec<Item> = items.iter().map(Item::new).collect();
            let mut body = Vec::new();
            write_body(&mut body, &stored, envelope).unwrap();
            assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), expected);
        }
    }
}
