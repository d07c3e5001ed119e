//! Integration tests of service-kit's authentication: tokens from a JWK set served on 127.0.0.1, and the
//! layer in a real tonic server on 127.0.0.1 (health, reflection and a probe service).
//! Nothing but loopback is reached; time is moved with tokio's clock, never slept through.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod auth_jwks;
mod auth_layer;
mod helpers;
