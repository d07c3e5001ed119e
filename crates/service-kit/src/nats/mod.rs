//! The NATS connection both services open, its settings ([`NatsArgs`]: server, credentials,
//! TLS) and its `/readyz` check (feature `nats`). The services' `nats/` modules re-export
//! these, so async-nats stays behind that one module in each service.

mod config;

use async_nats::connection::State;

use crate::ops::Check;
use crate::urls::mask_credentials;

pub use config::{DEFAULT_URL, NatsArgs, NatsConfigError};

/// A connection to NATS (cheap to clone; it reconnects by itself).
pub type Connection = async_nats::Client;

/// The first connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The settings are wrong (one line naming the variable or the file).
    #[error(transparent)]
    Config(#[from] NatsConfigError),
    /// The server could not be reached or refused us.
    #[error("cannot connect to NATS at {server}: {source}")]
    Connect {
        /// The server's URL without its credentials.
        server: String,
        /// What async-nats said (it never holds the password, token or creds).
        #[source]
        source: async_nats::ConnectError,
    },
}

/// Connects to the server of `args`, logged in as they say and showing up there as `name`.
/// The error names the server without the credentials the URL may carry, and a file by its
/// path only.
pub async fn connect(args: &NatsArgs, name: &str) -> Result<Connection, ConnectError> {
    // async-nats builds its TLS config with the process-wide default provider.
    crate::tls::install_default_provider();
    args.options()
        .await?
        .name(name)
        .custom_inbox_prefix(inbox_prefix(args, name))
        .connect(args.url.as_str())
        .await
        .map_err(|source| ConnectError::Connect {
            server: mask_credentials(&args.url),
            source,
        })
}

/// The prefix of this connection's reply subjects: `_INBOX_<user>` when logging in as a
/// NATS user (so a user may be allowed to subscribe to its own replies only:
/// deploy/nats-server.conf), else `_INBOX_<name>`. Replies carry personal data (pulled
/// updates, create answers): no service may read another's.
pub fn inbox_prefix(args: &NatsArgs, name: &str) -> String {
    let owner = args
        .user
        .as_deref()
        .filter(|u| !u.is_empty())
        .unwrap_or(name);
    let token: String = owner
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("_INBOX_{token}")
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
