//! Errors of the simulator's library: loading data and refusing meaningless settings.

use std::path::PathBuf;

/// What can go wrong when the simulator is set up or told what to do.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The data file could not be read.
    #[error("cannot read {path}")]
    ReadData {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The data is not JSON.
    #[error("{what} is not valid JSON")]
    ParseData {
        /// The file or request it came from.
        what: String,
        /// Where and why parsing stopped.
        #[source]
        source: serde_json::Error,
    },
    /// The data is JSON but not a list of prospects.
    #[error(
        "{what} is not a JSON array of prospects (nor an object with a `data`, `prospects`, `items` or `results` array)"
    )]
    NotAList {
        /// The file or request it came from.
        what: String,
    },
    /// A setting (fault, shape, mutation) that makes no sense.
    #[error("{0}")]
    Invalid(String),
}
