//! client-core (under construction).
