//! winleadplus-sim: a fake WinLeadPlus prospects API (`GET /api/prospects` with a bearer
//! token) plus an admin API that loads, generates and mutates data, injects faults and counts
//! requests. Tests of other crates start it in-process with [`Sim::start`]; the demo and the
//! benchmark run the `winleadplus-sim` binary; [`generate()`] gives the same data without a
//! server.
//!
//! # HTTP
//!
//! - `GET /api/prospects` — `Authorization: Bearer <token>` (else 401 with a JSON error);
//!   `?limit=N` keeps the first N, then the [`Shape`] applies (`?page=n`, 1-based, for the
//!   paginated one). The next pending [`Fault`] replaces or delays the answer; a 401 or 400
//!   does not use one up. Every request is counted in [`Stats`], and the bearer token it
//!   carried is remembered ([`Sim::bearer_tokens`]).
//! - `GET /healthz` — `ok`.
//! - `/admin/...` (no token; loopback peers only unless [`AdminAccess::Anywhere`] /
//!   `--admin-anywhere`): `GET|PUT|POST /admin/prospects` (all / replace / upsert by
//!   `idProspect`, an array or one object), `DELETE /admin/prospects/{id}`,
//!   `GET /admin/prospects/count`, `POST /admin/generate {"count", "seed"}`,
//!   `POST /admin/mutate {"fraction", "seed"}` → `{"count", "changed": [ids]}`,
//!   `GET|POST|DELETE /admin/faults` (a fault object or a list, queued in order),
//!   `GET|PUT /admin/shape`, `PUT /admin/token {"token"}`, `GET /admin/stats`,
//!   `POST /admin/stats/reset`. Errors are JSON: `{"error", "message", "status"}`.
//!
//! # Data
//!
//! Prospects are kept as compact JSON text, in order, and served as they were given (broken
//! ones included: tests can serve the edge-case fixture). Object keys come back in
//! `serde_json`'s order (sorted, unless a crate of the build enables `preserve_order`). Generated prospect `i` has `idProspect`
//! `100000 + i` and depends only on (seed, i); its contract and subscription ids are
//! `idProspect × 100 + n`, unique across the data set.

mod admin;
mod api;
mod checks;
pub mod config;
mod error;
mod generate;
mod rng;
mod sim;
mod state;
mod store;

pub use checks::iban_passes_mod97;
pub use config::Config;
pub use error::SimError;
pub use generate::{
    DEFAULT_SEED, FIRST_ID, INVALID_IBAN_SHARE, generate, iban_meant_valid, prospect, prospect_id,
};
pub use sim::{AdminAccess, DEFAULT_TOKEN, Sim, SimConfig, SimData, SimHandle, load_file};
pub use state::{Fault, HISTORY_LEN, Shape, Stats};
