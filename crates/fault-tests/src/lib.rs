//! The product's three binaries (`client-core`, `sync-service`, `winleadplus-sim`) run as
//! separate processes and put through faults: `kill -9`, SIGTERM, a NATS server killed and
//! restarted, PostgreSQL backends terminated, a misbehaving WinLeadPlus. This library is the
//! harness (the integration tests in `tests/it` are the fault tests) and the checker that
//! `cargo xtask soak` uses too.
//!
//! - [`binaries`]: the binaries, built once per run with the profile of the caller;
//! - [`process`]: one service process: spawn with its environment, wait for `/readyz`,
//!   `kill -9`, SIGTERM, restart, its output in a file (printed when a test fails);
//! - [`nats`]: a `nats-server` of the caller's own, which can be killed and restarted on the
//!   same port and store;
//! - [`sim`]: the simulator's admin API (data, mutations, faults, shape);
//! - [`stack`]: the whole product for one test or soak: fresh databases, its own subject
//!   prefix and stream, N replicas of each service, gRPC calls with a signed token;
//! - [`check`]: the simulator's prospects against crm_core and crm_commercial, field by field.

pub mod binaries;
pub mod check;
pub mod nats;
pub mod process;
pub mod sim;
pub mod stack;

pub use binaries::{Binaries, Profile};
pub use check::{CheckReport, Checker};
pub use nats::NatsServer;
pub use process::{Process, ProcessSpec};
pub use sim::SimAdmin;
pub use stack::{Stack, StackOptions};
