//! The numbers of one request name: counts per status and error class, latency histograms.
//! Plain data: merged, subtracted and read without any runtime.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::class::{ErrorCounts, Sample};

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

/// Statistics of requests: count, status and error classes, and three latency histograms:
/// service time of every request, service time of the errors alone (successes are the
/// difference), and corrected latency (from when each request was due, with the slots a paced
/// caller missed while busy filled in).
#[derive(Debug, Clone)]
pub struct RequestStats {
    /// Requests completed (with or without a response).
    pub count: u64,
    /// The count split by status class.
    pub classes: StatusClasses,
    /// The errors split by [`ErrorClass`].
    pub errors_by_class: ErrorCounts,
    latency_us: Histogram<u64>,
    failed_us: Histogram<u64>,
    corrected_us: Histogram<u64>,
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
            && self.errors_by_class == other.errors_by_class
            && self.latency_us == other.latency_us
            && self.failed_us == other.failed_us
            && self.corrected_us == other.corrected_us
    }
}

impl RequestStats {
    /// Nothing recorded.
    pub fn new() -> Self {
        Self {
            count: 0,
            classes: StatusClasses::default(),
            errors_by_class: ErrorCounts::default(),
            latency_us: new_histogram(),
            failed_us: new_histogram(),
            corrected_us: new_histogram(),
        }
    }

    /// Statistics from their parts (as another node sent them): the histograms are in
    /// microseconds, as [`Self::latency_histogram`], [`Self::failed_histogram`] and
    /// [`Self::corrected_histogram`] give them.
    pub fn from_parts(
        count: u64,
        classes: StatusClasses,
        errors_by_class: ErrorCounts,
        histograms: [Histogram<u64>; 3],
    ) -> Self {
        let [latency_us, failed_us, corrected_us] = histograms;
        Self {
            count,
            classes,
            errors_by_class,
            latency_us,
            failed_us,
            corrected_us,
        }
    }

    /// Records one request that was not paced (corrected latency = service time).
    #[inline]
    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        self.record_sample(&Sample::new(outcome, latency));
    }

    /// Records one request.
    #[inline]
    pub fn record_sample(&mut self, sample: &Sample) {
        self.count += 1;
        *self.classes.slot(sample.outcome) += 1;
        let service = micros(sample.service);
        // Bounds hold after the clamp, so recording cannot fail.
        let _ = self.latency_us.record(service);
        if let Some(class) = sample.error_class() {
            self.errors_by_class.add(class);
            let _ = self.failed_us.record(service);
        }
        let corrected = micros(sample.corrected).max(service);
        match sample.expected_interval {
            Some(i) => {
                let _ = self.corrected_us.record_correct(corrected, micros(i));
            }
            None => {
                let _ = self.corrected_us.record(corrected);
            }
        }
    }

    /// Failures plus responses with a status ≥ 400.
    pub fn errors(&self) -> u64 {
        self.classes.failed + self.classes.client_error + self.classes.server_error
    }

    /// Requests that are not errors.
    pub fn successes(&self) -> u64 {
        self.count - self.errors().min(self.count)
    }

    /// Adds `other` to this.
    pub fn merge(&mut self, other: &RequestStats) {
        self.count += other.count;
        self.classes.zip(&other.classes, |a, b| a + b);
        self.errors_by_class
            .zip(&other.errors_by_class, |a, b| a + b);
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
        let _ = self.failed_us.add(&other.failed_us);
        let _ = self.corrected_us.add(&other.corrected_us);
    }

    /// What was recorded after `earlier` (a previous reading of the same statistics).
    pub fn since(&self, earlier: &RequestStats) -> RequestStats {
        let mut out = self.clone();
        out.count = self.count.saturating_sub(earlier.count);
        out.classes.zip(&earlier.classes, u64::saturating_sub);
        out.errors_by_class
            .zip(&earlier.errors_by_class, u64::saturating_sub);
        for (h, e) in [
            (&mut out.latency_us, &earlier.latency_us),
            (&mut out.failed_us, &earlier.failed_us),
            (&mut out.corrected_us, &earlier.corrected_us),
        ] {
            let whole = h.clone();
            if h.subtract(e).is_err() {
                // `earlier` was not a prefix of this one: keep the whole histogram.
                *h = whole;
            }
        }
        out
    }

    /// The service time at quantile `q` (0.0..=1.0); zero when nothing was recorded.
    pub fn latency_at(&self, q: f64) -> Duration {
        quantile(&self.latency_us, q)
    }

    /// The corrected latency at quantile `q` (0.0..=1.0); zero when nothing was recorded.
    pub fn corrected_at(&self, q: f64) -> Duration {
        quantile(&self.corrected_us, q)
    }

    /// The largest service time recorded.
    pub fn latency_max(&self) -> Duration {
        Duration::from_micros(self.latency_us.max())
    }

    /// The mean service time.
    pub fn latency_mean(&self) -> Duration {
        Duration::from_secs_f64(self.latency_us.mean() / 1e6)
    }

    /// The service times of every request, in microseconds.
    pub fn latency_histogram(&self) -> &Histogram<u64> {
        &self.latency_us
    }

    /// The service times of the errors, in microseconds.
    pub fn failed_histogram(&self) -> &Histogram<u64> {
        &self.failed_us
    }

    /// The service times of the successes, in microseconds (every request's minus the
    /// errors').
    pub fn ok_histogram(&self) -> Histogram<u64> {
        let mut ok = self.latency_us.clone();
        // The errors are a part of every request: subtracting cannot underflow.
        let _ = ok.subtract(&self.failed_us);
        ok
    }

    /// The corrected latencies, in microseconds: one per request, plus one per slot a paced
    /// caller missed while a request of its ran (so its count can exceed [`count`](Self::count)).
    pub fn corrected_histogram(&self) -> &Histogram<u64> {
        &self.corrected_us
    }
}

/// The usual figures of a latency histogram (in microseconds), as durations.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p99_9: Duration,
    /// Largest.
    pub max: Duration,
    /// Mean.
    pub mean: Duration,
    /// Standard deviation.
    pub stddev: Duration,
}

impl LatencySummary {
    /// The figures of `h` (microseconds); all zero when it is empty.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let us = |v: u64| Duration::from_micros(v);
        let f = |v: f64| Duration::from_secs_f64((v / 1e6).max(0.0));
        Self {
            count: h.len(),
            min: us(h.min()),
            p50: us(h.value_at_quantile(0.5)),
            p90: us(h.value_at_quantile(0.9)),
            p95: us(h.value_at_quantile(0.95)),
            p99: us(h.value_at_quantile(0.99)),
            p99_9: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
            mean: f(h.mean()),
            stddev: f(h.stdev()),
        }
    }
}

fn quantile(h: &Histogram<u64>, q: f64) -> Duration {
    if h.is_empty() {
        return Duration::ZERO;
    }
    Duration::from_micros(h.value_at_quantile(q))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_LATENCY_US)
}

/// An empty latency histogram with the bounds every [`RequestStats`] uses (1 µs to
/// [`MAX_LATENCY_US`], 3 significant digits): histograms decoded from a report merge into it.
pub fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS) {
        Ok(h) => h,
        // Constant, valid bounds: hdrhistogram accepts them.
        Err(e) => unreachable!("latency histogram bounds: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::class::ErrorClass;
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

    #[test]
    fn successes_and_failures_are_apart_and_corrected_fills_missed_slots() {
        let mut s = RequestStats::new();
        s.record(Outcome::Status(200), ms(2));
        s.record_sample(&Sample::new(Outcome::Failed, ms(30)).failure(ErrorClass::Timeout));
        // Due 100 ms before it ended, this caller's slots every 10 ms: 10 values.
        s.record_sample(&Sample::new(Outcome::Status(200), ms(1)).due(ms(100), Some(ms(10))));
        assert_eq!((s.count, s.successes(), s.errors()), (3, 2, 1));
        assert_eq!(s.errors_by_class.get(ErrorClass::Timeout), 1);
        assert_eq!(s.failed_histogram().len(), 1);
        assert_eq!(s.ok_histogram().len(), 2);
        assert!(s.ok_histogram().max() < 3000);
        assert_eq!(s.corrected_histogram().len(), 2 + 10);
        assert!(s.corrected_at(1.0) >= ms(99));
        let l = LatencySummary::of(s.corrected_histogram());
        assert!(l.min <= l.p50 && l.p50 <= l.p99 && l.p99 <= l.max);
        assert!(l.stddev > Duration::ZERO);
    }
}
