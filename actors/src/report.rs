//! Run reports: what a run measured, as a [`RunReport`], written as JSON (`--report
//! FILE.json`, documented by `docs/report.schema.json`) or as one self-contained HTML page
//! (`--report FILE.html`), and checked against [`Threshold`]s.
//!
//! # Guarantees
//! * A report is made from the run's lossless statistics ([`amoc::metrics`]): its counts are
//!   those of the summary, whatever the load.
//! * Each histogram is in HdrHistogram's V2 compressed base64 form ([`histogram::decode`]
//!   reads it): reports of several runs or nodes merge without loss of precision.
//! * The HTML page loads nothing: its script, style and data are inline.
//! * The runner writes the report also when the run was interrupted (Ctrl-C, SIGTERM); a
//!   report that cannot be written is a one-line error and exit code 1.

mod cpu;
pub mod histogram;
mod html;
mod model;
mod series;
#[cfg(test)]
pub(crate) mod tests_support;
mod threshold;
mod timestamp;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use amoc::controller::Status;
use amoc::metrics::Snapshot;

pub use model::{
    GeneratorReport, Histograms, Latency, NameReport, RunReport, SecondReport, ThrottleReport,
    UsersReport, SCHEMA,
};
pub use series::Collector;
pub use threshold::{Metric, Op, Stat, Threshold, ThresholdError, Verdict};

#[cfg(feature = "cli")]
pub(crate) use series::thousands;
pub(crate) use timestamp::utc_timestamp;

/// Everything a report is made of.
#[derive(Debug)]
pub struct ReportInput<'a> {
    /// The scenario.
    pub scenario: &'a str,
    /// Users asked for.
    pub planned_users: u64,
    /// When the first user was added.
    pub started: SystemTime,
    /// From the first user added to the stop.
    pub elapsed: Duration,
    /// What stopped the run early, if anything (`interrupted (Ctrl-C)`).
    pub interrupted: Option<String>,
    /// The controller's status at the end.
    pub status: &'a Status,
    /// The run's settings (read while it ran: a finished run's status has none).
    pub settings: &'a [(String, amoc::Value)],
    /// Everything the run recorded.
    pub requests: &'a Snapshot,
    /// The per-second series and throttles.
    pub collector: &'a Collector,
    /// Thresholds to check.
    pub thresholds: &'a [Threshold],
}

/// Makes the report of a run, thresholds checked.
pub fn build(input: &ReportInput<'_>) -> RunReport {
    let secs = input.elapsed.as_secs_f64();
    let u = &input.status.users;
    let settings = input
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let cpu: Vec<f64> = input
        .collector
        .points()
        .iter()
        .map(|p| p.cpu_percent)
        .collect();
    let mut report = RunReport {
        schema: SCHEMA.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: input.scenario.to_owned(),
        started_at: utc_timestamp(input.started),
        elapsed_s: secs,
        interrupted: input.interrupted.clone(),
        settings,
        users: UsersReport {
            planned: input.planned_users,
            started: u.ended + u.crashed + u.killed + u.running + u.stopping,
            ended: u.ended,
            crashed: u.crashed,
            killed: u.killed,
        },
        totals: NameReport::of("*", input.requests.total(), secs),
        names: input
            .requests
            .by_name()
            .map(|(n, s)| NameReport::of(n, s, secs))
            .collect(),
        throttles: input
            .collector
            .throttle_reports(input.elapsed, input.planned_users),
        counters: input
            .requests
            .counters()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        series: input.collector.points().to_vec(),
        generator: cpu::verdict(cpu::cores(), &cpu),
        thresholds: Vec::new(),
    };
    report.thresholds = input.thresholds.iter().map(|t| t.check(&report)).collect();
    report
}

/// The format of a report file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `.json`
    Json,
    /// `.html` or `.htm`
    Html,
}

impl ReportFormat {
    /// The format a path's extension names, if it names one.
    pub fn of(path: &Path) -> Option<ReportFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(ReportFormat::Json),
            "html" | "htm" => Some(ReportFormat::Html),
            _ => None,
        }
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file's extension is neither `.json` nor `.html`.
    #[error("report file {0} must end in .json or .html")]
    Format(PathBuf),
    /// Writing failed.
    #[error("cannot write the report {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The report as pretty JSON.
pub fn to_json(report: &RunReport) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_default()
}

/// The report as one self-contained HTML page.
pub fn to_html(report: &RunReport) -> String {
    html::render(report)
}

/// Writes `report` to `path`, as JSON or HTML by its extension.
pub fn write(path: &Path, report: &RunReport) -> Result<(), ReportError> {
    let text = match ReportFormat::of(path) {
        Some(ReportFormat::Json) => to_json(report),
        Some(ReportFormat::Html) => to_html(report),
        None => return Err(ReportError::Format(path.to_owned())),
    };
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The report of the last run, shared between who makes it (`amoc serve`) and who offers it
/// (the control API's `GET /report`). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LastReport(Arc<Mutex<Option<RunReport>>>);

impl LastReport {
    /// No report yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the report.
    pub fn set(&self, report: RunReport) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(report);
    }

    /// The report, if a run made one.
    pub fn get(&self) -> Option<RunReport> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
