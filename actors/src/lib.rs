//! Ready-made actors for amoc-rs: telemetry handlers to attach, and scenario helpers.
//!
//! * [`TracingLogger`]: logs every event it receives through `tracing`.
//! * [`JsonLinesWriter`]: appends one JSON object per event to a file.
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod jsonl;
mod logger;

pub use jsonl::{Flush, JsonLinesWriter};
pub use logger::TracingLogger;
