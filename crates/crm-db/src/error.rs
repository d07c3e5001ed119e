//! The errors of this crate. Every message is one line and names the server as
//! `host:port/database`: never the URL, which may carry a password.

use crate::database_url::DatabaseUrl;

/// What can go wrong while creating or migrating a database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL is not a `postgres://` or `postgresql://` URL we can work with.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// Why, without the URL itself.
        reason: String,
    },
    /// PostgreSQL could not be reached, or refused the connection.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Connect {
        /// `host:port/database`.
        target: String,
        /// The driver's message, on one line.
        reason: String,
    },
    /// A statement failed.
    #[error("query on {target} failed: {cause}")]
    Query {
        /// `host:port/database`.
        target: String,
        /// The driver error.
        cause: diesel::result::Error,
    },
    /// Applying or reverting a migration failed (the failing migration was rolled back).
    #[error("migrations of {target} failed: {reason}")]
    Migration {
        /// `host:port/database`, or the kind of database when no server was involved.
        target: String,
        /// The harness' message, on one line.
        reason: String,
    },
}

impl Error {
    pub(crate) fn query(url: &DatabaseUrl, cause: diesel::result::Error) -> Self {
        Self::Query {
            target: url.target(),
            cause,
        }
    }

    pub(crate) fn migration(target: &str, cause: &dyn std::error::Error) -> Self {
        Self::Migration {
            target: target.to_owned(),
            reason: one_line(cause),
        }
    }
}

/// Renders an error and its causes as `error: cause: cause`, on a single line.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![one_line(error)];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(one_line(cause));
        source = cause.source();
    }
    parts.join(": ")
}

/// Renders an error (PostgreSQL's carry `DETAIL:` and `HINT:` lines) on a single line.
pub(crate) fn one_line(error: &dyn std::fmt::Display) -> String {
    error
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
