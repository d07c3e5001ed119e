//! What both services need and neither owns: logging, the shutdown token, the operator's
//! HTTP endpoints, the gRPC server (health, reflection, a span and metrics per call), paging
//! and UUID fields. One copy of each; a second copy of this scaffolding in a service is a bug.
//!
//! The kit knows nothing of the domain, the database or the broker: a service hands it what
//! only the service knows (its readiness checks, its registry, its gRPC services).

pub mod fields;
pub mod grpc;
pub mod ids;
pub mod ops;
pub mod paging;
pub mod shutdown;
pub mod telemetry;
