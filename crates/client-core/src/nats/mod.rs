//! client-core's NATS side: the connection, its readiness check, the create responder (core
//! request/reply) and the update consumer (JetStream). Only this module knows async-nats.

mod convert;
mod create;
mod update;

use anyhow::Context;
use async_nats::connection::State;
use service_kit::ops::Check;

pub use create::CreateResponder;
pub use update::{UpdateConsumer, ensure_update_stream, replay_dead_letter};

/// A connection to NATS (cheap to clone; it reconnects by itself).
pub type Connection = async_nats::Client;

/// Connects to the server at `url`, showing up there as `name`. The error names the server
/// without the credentials the URL may carry.
pub async fn connect(url: &str, name: &str) -> anyhow::Result<Connection> {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(url)
        .await
        .with_context(|| {
            format!(
                "cannot connect to NATS at {}",
                mapper::mask::mask_url_credentials(url)
            )
        })
}

/// The `/readyz` check `nats`: fails with the connection's state (`disconnected`, …)
/// while it is not connected.
pub fn readiness(connection: Connection) -> Check {
    Check::new("nats", connection, |connection| async move {
        match connection.connection_state() {
            State::Connected => Ok(()),
            state => Err(state),
        }
    })
}
