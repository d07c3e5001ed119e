//! The NATS connection both services open, and its `/readyz` check (feature `nats`). The
//! services' `nats/` modules re-export these, so async-nats stays behind that one module in
//! each service.

use async_nats::connection::State;

use crate::ops::Check;
use crate::urls::mask_credentials;

/// A connection to NATS (cheap to clone; it reconnects by itself).
pub type Connection = async_nats::Client;

/// The first connection could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to NATS at {server}: {source}")]
pub struct ConnectError {
    /// The server's URL without its credentials.
    server: String,
    #[source]
    source: async_nats::ConnectError,
}

/// Connects to the server at `url`, showing up there as `name`. The error names the server
/// without the credentials the URL may carry.
pub async fn connect(url: &str, name: &str) -> Result<Connection, ConnectError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(url)
        .await
        .map_err(|source| ConnectError {
            server: mask_credentials(url),
            source,
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
