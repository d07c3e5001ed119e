//! Fault tests: the built `client-core`, `sync-service` and `winleadplus-sim` run as separate
//! processes (see the crate's harness), are killed, stopped, cut off from NATS or PostgreSQL
//! or served a misbehaving WinLeadPlus in the middle of syncs, and after one more sync the
//! checker finds exactly what the simulator's prospects say. Random choices come from one
//! seed per test, printed (`FAULT_SEED=<n>` replays it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod helpers;
mod kill_core;
mod kill_sync;
mod outages;
mod replicas;
mod sigterm;
mod sim_faults;
