//! The WinLeadPlus API client: the only module that knows reqwest. Fetches an
//! organisation's prospects with bounded retries and parses the response as a stream,
//! mapping each prospect as it arrives, so memory follows the batch size, not the payload.
//! Where it may send requests is the egress policy's to say (`egress.rs`).

mod client;
pub mod egress;
mod split;
mod stream;

pub use client::{ClientSettings, FetchError, TestOutcome, WinLeadPlusClient};
pub use egress::{EgressPolicy, Refusal};
pub use stream::{FetchSummary, Record, Unchanged};
