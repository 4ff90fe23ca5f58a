//! Ready-made actors for amoc-rs: telemetry handlers to attach, and scenario helpers.
//!
//! * [`TracingLogger`]: logs every event it receives through `tracing`.
//! * [`JsonLinesWriter`]: appends one JSON object per event to a file.
//! * [`Stats`]: the summary numbers of requests; [`LoadStats`] aggregates HTTP request events.
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
pub mod cluster;
pub mod http;
mod jsonl;
mod logger;
mod prometheus;
pub mod runner;
pub mod scenarios;
mod stats;
mod target;

pub use api::{ApiToken, ControlApi, ControlApiBuilder, RunEvent, ScenarioInfo};
pub use jsonl::{EventsError, Flush, JsonLinesWriter};
pub use logger::TracingLogger;
pub use prometheus::{
    to_text_format, MetricsStore, PrometheusMetrics, LATENCY_BUCKETS, OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
};
pub use runner::{LoadTest, Outcome, Progress, RunError, Runner, StopSignal};
pub use stats::{LoadStats, ResetStats, Stats, TakeWindow, Totals};
pub use target::TestTarget;
