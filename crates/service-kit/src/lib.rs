//! What both services need and neither owns: logging, the shutdown token, the operator's
//! HTTP endpoints, the gRPC server (health, reflection, a span and metrics per call), paging
//! and UUID fields. One copy of each; a second copy of this scaffolding in a service is a bug.
//!
//! The kit knows nothing of the domain or the database: a service hands it what only the
//! service knows (its readiness checks, its registry, its gRPC services). Of the broker it
//! knows only how to connect and whether it is connected (feature `nats`).

pub mod auth;
pub mod boundaries;
pub mod fields;
pub mod grpc;
pub mod ids;
pub mod listeners;
pub mod metrics;
#[cfg(feature = "nats")]
pub mod nats;
pub mod ops;
pub mod paging;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod urls;
