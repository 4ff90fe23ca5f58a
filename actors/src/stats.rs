//! Load statistics as the command line shows them ([`Stats`], made from the run's lossless
//! [`RequestStats`]), and [`LoadStats`], a telemetry handler that aggregates HTTP request
//! events into the same numbers (it sees only what its bounded queue delivered: reports use
//! [`amoc::metrics`] instead).

use std::time::Duration;

use actix::{Actor, Context, Handler, Message};
use amoc::metrics::RequestStats;
use amoc::telemetry::EventBatch;
use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds, up to one minute.
const MAX_LATENCY_US: u64 = 60_000_000;

/// Aggregates `[amoc_actors, http, request]` events. Attach it to
/// [`HTTP_REQUEST`](crate::http::HTTP_REQUEST); ask it with [`TakeWindow`] and [`Totals`].
#[derive(Debug)]
pub struct LoadStats {
    total: Window,
    window: Window,
    window_started: tokio::time::Instant,
}

#[derive(Debug)]
struct Window {
    requests: u64,
    errors: u64,
    latency_us: Histogram<u64>,
}

impl Window {
    fn new() -> Self {
        Self {
            requests: 0,
            errors: 0,
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_histogram())),
        }
    }

    fn record(&mut self, duration_ns: u64, error: bool) {
        self.requests += 1;
        if error {
            self.errors += 1;
        }
        let us = (duration_ns / 1000).clamp(1, MAX_LATENCY_US);
        let _ = self.latency_us.record(us);
    }

    fn stats(&self, elapsed: Duration) -> Stats {
        let q = |p: f64| {
            if self.latency_us.is_empty() {
                0.0
            } else {
                self.latency_us.value_at_quantile(p) as f64 / 1000.0
            }
        };
        Stats {
            requests: self.requests,
            errors: self.errors,
            elapsed,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            max_ms: self.latency_us.max() as f64 / 1000.0,
            mean_ms: self.latency_us.mean() / 1000.0,
        }
    }
}

/// 3 significant digits is always a valid precision: this is never reached.
fn unreachable_histogram() -> Histogram<u64> {
    panic!("hdrhistogram refused 3 significant digits")
}

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

impl LoadStats {
    /// Empty statistics; the first window starts now.
    pub fn new() -> Self {
        Self {
            total: Window::new(),
            window: Window::new(),
            window_started: tokio::time::Instant::now(),
        }
    }
}

impl Default for LoadStats {
    fn default() -> Self {
        Self::new()
    }
}

impl Actor for LoadStats {
    type Context = Context<Self>;
}

impl Handler<EventBatch> for LoadStats {
    type Result = ();

    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        for e in &batch.events {
            let get = |k: &str| e.measurements.get(k).map_or(0, |n| n.as_f64() as u64);
            let (duration, status) = (get("duration"), get("status"));
            let error = status == 0 || status >= 400;
            self.total.record(duration, error);
            self.window.record(duration, error);
        }
    }
}

/// Returns the current window's statistics and starts a new window.
#[derive(Debug, Clone, Copy)]
pub struct TakeWindow;

impl Message for TakeWindow {
    type Result = Stats;
}

impl Handler<TakeWindow> for LoadStats {
    type Result = actix::MessageResult<TakeWindow>;

    fn handle(&mut self, _: TakeWindow, _: &mut Self::Context) -> Self::Result {
        let now = tokio::time::Instant::now();
        let stats = self.window.stats(now - self.window_started);
        self.window = Window::new();
        self.window_started = now;
        actix::MessageResult(stats)
    }
}

/// Returns the statistics since the start, over `elapsed`.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    /// The span to compute rates over (the test's duration).
    pub elapsed: Duration,
}

impl Message for Totals {
    type Result = Stats;
}

impl Handler<Totals> for LoadStats {
    type Result = actix::MessageResult<Totals>;

    fn handle(&mut self, msg: Totals, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.total.stats(msg.elapsed))
    }
}

/// Forgets everything recorded so far (a new test starts).
#[derive(Debug, Clone, Copy)]
pub struct ResetStats;

impl Message for ResetStats {
    type Result = ();
}

impl Handler<ResetStats> for LoadStats {
    type Result = ();

    fn handle(&mut self, _: ResetStats, _: &mut Self::Context) {
        *self = Self::new();
    }
}
