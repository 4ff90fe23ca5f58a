//! What the command line shows, as text: the progress line, the summary table, the scenario
//! list. Pure functions of the numbers (see `runner::source` for where they come from, and
//! [`crate::report`] for the run's report the summary is made of).

use std::fmt::Write as _;
use std::time::Duration;

use amoc::config::ParamDecl;
use amoc::controller::Status;

use crate::report::{thousands, RunReport};
use crate::scenarios::{ERROR_BACKOFF_MS_TOTAL, ERROR_BACKOFF_PAUSES};
use crate::Stats;

/// One progress line: elapsed, users, requests per second, errors, latency.
pub(crate) fn progress(elapsed: Duration, status: &Status, users: u64, window: &Stats) -> String {
    format!(
        "[{:>4}s] users {:>6}/{:<6} | {:>9.0} req/s | errors {:>6} | p50 {:>7.2} ms | p99 {:>7.2} ms",
        elapsed.as_secs(),
        status.users.running,
        users,
        window.per_second(),
        window.errors,
        window.p50_ms,
        window.p99_ms,
    )
}

/// The summary at the end of a test, from its report (several lines, each ending in a
/// newline): users, requests, latency (service time and corrected), errors by class,
/// throttles (asked, achieved, missed), pauses after errors, the generator's saturation,
/// per-name lines and the broken thresholds.
pub(crate) fn summary(r: &RunReport, telemetry_dropped: u64) -> String {
    let t = &r.totals;
    let error_pct = if t.count > 0 {
        100.0 * t.failed as f64 / t.count as f64
    } else {
        0.0
    };
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "== amoc summary: scenario {}, {:.1} s ==",
        r.scenario, r.elapsed_s
    );
    let u = &r.users;
    let _ = writeln!(
        out,
        "users       started {:>10}  ended {:>8}  crashed {:>6}  killed {:>6}",
        u.started, u.ended, u.crashed, u.killed
    );
    let _ = writeln!(
        out,
        "requests    total {:>12}  rate {:>10.0}/s  errors {:>8} ({error_pct:.2}%)",
        t.count, t.rate_per_s, t.failed
    );
    let s = &t.service;
    let _ = writeln!(
        out,
        "latency ms  p50 {:>8.2}  p90 {:>8.2}  p99 {:>8.2}  max {:>8.2}  mean {:>8.2}",
        s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.mean_ms
    );
    let _ = writeln!(
        out,
        "            min {:>8.2}  p95 {:>8.2}  p99.9 {:>6.2}  stddev {:>5.2}  (service time)",
        s.min_ms, s.p95_ms, s.p99_9_ms, s.stddev_ms
    );
    let c = &t.corrected;
    let _ = writeln!(
        out,
        "corrected   p50 {:>8.2}  p90 {:>8.2}  p99 {:>8.2}  max {:>8.2}  mean {:>8.2}  (ms from due time)",
        c.p50_ms, c.p90_ms, c.p99_ms, c.max_ms, c.mean_ms
    );
    let classes: Vec<String> = t
        .errors
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if !classes.is_empty() {
        let _ = writeln!(out, "errors      {}", classes.join("  "));
    }
    for th in &r.throttles {
        let asked = th
            .asked_per_s
            .map_or_else(|| "unlimited".to_owned(), |a| format!("{a:.0}/s"));
        let _ = writeln!(
            out,
            "throttle    {}  asked {asked}  achieved {:.0}/s  missed {}",
            th.name,
            th.achieved_per_s,
            thousands(th.missed)
        );
        if let Some(hint) = &th.hint {
            let _ = writeln!(out, "            {hint}");
        }
    }
    let pauses = r.counters.get(ERROR_BACKOFF_PAUSES).copied().unwrap_or(0);
    if pauses > 0 {
        let paused = r.counters.get(ERROR_BACKOFF_MS_TOTAL).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "back-off    {} pauses after requests with no response, {} ms in all (error_backoff_ms; 0 disables)",
            thousands(pauses),
            thousands(paused)
        );
    }
    if let Some(w) = &r.generator.warning {
        let _ = writeln!(out, "warning     {w}");
    }
    let _ = writeln!(out, "telemetry   dropped events {telemetry_dropped}");
    out.push_str(&by_name(r));
    for v in r.broken() {
        let _ = writeln!(out, "threshold   {}", v.text);
    }
    out
}

/// One line per request name: count, rate, errors and corrected latency (empty when nothing
/// was named).
fn by_name(r: &RunReport) -> String {
    let mut out = String::new();
    if r.names.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "by name     count        rate/s   errors   p50 ms   p95 ms   p99 ms   max ms  (corrected)"
    );
    for n in &r.names {
        let c = &n.corrected;
        let _ = writeln!(
            out,
            "  {:<20} {:>10} {:>10.0} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            n.name, n.count, n.rate_per_s, n.failed, c.p50_ms, c.p95_ms, c.p99_ms, c.max_ms
        );
    }
    out
}

/// The scenarios and their parameters.
pub(crate) fn list(scenarios: &[(&str, Vec<ParamDecl>)]) -> String {
    let mut out = String::new();
    for (name, params) in scenarios {
        let _ = writeln!(out, "{name}");
        for p in params {
            let default = p.default_value().map_or_else(
                || {
                    if p.required() {
                        "required".to_owned()
                    } else {
                        "unset".to_owned()
                    }
                },
                |v| v.to_string(),
            );
            let _ = writeln!(
                out,
                "  {:<16} {:<12} {}",
                p.name(),
                default,
                p.description()
            );
        }
    }
    let _ = writeln!(
        out,
        "  (every scenario also takes user_rate: users started per minute, default 1200)"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests_support::sample_report;

    #[test]
    fn the_summary_shows_every_statistic_and_error_class() {
        let r = sample_report("demo");
        let text = summary(&r, 0);
        assert!(
            text.contains("== amoc summary: scenario demo, 10.0 s =="),
            "{text}"
        );
        assert!(text.contains("requests    total          102"), "{text}");
        assert!(text.contains("p99.9"), "{text}");
        assert!(text.contains("stddev"), "{text}");
        assert!(text.contains("corrected   p50"), "{text}");
        assert!(text.contains("errors      timeout 1"), "{text}");
        assert!(text.contains("  login "), "{text}");
        assert!(!text.contains("threshold"), "{text}");
    }
}
