//! deploy-check: `deploy/Dockerfile`, `deploy/docker-compose.yml`, `deploy/.env.example` and
//! `deploy/README.md` checked against the services' sources and the runtime contract of
//! ARCHITECTURE.md. No Docker engine is needed: the files are parsed and compared, so that a
//! renamed variable, a moved port or a forgotten healthcheck fails `cargo test` instead of a
//! deployment. `code_map` keeps ARCHITECTURE.md's code map in step with the directories.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of tests: failing loudly is their job"
)]

mod compose;
mod dockerfile;
mod dotenv;
mod helpers;
mod interpolate;
mod sources;

mod code_map;
mod image;
mod readme;
mod stack;
