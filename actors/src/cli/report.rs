//! What the command line shows, as text: the progress line, the summary table, the scenario
//! list. Pure functions of the numbers (see `runner::source` for where they come from).

use std::fmt::Write as _;
use std::time::Duration;

use amoc::config::ParamDecl;
use amoc::controller::Status;
use amoc::metrics::Snapshot;

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

/// The summary table at the end of a test (several lines, each ending in a newline).
pub(crate) fn summary(
    scenario: &str,
    elapsed: Duration,
    status: &Status,
    totals: &Stats,
) -> String {
    let u = &status.users;
    let error_pct = if totals.requests > 0 {
        100.0 * totals.errors as f64 / totals.requests as f64
    } else {
        0.0
    };
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "== amoc summary: scenario {scenario}, {:.1} s ==",
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "users       started {:>10}  ended {:>8}  crashed {:>6}  killed {:>6}",
        u.ended + u.crashed + u.killed + u.running,
        u.ended,
        u.crashed,
        u.killed
    );
    let _ = writeln!(
        out,
        "requests    total {:>12}  rate {:>10.0}/s  errors {:>8} ({error_pct:.2}%)",
        totals.requests,
        totals.per_second(),
        totals.errors
    );
    let _ = writeln!(
        out,
        "latency ms  p50 {:>8.2}  p90 {:>8.2}  p99 {:>8.2}  max {:>8.2}  mean {:>8.2}",
        totals.p50_ms, totals.p90_ms, totals.p99_ms, totals.max_ms, totals.mean_ms
    );
    let _ = writeln!(
        out,
        "telemetry   dropped events {}",
        status.telemetry_dropped
    );
    out
}

/// One line per request name: count, rate, errors and latency (empty when nothing was named).
pub(crate) fn by_name(requests: &Snapshot, elapsed: Duration) -> String {
    let mut out = String::new();
    let mut names = requests.by_name().peekable();
    if names.peek().is_none() {
        return out;
    }
    let _ = writeln!(
        out,
        "by name     count        rate/s   errors   p50 ms   p99 ms   max ms"
    );
    for (name, s) in names {
        let s = Stats::from_request_stats(s, elapsed);
        let _ = writeln!(
            out,
            "  {name:<20} {:>10} {:>10.0} {:>8} {:>8.2} {:>8.2} {:>8.2}",
            s.requests,
            s.per_second(),
            s.errors,
            s.p50_ms,
            s.p99_ms,
            s.max_ms
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
