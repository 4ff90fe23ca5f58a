//! The master's view of a cluster run's numbers: a progress line every second, the summary
//! when the run has ended on every node, and the run's report for `GET /report` (refreshed
//! every few seconds while it goes, made whole at its end).
//!
//! The numbers are the workers' own: each second the master asks every up worker for its
//! run statistics ([`Master::stats`], lossless histograms) and merges them; a worker that went
//! down counts with the last statistics it sent. Nothing travels on the request path.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use amoc::cluster::stats::{merge, NodeStats};
use amoc::cluster::{ClusterStatus, Master};
use amoc::controller::{Status, StatusKind};
use amoc::metrics::Snapshot;
use tokio::time::Instant;

use crate::cli::report::{progress, summary};
use crate::report::{self as run_report, Collector, LastReport, ReportInput};
use crate::Stats;

/// How often `GET /report` is refreshed while a run goes, in seconds.
const REPORT_EVERY: u64 = 5;
/// How long the summary waits for a stopped run's users to end on every node.
const END_GRACE: Duration = Duration::from_secs(60);

/// One cluster run followed by the master.
struct Followed {
    scenario: String,
    started: Instant,
    started_wall: SystemTime,
    stopped: Option<Instant>,
    collector: Collector,
    last: Snapshot,
    seconds: u64,
}

/// Follows the master's runs until the arbiter stops: progress, summaries, reports.
pub(crate) fn follow(master: Master, reports: LastReport) {
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut run: Option<Followed> = None;
        loop {
            tick.tick().await;
            let status = master.status();
            run = step(&master, run, &status, &reports).await;
        }
    });
}

async fn step(
    master: &Master,
    run: Option<Followed>,
    s: &ClusterStatus,
    reports: &LastReport,
) -> Option<Followed> {
    let Some(mut run) = run else {
        return s.running.then(|| Followed {
            scenario: s.scenario.clone().unwrap_or_default(),
            started: Instant::now(),
            started_wall: SystemTime::now(),
            stopped: None,
            collector: Collector::new(),
            last: Snapshot::from_parts(Vec::new(), Vec::new()),
            seconds: 0,
        });
    };
    let now = merged(&master.stats().await);
    if s.running {
        let span = now.at().saturating_duration_since(run.last.at());
        let delta = now.since(&run.last);
        let elapsed = run.started.elapsed();
        run.collector.second(elapsed, span, s.users.running, &delta);
        run.seconds += 1;
        if run.seconds % REPORT_EVERY == 0 {
            reports.set(report(&run, s, &now));
        }
        let window = Stats::from_request_stats(delta.total(), span);
        let wanted = s.users.waiting + s.users.running;
        println!("{}", progress(elapsed, &status_of(s), wanted, &window));
        run.last = now;
        return Some(run);
    }
    let stopped = *run.stopped.get_or_insert_with(Instant::now);
    if s.users.live() > 0 && stopped.elapsed() < END_GRACE {
        return Some(run);
    }
    let report = report(&run, s, &now);
    // Offered before it is printed: who reads the summary finds the report.
    reports.set(report.clone());
    print!("{}", summary(&report, 0));
    None
}

/// The nodes' statistics merged; a node whose statistics do not decode is said so.
fn merged(stats: &BTreeMap<String, NodeStats>) -> Snapshot {
    let (all, errors) = merge(stats.iter().map(|(n, s)| (n.as_str(), s)));
    for (node, e) in errors {
        tracing::warn!(node, "cluster: the statistics of {node} do not decode: {e}");
    }
    all
}

/// The cluster's status in the shape of a controller's.
fn status_of(s: &ClusterStatus) -> Status {
    Status {
        kind: if s.running {
            StatusKind::Running
        } else {
            StatusKind::Finished
        },
        scenario: s.scenario.clone(),
        highest_user_id: s.highest_user_id,
        users: s.users,
        started_at: None,
        error: None,
        settings: s.settings.clone(),
        telemetry_dropped: 0,
    }
}

fn report(run: &Followed, s: &ClusterStatus, requests: &Snapshot) -> run_report::RunReport {
    let elapsed = run.stopped.unwrap_or_else(Instant::now) - run.started;
    run_report::build(&ReportInput {
        scenario: &run.scenario,
        planned_users: s.highest_user_id,
        started: run.started_wall,
        elapsed,
        interrupted: None,
        status: &status_of(s),
        settings: &s.settings,
        requests,
        collector: &run.collector,
        thresholds: &[],
    })
}
