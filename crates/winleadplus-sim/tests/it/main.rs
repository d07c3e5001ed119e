//! Integration tests of winleadplus-sim: the real server on port 0, driven over HTTP with
//! reqwest as a sync client would, and set up through the admin API or the in-process handle.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod admin;
mod endpoint;
mod faults;
mod helpers;
mod lifecycle;
