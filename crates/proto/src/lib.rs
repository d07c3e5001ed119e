//! proto placeholder.
