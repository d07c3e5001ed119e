//! The admin API under `/admin`: load, generate, mutate and inspect the data, inject faults,
//! change the body shape and the token, read the request statistics. No authentication;
//! by default it answers loopback peers only (403 otherwise).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::{Envelope, error_response, json_stream_response};
use crate::error::SimError;
use crate::generate::DEFAULT_SEED;
use crate::sim::{SimHandle, prospects_from_json};
use crate::state::{Fault, Shape};
use crate::store::Store;

/// Largest admin request body: a whole data set of 100,000+ prospects must fit.
const BODY_LIMIT: usize = 2 << 30;

/// The `/admin` routes.
pub(crate) fn router(sim: SimHandle) -> Router<SimHandle> {
    Router::new()
        .route("/admin/prospects", get(all).put(replace).post(upsert))
        .route("/admin/prospects/count", get(count))
        .route("/admin/prospects/{id}", axum::routing::delete(remove))
        .route("/admin/generate", post(generate))
        .route("/admin/mutate", post(mutate))
        .route(
            "/admin/faults",
            get(faults).post(push_faults).delete(clear_faults),
        )
        .route("/admin/shape", get(shape).put(set_shape))
        .route("/admin/token", put(set_token))
        .route("/admin/stats", get(stats))
        .route("/admin/stats/reset", post(reset_stats))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(sim, loopback_only))
}

/// An admin request that could not be carried out.
#[derive(Debug)]
enum AdminError {
    BadRequest(String),
    NotFound(String),
    Internal(String),
}

impl From<SimError> for AdminError {
    fn from(e: SimError) -> Self {
        AdminError::BadRequest(error_chain(&e))
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            AdminError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            AdminError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            AdminError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        };
        tracing::warn!(status = status.as_u16(), message, "admin request refused");
        error_response(status, &message, None)
    }
}

type AdminResult = Result<Response, AdminError>;

async fn loopback_only(
    State(sim): State<SimHandle>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if sim.shared().admin_anywhere || peer.ip().to_canonical().is_loopback() {
        tracing::info!(method = %request.method(), path = request.uri().path(), "admin");
        next.run(request).await
    } else {
        tracing::warn!(%peer, "admin request from a non-loopback peer refused");
        error_response(
            StatusCode::FORBIDDEN,
            "the admin API answers loopback peers only (start with --admin-anywhere to open it)",
            None,
        )
    }
}

/// `GET /admin/prospects`: the whole data set as an array (no token, fault or shape).
async fn all(State(sim): State<SimHandle>) -> Response {
    let items = sim.shared().store().snapshot();
    let len = items.len();
    json_stream_response(items, 0..len, Envelope::Array)
}

/// `PUT /admin/prospects`: replaces everything with a JSON array.
async fn replace(State(sim): State<SimHandle>, body: Bytes) -> AdminResult {
    let store = blocking(move || {
        let value = serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string())?;
        let prospects =
            prospects_from_json(value, "the request body").map_err(|e| e.to_string())?;
        Ok::<_, String>(Store::new(prospects))
    })
    .await?;
    sim.replace_store(store);
    Ok(json!({ "count": sim.count() }).to_response())
}

/// `POST /admin/prospects`: adds, or replaces by `idProspect`, an array, `{"data": [...]}` or
/// one prospect object (one without a valid id is appended).
async fn upsert(State(sim): State<SimHandle>, body: Bytes) -> AdminResult {
    let value = blocking(move || serde_json::from_slice::<Value>(&body)).await?;
    // An object is one prospect, unless it wraps the list as the API may (`{"data": [...]}`).
    let wraps_a_list = ["data", "prospects", "items", "results"]
        .iter()
        .any(|key| value.get(key).is_some_and(Value::is_array));
    let prospects = match value {
        Value::Object(_) if value.get("idProspect").is_some() || !wraps_a_list => vec![value],
        other => prospects_from_json(other, "the request body")?,
    };
    let upserted = sim.upsert_prospects(prospects);
    Ok(json!({ "upserted": upserted, "count": sim.count() }).to_response())
}

/// `DELETE /admin/prospects/{id}`.
async fn remove(State(sim): State<SimHandle>, Path(id): Path<String>) -> AdminResult {
    let id: i64 = id
        .parse()
        .map_err(|_| AdminError::BadRequest(format!("{id:?} is not a prospect id")))?;
    if sim.remove_prospect(id) {
        Ok(json!({ "removed": id, "count": sim.count() }).to_response())
    } else {
        Err(AdminError::NotFound(format!("no prospect {id}")))
    }
}

/// `GET /admin/prospects/count`.
async fn count(State(sim): State<SimHandle>) -> Response {
    json!({ "count": sim.count() }).to_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateRequest {
    count: usize,
    #[serde(default = "default_seed")]
    seed: u64,
}

fn default_seed() -> u64 {
    DEFAULT_SEED
}

/// `POST /admin/generate {"count": N, "seed": S}`: replaces the data with generated prospects.
async fn generate(State(sim): State<SimHandle>, body: Bytes) -> AdminResult {
    let request: GenerateRequest = parse(&body)?;
    let store = blocking(move || {
        Ok::<_, std::convert::Infallible>(Store::generated(request.count, request.seed))
    })
    .await?;
    sim.replace_store(store);
    Ok(json!({ "count": sim.count(), "seed": request.seed }).to_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MutateRequest {
    fraction: f64,
    #[serde(default = "default_seed")]
    seed: u64,
}

/// `POST /admin/mutate {"fraction": 0.05, "seed": S}` → `{"changed": [ids], "count": k}`.
async fn mutate(State(sim): State<SimHandle>, body: Bytes) -> AdminResult {
    let request: MutateRequest = parse(&body)?;
    if !(0.0..=1.0).contains(&request.fraction) {
        return Err(AdminError::BadRequest(
            "fraction must be between 0 and 1".into(),
        ));
    }
    let changed = sim.mutate(request.fraction, request.seed);
    Ok(json!({ "count": changed.len(), "changed": changed }).to_response())
}

/// `GET /admin/faults`: the pending faults, front first.
async fn faults(State(sim): State<SimHandle>) -> Response {
    json!({ "queued": sim.pending_faults() }).to_response()
}

/// `POST /admin/faults`: one fault object or a list, queued after the pending ones.
async fn push_faults(State(sim): State<SimHandle>, body: Bytes) -> AdminResult {
    let value: Value = parse(&body)?;
    let faults: Vec<Fault> = match value {
        Value::Array(_) => serde_json::from_value(value),
        _ => serde_json::from_value(value).map(|f| vec![f]),
    }
    .map_err(|e| AdminError::BadRequest(format!("not a fault: {e}")))?;
    for fault in &faults {
        fault.validate()?;
    }
    sim.push_faults(faults);
    Ok(json!({ "queued": sim.pending_faults() }).to_response())
}

/// `DELETE /admin/faults`.
async fn clear_faults(State(sim): State<SimHandle>) -> Response {
    json!({ "cleared": sim.clear_faults() }).to_response()
}

/// `GET /admin/shape`.
async fn shape(State(sim): State<SimHandle>) -> Response {
    json!(sim.shape()).to_response()
}

/// `PUT /admin/shape {"shape": "array" | "wrapped" | "paginated", "page_size": P}`.
async fn set_shape(State(sim): State<SimHandle>, body: Bytes) -> AdminResult {
    let shape: Shape = parse(&body)?;
    shape.validate()?;
    sim.set_shape(shape);
    Ok(json!(shape).to_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    token: String,
}

/// `PUT /admin/token {"token": "..."}` → 204.
async fn set_token(State(sim): State<SimHandle>, body: Bytes) -> AdminResult {
    let request: TokenRequest = parse(&body)?;
    if request.token.trim().is_empty() {
        return Err(AdminError::BadRequest("the token must not be empty".into()));
    }
    sim.set_token(request.token);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/stats`.
async fn stats(State(sim): State<SimHandle>) -> Response {
    json!(sim.stats()).to_response()
}

/// `POST /admin/stats/reset` → 204.
async fn reset_stats(State(sim): State<SimHandle>) -> Response {
    sim.reset_stats();
    StatusCode::NO_CONTENT.into_response()
}

/// A small JSON request body.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, AdminError> {
    serde_json::from_slice(body)
        .map_err(|e| AdminError::BadRequest(format!("bad request body: {e}")))
}

/// Runs CPU-heavy work on a blocking thread.
async fn blocking<T, E, F>(work: F) -> Result<T, AdminError>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(AdminError::BadRequest(format!("bad request body: {e}"))),
        Err(e) => Err(AdminError::Internal(format!("task failed: {e}"))),
    }
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A JSON value as a 200 response.
trait ToResponse {
    fn to_response(self) -> Response;
}

impl ToResponse for Value {
    fn to_response(self) -> Response {
        axum::Json(self).into_response()
    }
}
