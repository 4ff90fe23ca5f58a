//! The report's data: what `--report FILE.json` holds (documented by
//! `docs/report.schema.json`) and what the HTML page shows.

use std::collections::BTreeMap;

use amoc::metrics::{ErrorClass, LatencySummary, RequestStats};
use serde::{Deserialize, Serialize};

use super::histogram;

/// The `schema` field of every report of this layout.
pub const SCHEMA: &str = "amoc-report/1";

/// A run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The amoc-actors version that wrote it.
    pub version: String,
    /// The scenario.
    pub scenario: String,
    /// When the first user was added (UTC, `2026-12-01T20:31:05Z`).
    pub started_at: String,
    /// From the first user added to the stop, in seconds.
    pub elapsed_s: f64,
    /// The signal that stopped the run early, if one did (`interrupted (Ctrl-C)`).
    pub interrupted: Option<String>,
    /// The run's settings (as the controller holds them).
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Users by how they ended.
    pub users: UsersReport,
    /// Every request, whatever its name.
    pub totals: NameReport,
    /// Per request name, sorted by name.
    pub names: Vec<NameReport>,
    /// Every throttle the run used: asked and achieved rates, missed allowance.
    pub throttles: Vec<ThrottleReport>,
    /// The run's counters (pauses after errors, ...).
    pub counters: BTreeMap<String, u64>,
    /// One point per second of the run.
    pub series: Vec<SecondReport>,
    /// The load generator's own CPU use.
    pub generator: GeneratorReport,
    /// The thresholds given, and how each fared.
    pub thresholds: Vec<super::Verdict>,
}

/// Users of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsersReport {
    /// Users asked for.
    pub planned: u64,
    /// Users started.
    pub started: u64,
    /// Users that ended normally.
    pub ended: u64,
    /// Users that crashed.
    pub crashed: u64,
    /// Users killed.
    pub killed: u64,
}

/// The figures of one latency histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p99_9_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Standard deviation.
    pub stddev_ms: f64,
}

impl From<LatencySummary> for Latency {
    fn from(l: LatencySummary) -> Self {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        Latency {
            count: l.count,
            min_ms: ms(l.min),
            p50_ms: ms(l.p50),
            p90_ms: ms(l.p90),
            p95_ms: ms(l.p95),
            p99_ms: ms(l.p99),
            p99_9_ms: ms(l.p99_9),
            max_ms: ms(l.max),
            mean_ms: ms(l.mean),
            stddev_ms: ms(l.stddev),
        }
    }
}

/// The statistics of one request name (or of all requests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameReport {
    /// The request name (`*` for all requests).
    pub name: String,
    /// Requests completed.
    pub count: u64,
    /// Requests that were not errors.
    pub ok: u64,
    /// Errors: no response, or a status ≥ 400.
    pub failed: u64,
    /// Requests per second over the run.
    pub rate_per_s: f64,
    /// Errors by class (every class, zeros included).
    pub errors: BTreeMap<String, u64>,
    /// Service time (from the actual start) of every request.
    pub service: Latency,
    /// Service time of the successes.
    pub service_ok: Latency,
    /// Service time of the errors.
    pub service_failed: Latency,
    /// Corrected latency (from when each request was due).
    pub corrected: Latency,
    /// The histograms, HdrHistogram V2 compressed, base64 (values in microseconds).
    pub histograms: Histograms,
}

/// HdrHistogram V2 compressed (`V2DeflateSerializer`) histograms in base64; values in µs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// Service times of the successes.
    pub service_ok: String,
    /// Service times of the errors.
    pub service_failed: String,
    /// Corrected latencies.
    pub corrected: String,
}

impl NameReport {
    /// The report of `stats` under `name`, with rates over `elapsed_s`.
    pub fn of(name: &str, stats: &RequestStats, elapsed_s: f64) -> Self {
        let ok_h = stats.ok_histogram();
        let errors = ErrorClass::ALL
            .iter()
            .map(|c| (c.name().to_owned(), stats.errors_by_class.get(*c)))
            .collect();
        NameReport {
            name: name.to_owned(),
            count: stats.count,
            ok: stats.successes(),
            failed: stats.errors(),
            rate_per_s: per_second(stats.count, elapsed_s),
            errors,
            service: LatencySummary::of(stats.latency_histogram()).into(),
            service_ok: LatencySummary::of(&ok_h).into(),
            service_failed: LatencySummary::of(stats.failed_histogram()).into(),
            corrected: LatencySummary::of(stats.corrected_histogram()).into(),
            histograms: Histograms {
                service_ok: histogram::encode(&ok_h),
                service_failed: histogram::encode(stats.failed_histogram()),
                corrected: histogram::encode(stats.corrected_histogram()),
            },
        }
    }
}

/// A throttle's asked and achieved rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrottleReport {
    /// The throttle's name.
    pub name: String,
    /// The asked rate per second at the end (`None`: unlimited or concurrency mode).
    pub asked_per_s: Option<f64>,
    /// Permits granted per second over the run.
    pub achieved_per_s: f64,
    /// Permits granted.
    pub granted: u64,
    /// Allowance missed: permits that accrued while no request waited.
    pub missed: u64,
    /// One line on what the missed allowance means, when there was any.
    pub hint: Option<String>,
}

/// One second of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondReport {
    /// Seconds since the start, at the end of this second.
    pub t_s: f64,
    /// Users running.
    pub users: u64,
    /// Successful requests per second.
    pub ok_per_s: f64,
    /// Errors per second.
    pub failed_per_s: f64,
    /// Service time, median.
    pub service_p50_ms: f64,
    /// Service time, 95th percentile.
    pub service_p95_ms: f64,
    /// Service time, 99th percentile.
    pub service_p99_ms: f64,
    /// Corrected latency, median.
    pub corrected_p50_ms: f64,
    /// Corrected latency, 95th percentile.
    pub corrected_p95_ms: f64,
    /// Corrected latency, 99th percentile.
    pub corrected_p99_ms: f64,
    /// The generator's CPU use this second, percent of one core.
    pub cpu_percent: f64,
}

/// The load generator's CPU use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorReport {
    /// Cores available to the process.
    pub cores: u64,
    /// Highest CPU use in one second, percent of one core.
    pub peak_cpu_percent: f64,
    /// Seconds in which it used at least 90 % of its cores.
    pub saturated_seconds: u64,
    /// The warning shown when the generator was saturated.
    pub warning: Option<String>,
}

impl RunReport {
    /// Achieved percent of the asked rate over every rate-limited throttle:
    /// granted ÷ (granted + missed); `None` when no throttle had a finite rate.
    pub fn rate_achieved_percent(&self) -> Option<f64> {
        let asked: Vec<_> = self
            .throttles
            .iter()
            .filter(|t| t.asked_per_s.is_some())
            .collect();
        let granted: u64 = asked.iter().map(|t| t.granted).sum();
        let missed: u64 = asked.iter().map(|t| t.missed).sum();
        (!asked.is_empty() && granted + missed > 0)
            .then(|| 100.0 * granted as f64 / (granted + missed) as f64)
    }

    /// The thresholds that broke.
    pub fn broken(&self) -> impl Iterator<Item = &super::Verdict> {
        self.thresholds.iter().filter(|v| !v.passed)
    }
}

pub(crate) fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}
