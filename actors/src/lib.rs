//! Ready-made actors for amoc-rs: telemetry handlers to attach, and scenario helpers.
//!
//! * [`TracingLogger`]: logs every event it receives through `tracing`.
//! * [`JsonLinesWriter`]: appends one JSON object per event to a file.
//! * [`Stats`]: the summary numbers of requests.
//! * [`report`]: a run's report (JSON, HTML), its thresholds.
//! * [`TestTarget`]: an embedded HTTP server on loopback to load-test with no setup.
//! * [`http::HttpClient`]: named HTTP requests from users, one keep-alive connection each,
//!   recorded losslessly in the run's statistics.
//! * [`scenarios::HttpScenario`]: the built-in HTTP scenario.
//! * [`ControlApi`]: the HTTP control API (start, add and remove users, stop, status).
//! * [`PrometheusMetrics`]: counts events and histograms their durations for Prometheus.
//! * [`Runner`]: the `amoc` command line for your own scenarios; [`LoadTest`]: one test
//!   from code, with progress and summary.
//! * [`cli`]: the command line's arguments and exit codes.
//! * [`cluster`]: cluster mode over NATS (the `worker` command, `serve --cluster`).
//!
//! Cargo features (all on by default): `http` (the HTTP client, the built-in HTTP scenario,
//! the test target: its own HTTP/1.1 client on httparse, rustls), `api` (the control API: actix-web), `cli` (the
//! `amoc` command line, the runner and cluster mode: clap, indicatif, async-nats; implies `http` and `api`). With
//! `default-features = false` only the telemetry handler actors ([`TracingLogger`],
//! [`JsonLinesWriter`], [`PrometheusMetrics`]) and the statistics remain.
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

#[cfg(feature = "api")]
pub mod api;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod cluster;
#[cfg(feature = "http")]
pub mod http;
mod jsonl;
mod logger;
mod prometheus;
pub mod report;
#[cfg(feature = "cli")]
pub mod runner;
#[cfg(feature = "http")]
pub mod scenarios;
mod stats;
#[cfg(feature = "http")]
mod target;

#[cfg(feature = "api")]
pub use api::{ApiToken, ControlApi, ControlApiBuilder, RunEvent, ScenarioInfo};
pub use jsonl::{EventsError, Flush, JsonLinesWriter};
pub use logger::TracingLogger;
pub use prometheus::{
    to_text_format, MetricsStore, PrometheusMetrics, LATENCY_BUCKETS, OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
};
#[cfg(feature = "cli")]
pub use runner::{LoadTest, Outcome, Progress, RunError, Runner, StopSignal};
pub use stats::Stats;
#[cfg(feature = "http")]
pub use target::{FirstAnswers, TestTarget};
