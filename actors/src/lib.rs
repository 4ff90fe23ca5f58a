//! Ready-made actors for amoc-rs: telemetry handlers to attach, and scenario helpers.
//!
//! * [`TracingLogger`]: logs every event it receives through `tracing`.
//! * [`JsonLinesWriter`]: appends one JSON object per event to a file.
//! * [`LoadStats`]: aggregates HTTP request events into counts and latency percentiles.
//! * [`TestTarget`]: an embedded HTTP server on loopback to load-test with no setup.
//! * [`http::get`]: an HTTP request from a user, through a pooled client per arbiter.
//! * [`scenarios::HttpScenario`]: the built-in HTTP scenario.
//! * [`ControlApi`]: the HTTP control API (start, add and remove users, stop, status).
//! * [`PrometheusMetrics`]: counts events and histograms their durations for Prometheus.
//! * [`cli`]: the `amoc` command line.
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod api;
pub mod cli;
pub mod http;
mod jsonl;
mod logger;
mod prometheus;
pub mod scenarios;
mod stats;
mod target;

pub use api::{ControlApi, ScenarioInfo};
pub use jsonl::{Flush, JsonLinesWriter};
pub use logger::TracingLogger;
pub use prometheus::{MetricsStore, PrometheusMetrics};
pub use stats::{LoadStats, ResetStats, Stats, TakeWindow, Totals};
pub use target::TestTarget;
