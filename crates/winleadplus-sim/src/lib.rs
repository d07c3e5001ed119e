//! winleadplus-sim (under construction).
