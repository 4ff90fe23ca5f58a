//! Load statistics as the command line's progress line shows them: [`Stats`], made from the
//! run's lossless [`RequestStats`] (see [`amoc::metrics`]).

use std::time::Duration;

use amoc::metrics::RequestStats;

/// Counts and latency percentiles over a span of time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Requests completed.
    pub requests: u64,
    /// Requests that failed or got a status ≥ 400.
    pub errors: u64,
    /// The span of time.
    pub elapsed: Duration,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 90th percentile latency, ms.
    pub p90_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
}

impl Stats {
    /// The numbers of `stats` over `elapsed`.
    pub fn from_request_stats(stats: &RequestStats, elapsed: Duration) -> Self {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Stats {
            requests: stats.count,
            errors: stats.errors(),
            elapsed,
            p50_ms: ms(stats.latency_at(0.5)),
            p90_ms: ms(stats.latency_at(0.9)),
            p99_ms: ms(stats.latency_at(0.99)),
            max_ms: ms(stats.latency_max()),
            mean_ms: ms(stats.latency_mean()),
        }
    }

    /// Requests per second over the span.
    pub fn per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.requests as f64 / s
        } else {
            0.0
        }
    }
}
