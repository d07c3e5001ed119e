//! sync-service (under construction).
