//! Pass/fail thresholds: `p99<200ms`, `errors<1%`, `rate>=99%`, `login.p95<100ms`.
//!
//! A threshold is `[NAME.]METRIC OP VALUE`. Latency metrics (`min`, `p50`, `p90`, `p95`,
//! `p99`, `p99.9`, `max`, `mean`, `stddev`) read the corrected latency (from when each request
//! was due: the service time when nothing paced the requests); with a `service_` prefix
//! (`service_p99`) the service time. Their value takes a unit: `us`, `ms` or `s`. `errors` is
//! the share of requests that failed (`%`), `count` the number of requests, and `rate` the
//! achieved share of the asked rate over every throttle (`%`, granted ÷ (granted + missed);
//! not per name). `OP` is `<`, `<=`, `>` or `>=`. Without a name a threshold reads all
//! requests; a name that no request had breaks it.
//!
//! Parsing and evaluating are pure functions: [`Threshold::parse`] and [`Threshold::check`].

use std::fmt;
use std::str::FromStr;

use super::model::{Latency, NameReport, RunReport};

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The request name it applies to (`None`: all requests).
    pub name: Option<String>,
    /// What it measures.
    pub metric: Metric,
    /// The comparison that must hold.
    pub op: Op,
    /// The bound, in the metric's unit: milliseconds for latencies, percent for `errors`
    /// and `rate`, requests for `count`.
    pub value: f64,
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A latency statistic; `corrected` false for service time.
    Latency {
        /// Which statistic.
        stat: Stat,
        /// Corrected latency (true) or service time (false).
        corrected: bool,
    },
    /// Percent of requests that were errors.
    Errors,
    /// Achieved percent of the asked rate.
    Rate,
    /// Requests completed.
    Count,
}

/// A latency statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Smallest.
    Min,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest.
    Max,
    /// Mean.
    Mean,
    /// Standard deviation.
    Stddev,
}

const STATS: [(&str, Stat); 9] = [
    ("p99.9", Stat::P999),
    ("stddev", Stat::Stddev),
    ("mean", Stat::Mean),
    ("min", Stat::Min),
    ("max", Stat::Max),
    ("p50", Stat::P50),
    ("p90", Stat::P90),
    ("p95", Stat::P95),
    ("p99", Stat::P99),
];

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether `actual OP bound` holds.
    pub fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Op::Lt => actual < bound,
            Op::Le => actual <= bound,
            Op::Gt => actual > bound,
            Op::Ge => actual >= bound,
        }
    }
}

/// Why a threshold expression does not parse (the message is the CLI's one-line error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid threshold {expr:?}: {reason}")]
pub struct ThresholdError {
    /// The expression.
    pub expr: String,
    /// What is wrong with it.
    pub reason: String,
}

/// How one threshold fared in a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The threshold as written (normalised).
    pub threshold: String,
    /// Whether it held.
    pub passed: bool,
    /// The measured value, in the metric's unit (`None` when there was nothing to measure).
    pub actual: Option<f64>,
    /// One line: the threshold, and what was measured.
    pub text: String,
}

impl Threshold {
    /// Parses `[NAME.]METRIC OP VALUE` (see [the module](self)).
    pub fn parse(expr: &str) -> Result<Threshold, ThresholdError> {
        let fail = |reason: &str| ThresholdError {
            expr: expr.to_owned(),
            reason: reason.to_owned(),
        };
        let at = expr
            .find(['<', '>'])
            .ok_or_else(|| fail("no comparison: use <, <=, > or >="))?;
        let (lhs, rest) = expr.split_at(at);
        let (op, rhs) = match rest.as_bytes().get(1) {
            Some(b'=') => (
                if rest.starts_with('<') {
                    Op::Le
                } else {
                    Op::Ge
                },
                &rest[2..],
            ),
            _ => (
                if rest.starts_with('<') {
                    Op::Lt
                } else {
                    Op::Gt
                },
                &rest[1..],
            ),
        };
        let (name, metric) = split_metric(lhs.trim()).ok_or_else(|| {
            fail("unknown metric: use p50, p90, p95, p99, p99.9, min, max, mean, stddev (service_ for service time), errors, rate or count, after an optional NAME.")
        })?;
        if matches!(metric, Metric::Rate) && name.is_some() {
            return Err(fail("rate applies to the whole run, not to a request name"));
        }
        let value = parse_value(metric, rhs.trim()).map_err(|r| fail(&r))?;
        Ok(Threshold {
            name,
            metric,
            op,
            value,
        })
    }

    /// Checks the threshold against a run's report.
    pub fn check(&self, report: &RunReport) -> Verdict {
        let actual = self.measure(report);
        let passed = actual.is_some_and(|a| self.op.holds(a, self.value));
        let measured = match actual {
            Some(a) => format!("{}{}", trim_number(a), self.unit()),
            None if self.metric == Metric::Rate => "no rate was asked".to_owned(),
            None => "no such request".to_owned(),
        };
        let text = format!(
            "{} {self} (measured {measured})",
            if passed { "passed" } else { "broken" }
        );
        Verdict {
            threshold: self.to_string(),
            passed,
            actual,
            text,
        }
    }

    fn measure(&self, report: &RunReport) -> Option<f64> {
        if self.metric == Metric::Rate {
            return report.rate_achieved_percent();
        }
        let n: &NameReport = match &self.name {
            None => &report.totals,
            Some(name) => report.names.iter().find(|n| n.name == *name)?,
        };
        Some(match self.metric {
            Metric::Count => n.count as f64,
            Metric::Errors if n.count == 0 => 0.0,
            Metric::Errors => 100.0 * n.failed as f64 / n.count as f64,
            Metric::Latency { stat, corrected } => {
                let l = if corrected { &n.corrected } else { &n.service };
                stat_of(l, stat)
            }
            Metric::Rate => return None,
        })
    }

    fn unit(&self) -> &'static str {
        match self.metric {
            Metric::Latency { .. } => "ms",
            Metric::Errors | Metric::Rate => "%",
            Metric::Count => "",
        }
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Threshold::parse(s)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{name}.")?;
        }
        match self.metric {
            Metric::Latency { stat, corrected } => {
                let s = STATS.iter().find(|(_, st)| *st == stat).map_or("", |p| p.0);
                write!(f, "{}{s}", if corrected { "" } else { "service_" })?;
            }
            Metric::Errors => f.write_str("errors")?,
            Metric::Rate => f.write_str("rate")?,
            Metric::Count => f.write_str("count")?,
        }
        write!(
            f,
            "{}{}{}",
            self.op.text(),
            trim_number(self.value),
            self.unit()
        )
    }
}

fn stat_of(l: &Latency, stat: Stat) -> f64 {
    match stat {
        Stat::Min => l.min_ms,
        Stat::P50 => l.p50_ms,
        Stat::P90 => l.p90_ms,
        Stat::P95 => l.p95_ms,
        Stat::P99 => l.p99_ms,
        Stat::P999 => l.p99_9_ms,
        Stat::Max => l.max_ms,
        Stat::Mean => l.mean_ms,
        Stat::Stddev => l.stddev_ms,
    }
}

/// `NAME.METRIC` or `METRIC`: the metric is the longest known suffix after a dot.
fn split_metric(lhs: &str) -> Option<(Option<String>, Metric)> {
    if let Some(m) = metric(lhs) {
        return Some((None, m));
    }
    let mut best = None;
    for (i, _) in lhs.match_indices('.') {
        let (name, m) = (&lhs[..i], &lhs[i + 1..]);
        if let (false, Some(m)) = (name.is_empty(), metric(m)) {
            best = Some((Some(name.to_owned()), m));
            break;
        }
    }
    best
}

fn metric(word: &str) -> Option<Metric> {
    match word {
        "errors" => return Some(Metric::Errors),
        "rate" => return Some(Metric::Rate),
        "count" => return Some(Metric::Count),
        _ => {}
    }
    let (word, corrected) = match word.strip_prefix("service_") {
        Some(w) => (w, false),
        None => (word, true),
    };
    let stat = STATS.iter().find(|(w, _)| *w == word)?.1;
    Some(Metric::Latency { stat, corrected })
}

fn parse_value(metric: Metric, text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a number with a unit"))?;
    if !n.is_finite() {
        return Err(format!("{text:?} is not a finite number"));
    }
    let scale = match (metric, unit.trim()) {
        (Metric::Latency { .. }, "ms") => 1.0,
        (Metric::Latency { .. }, "s") => 1000.0,
        (Metric::Latency { .. }, "us" | "µs") => 0.001,
        (Metric::Latency { .. }, _) => return Err("give the latency a unit: us, ms or s".into()),
        (Metric::Errors | Metric::Rate, "%") => 1.0,
        (Metric::Errors | Metric::Rate, _) => return Err("give a percentage, e.g. 1%".into()),
        (Metric::Count, "") => 1.0,
        (Metric::Count, _) => return Err("count takes a plain number".into()),
    };
    Ok(n * scale)
}

/// `12.5`, `200`, `0.001`: no trailing zeros.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

#[cfg(test)]
#[path = "threshold_tests.rs"]
mod tests;
