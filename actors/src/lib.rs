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

/// Binds an actix-web `HttpServer` builder (already configured) to `$addr`, spawns it on the
/// current arbiter, and yields `io::Result<(SocketAddr, ServerHandle)>`. A macro, as the
/// server's generic bounds would dwarf a function doing this.
macro_rules! spawn_server {
    ($server:expr, $addr:expr, $what:literal) => {
        (|| -> ::std::io::Result<(::std::net::SocketAddr, ::actix_web::dev::ServerHandle)> {
            let server = $server.disable_signals().bind($addr)?;
            let addr =
                server.addrs().first().copied().ok_or_else(|| {
                    ::std::io::Error::other(concat!($what, " bound to no address"))
                })?;
            let server = server.run();
            let handle = server.handle();
            ::actix_rt::spawn(server);
            Ok((addr, handle))
        })()
    };
}

pub mod api;
pub mod cli;
pub mod http;
mod jsonl;
mod logger;
mod prometheus;
pub mod scenarios;
mod stats;
mod target;

pub use api::{ApiToken, ControlApi, ControlApiBuilder, RunEvent, ScenarioInfo};
pub use jsonl::{Flush, JsonLinesWriter};
pub use logger::TracingLogger;
pub use prometheus::{
    to_text_format, MetricsStore, PrometheusMetrics, LATENCY_BUCKETS, OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
};
pub use stats::{LoadStats, ResetStats, Stats, TakeWindow, Totals};
pub use target::TestTarget;
