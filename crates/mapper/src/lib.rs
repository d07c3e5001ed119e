//! mapper placeholder.
