//! Starting and steering a simulator in-process: [`Sim::start`] binds (port 0 works), spawns
//! the server and returns; [`SimHandle`] does directly what the admin API does over HTTP, so
//! tests need no HTTP for their set-up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admin;
use crate::api::{error_response, list_prospects};
use crate::error::SimError;
use crate::state::{Fault, Shape, Shared, Stats};
use crate::store::{Item, Store};

/// How long [`Sim::stop`] lets requests in flight finish before cutting them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The token `/api/prospects` expects unless told otherwise.
pub const DEFAULT_TOKEN: &str = "sim-token";

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port (see [`Sim::addr`]).
    pub addr: SocketAddr,
    /// The bearer token `/api/prospects` expects.
    pub token: String,
    /// The prospects it starts with.
    pub data: SimData,
}

impl Default for SimConfig {
    /// `127.0.0.1:0`, token [`DEFAULT_TOKEN`], no data.
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            token: DEFAULT_TOKEN.to_owned(),
            data: SimData::Empty,
        }
    }
}

/// The prospects a simulator starts with.
#[derive(Debug, Clone, Default)]
pub enum SimData {
    /// A JSON file: an array of prospects, or an object whose `data`, `prospects`, `items`
    /// or `results` member is one (the fixtures work as they are).
    File(PathBuf),
    /// [`generate`](crate::generate())`(count, seed)`.
    Generate {
        /// How many prospects.
        count: usize,
        /// The seed ([`DEFAULT_SEED`](crate::DEFAULT_SEED) is 42).
        seed: u64,
    },
    /// These prospects, served as they are (broken ones included).
    Prospects(Vec<Value>),
    /// These records, each served byte for byte as one element of the array, even when it is
    /// not valid JSON (invalid UTF-8, `1e400`, …): for hostile-data tests.
    Raw(Vec<Vec<u8>>),
    /// Nothing (an empty array).
    #[default]
    Empty,
}

/// Who may use the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminAccess {
    /// Peers on the loopback interface only (the default).
    #[default]
    LoopbackOnly,
    /// Anyone who can reach the port (in a container reached through a bridge network).
    Anywhere,
}

/// A running simulator. Dereferences to its [`SimHandle`]; dropping it stops the server too,
/// but only [`Sim::stop`] waits for that.
#[derive(Debug)]
pub struct Sim {
    handle: SimHandle,
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Steers a running simulator (cheap to clone; every clone steers the same one).
#[derive(Debug, Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl Sim {
    /// Loads or generates the data, binds `config.addr`, spawns the server on the current
    /// Tokio runtime and returns once it accepts connections. The admin API answers loopback
    /// peers only.
    pub async fn start(config: SimConfig) -> anyhow::Result<Sim> {
        Sim::start_with(config, AdminAccess::LoopbackOnly).await
    }

    /// [`Sim::start`], choosing who may use the admin API.
    pub async fn start_with(config: SimConfig, admin_access: AdminAccess) -> anyhow::Result<Sim> {
        let SimConfig { addr, token, data } = config;
        let store = load(data).await?;
        let count = store.len();
        let handle = SimHandle {
            shared: Arc::new(Shared::new(
                store,
                token,
                admin_access == AdminAccess::Anywhere,
            )),
        };
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let app = router(handle.clone());
        let shutdown = CancellationToken::new();
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let server = tokio::spawn(async move { serve.await });
        tracing::info!(%addr, prospects = count, ?admin_access, "winleadplus-sim listening");
        Ok(Sim {
            handle,
            addr,
            shutdown,
            server: Some(server),
        })
    }

    /// The bound address (the real port when started with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}` (the loopback address when bound to an unspecified one).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// `{base_url}/api/prospects`, the endpoint to configure in a client.
    pub fn prospects_url(&self) -> String {
        format!("{}/api/prospects", self.base_url())
    }

    /// A handle to steer this simulator from elsewhere (another task, a helper struct).
    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s, then cuts
    /// them) and returns when the server is down.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let Some(mut server) = self.server.take() else {
            return;
        };
        match tokio::time::timeout(STOP_GRACE, &mut server).await {
            Ok(Ok(Ok(()))) => tracing::info!(addr = %self.addr, "winleadplus-sim stopped"),
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "winleadplus-sim server failed"),
            Ok(Err(e)) => tracing::error!(error = %e, "winleadplus-sim server task failed"),
            Err(_) => {
                tracing::warn!(
                    "winleadplus-sim: requests still running after the grace period; cut"
                );
                server.abort();
            }
        }
    }
}

impl Deref for Sim {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl SimHandle {
    /// Replaces all prospects (like `PUT /admin/prospects`).
    pub fn set_prospects(&self, prospects: Vec<Value>) {
        self.replace_store(Store::new(prospects));
    }

    /// Adds prospects, or replaces in place those whose `idProspect` is already there (like
    /// `POST /admin/prospects`). Returns how many were given.
    pub fn upsert_prospects(&self, prospects: Vec<Value>) -> usize {
        self.shared.store_mut().upsert(prospects)
    }

    /// Removes the prospect(s) with this id (like `DELETE /admin/prospects/{id}`); false when
    /// there was none.
    pub fn remove_prospect(&self, id: i64) -> bool {
        self.shared.store_mut().remove(id) > 0
    }

    /// How many prospects are served (like `GET /admin/prospects/count`).
    pub fn count(&self) -> usize {
        self.shared.store().len()
    }

    /// A copy of the prospects, in the order they are served.
    pub fn prospects(&self) -> Vec<Value> {
        let snapshot = self.shared.store().snapshot();
        snapshot.iter().map(Item::value).collect()
    }

    /// Replaces the data with [`generate`](crate::generate())`(count, seed)` (like
    /// `POST /admin/generate`).
    pub fn generate(&self, count: usize, seed: u64) {
        self.replace_store(Store::generated(count, seed));
    }

    /// Changes `round(fraction × n)` of the `n` prospects with a valid id: new `telephone`,
    /// `email` and `etapeCourante`, each different from before. Which ones and the new values
    /// depend only on the current data and `seed`. Returns the changed ids, ascending (like
    /// `POST /admin/mutate`). `fraction` is clamped to `[0, 1]`.
    pub fn mutate(&self, fraction: f64, seed: u64) -> Vec<i64> {
        self.shared.store_mut().mutate(fraction, seed)
    }

    /// Queues a fault after the pending ones (like `POST /admin/faults`). Not validated here
    /// (the admin API refuses what [`Fault::validate`] refuses): a `count` of 0 does nothing,
    /// and `status` wins over `html`, which wins over `truncate`.
    pub fn push_fault(&self, fault: Fault) {
        self.push_faults([fault]);
    }

    /// Queues several faults, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut control = self.shared.control();
        control
            .faults
            .extend(faults.into_iter().filter(|f| f.count > 0));
    }

    /// The faults still to be applied, front first.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared.control().faults.iter().cloned().collect()
    }

    /// Drops every pending fault (like `DELETE /admin/faults`); returns how many there were.
    pub fn clear_faults(&self) -> usize {
        let mut control = self.shared.control();
        let n = control.faults.len();
        control.faults.clear();
        n
    }

    /// Sets the body shape (like `PUT /admin/shape`); a page size of 0 counts as 1.
    pub fn set_shape(&self, shape: Shape) {
        let shape = match shape {
            Shape::Paginated { page_size } => Shape::Paginated {
                page_size: page_size.max(1),
            },
            other => other,
        };
        self.shared.control().shape = shape;
    }

    /// The current body shape.
    pub fn shape(&self) -> Shape {
        self.shared.control().shape
    }

    /// Sets the bearer token `/api/prospects` expects (like `PUT /admin/token`).
    pub fn set_token(&self, token: impl Into<String>) {
        self.shared.control().token = token.into();
    }

    /// The bearer token `/api/prospects` expects.
    pub fn token(&self) -> String {
        self.shared.control().token.clone()
    }

    /// Requests and statuses of `/api/prospects` so far (like `GET /admin/stats`).
    pub fn stats(&self) -> Stats {
        self.shared.control().stats.clone()
    }

    /// Sets the statistics back to zero (like `POST /admin/stats/reset`).
    pub fn reset_stats(&self) {
        self.shared.control().stats = Stats::default();
    }

    /// The bearer tokens `/api/prospects` was sent so far, right or wrong, oldest first (the
    /// most recent [`crate::HISTORY_LEN`]).
    pub fn bearer_tokens(&self) -> Vec<String> {
        self.shared.control().bearers.iter().cloned().collect()
    }

    /// Swaps in a store built beforehand (outside the lock).
    pub(crate) fn replace_store(&self, store: Store) {
        let old = std::mem::replace(&mut *self.shared.store_mut(), store);
        drop(old); // freed after the lock is released
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

/// Reads a list of prospects from a JSON value: an array, or an object whose `data`,
/// `prospects`, `items` or `results` member is an array. `what` names the source in errors.
pub(crate) fn prospects_from_json(value: Value, what: &str) -> Result<Vec<Value>, SimError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut object) => ["data", "prospects", "items", "results"]
            .iter()
            .find_map(|key| match object.remove(*key) {
                Some(Value::Array(items)) => Some(items),
                _ => None,
            })
            .ok_or_else(|| SimError::NotAList { what: what.into() }),
        _ => Err(SimError::NotAList { what: what.into() }),
    }
}

/// Reads a JSON data file of prospects (see [`SimData::File`]).
pub fn load_file(path: &std::path::Path) -> Result<Vec<Value>, SimError> {
    let bytes = std::fs::read(path).map_err(|source| SimError::ReadData {
        path: path.to_owned(),
        source,
    })?;
    let what = path.display().to_string();
    let value = serde_json::from_slice(&bytes).map_err(|source| SimError::ParseData {
        what: what.clone(),
        source,
    })?;
    prospects_from_json(value, &what)
}

async fn load(data: SimData) -> anyhow::Result<Store> {
    let store = tokio::task::spawn_blocking(move || match data {
        SimData::Empty => Ok(Store::default()),
        SimData::Prospects(prospects) => Ok(Store::new(prospects)),
        SimData::Raw(records) => Ok(Store::raw(records)),
        SimData::Generate { count, seed } => Ok(Store::generated(count, seed)),
        SimData::File(path) => load_file(&path).map(Store::new),
    })
    .await
    .context("loading the data failed")??;
    Ok(store)
}

fn router(handle: SimHandle) -> Router {
    Router::new()
        .route("/api/prospects", get(list_prospects))
        .route("/healthz", get(|| async { "ok" }))
        .merge(admin::router(handle.clone()))
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "no such route", None) })
        .with_state(handle)
}
