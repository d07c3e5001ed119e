//! The WinLeadPlus API client: the only module that knows reqwest. Fetches an
//! organisation's prospects with bounded retries and parses the response as a stream,
//! mapping each prospect as it arrives, so memory follows the batch size, not the payload.

mod client;
mod split;
mod stream;

pub use client::{ClientSettings, FetchError, TestOutcome, WinLeadPlusClient};
pub use stream::{FetchSummary, Record, Unchanged};
