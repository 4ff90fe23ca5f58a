//! The numbers of one request name: a count per status class and a latency histogram.
//! Plain data: merged, subtracted and read without any runtime.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds, from 1 µs up to this (larger ones are clamped).
pub const MAX_LATENCY_US: u64 = 60_000_000;
/// Significant decimal digits kept by the latency histograms.
const SIGNIFICANT_DIGITS: u8 = 3;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response came with this status code.
    Status(u16),
    /// No response: the connection failed, closed, or the request timed out.
    Failed,
}

impl Outcome {
    /// True for a failure or a status ≥ 400.
    pub fn is_error(self) -> bool {
        match self {
            Outcome::Status(s) => s >= 400,
            Outcome::Failed => true,
        }
    }
}

/// Counts per status class; `failed` counts requests that got no response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusClasses {
    /// 1xx.
    pub informational: u64,
    /// 2xx.
    pub success: u64,
    /// 3xx.
    pub redirection: u64,
    /// 4xx (and codes ≥ 600, which no standard defines).
    pub client_error: u64,
    /// 5xx.
    pub server_error: u64,
    /// No response at all.
    pub failed: u64,
}

impl StatusClasses {
    fn slot(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Failed => &mut self.failed,
            Outcome::Status(s) => match s / 100 {
                1 => &mut self.informational,
                2 => &mut self.success,
                3 => &mut self.redirection,
                5 => &mut self.server_error,
                _ => &mut self.client_error,
            },
        }
    }

    fn zip(&mut self, other: &Self, f: impl Fn(u64, u64) -> u64) {
        self.informational = f(self.informational, other.informational);
        self.success = f(self.success, other.success);
        self.redirection = f(self.redirection, other.redirection);
        self.client_error = f(self.client_error, other.client_error);
        self.server_error = f(self.server_error, other.server_error);
        self.failed = f(self.failed, other.failed);
    }
}

/// Statistics of requests: count, status classes and latency.
#[derive(Debug, Clone)]
pub struct RequestStats {
    /// Requests completed (with or without a response).
    pub count: u64,
    /// The count split by status class.
    pub classes: StatusClasses,
    latency_us: Histogram<u64>,
}

impl Default for RequestStats {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for RequestStats {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count
            && self.classes == other.classes
            && self.latency_us == other.latency_us
    }
}

impl RequestStats {
    /// Nothing recorded.
    pub fn new() -> Self {
        Self {
            count: 0,
            classes: StatusClasses::default(),
            latency_us: new_histogram(),
        }
    }

    /// Records one request.
    #[inline]
    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        self.count += 1;
        *self.classes.slot(outcome) += 1;
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // Bounds hold after the clamp, so recording cannot fail.
        let _ = self.latency_us.record(us.clamp(1, MAX_LATENCY_US));
    }

    /// Failures plus responses with a status ≥ 400.
    pub fn errors(&self) -> u64 {
        self.classes.failed + self.classes.client_error + self.classes.server_error
    }

    /// Adds `other` to this.
    pub fn merge(&mut self, other: &RequestStats) {
        self.count += other.count;
        self.classes.zip(&other.classes, |a, b| a + b);
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
    }

    /// What was recorded after `earlier` (a previous reading of the same statistics).
    pub fn since(&self, earlier: &RequestStats) -> RequestStats {
        let mut out = self.clone();
        out.count = self.count.saturating_sub(earlier.count);
        out.classes.zip(&earlier.classes, u64::saturating_sub);
        if out.latency_us.subtract(&earlier.latency_us).is_err() {
            // `earlier` was not a prefix of this one: keep the whole histogram.
            out.latency_us = self.latency_us.clone();
        }
        out
    }

    /// The latency at quantile `q` (0.0..=1.0); zero when nothing was recorded.
    pub fn latency_at(&self, q: f64) -> Duration {
        if self.latency_us.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_micros(self.latency_us.value_at_quantile(q))
    }

    /// The largest latency recorded.
    pub fn latency_max(&self) -> Duration {
        Duration::from_micros(self.latency_us.max())
    }

    /// The mean latency.
    pub fn latency_mean(&self) -> Duration {
        Duration::from_secs_f64(self.latency_us.mean() / 1e6)
    }

    /// The latency histogram, in microseconds.
    pub fn latency_histogram(&self) -> &Histogram<u64> {
        &self.latency_us
    }
}

fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS) {
        Ok(h) => h,
        // Constant, valid bounds: hdrhistogram accepts them.
        Err(e) => unreachable!("latency histogram bounds: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn classes_follow_the_status() {
        let mut s = RequestStats::new();
        for o in [200, 204, 301, 404, 503, 700].map(Outcome::Status) {
            s.record(o, ms(1));
        }
        s.record(Outcome::Failed, ms(1));
        let c = s.classes;
        assert_eq!((c.success, c.redirection, c.client_error), (2, 1, 2));
        assert_eq!((c.server_error, c.failed, s.count), (1, 1, 7));
        assert_eq!(s.errors(), 4);
    }

    #[test]
    fn since_is_the_difference_and_merge_the_sum() {
        let mut a = RequestStats::new();
        a.record(Outcome::Status(200), ms(1));
        let earlier = a.clone();
        a.record(Outcome::Status(500), ms(100));
        let window = a.since(&earlier);
        assert_eq!((window.count, window.errors()), (1, 1));
        assert!(window.latency_at(0.0) >= ms(99));
        let mut sum = earlier.clone();
        sum.merge(&window);
        assert_eq!(sum, a);
    }

    #[test]
    fn latency_is_clamped_not_lost() {
        let mut s = RequestStats::new();
        s.record(Outcome::Status(200), Duration::from_secs(3600));
        s.record(Outcome::Status(200), Duration::ZERO);
        assert_eq!(s.count, 2);
        assert!(s.latency_max() >= Duration::from_secs(59));
    }
}
