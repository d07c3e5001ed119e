//! Integration tests of the mapper through its public API (one test binary).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;
mod insertable;
mod properties;
