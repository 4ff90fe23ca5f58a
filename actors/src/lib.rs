//! Ready-made actors for amoc-rs.
