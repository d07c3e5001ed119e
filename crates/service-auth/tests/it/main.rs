//! Integration tests of service-auth: tokens from a JWK set served on 127.0.0.1, and the
//! layer in a real tonic server on 127.0.0.1 (health, reflection and a probe service).
//! Nothing but loopback is reached; time is moved with tokio's clock, never slept through.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod helpers;
mod jwks;
mod layer;
