//! The master's view of a cluster run's numbers: a progress line every second, the summary
//! when the run has ended on every node, and the run's report (for `GET /report`, `serve
//! --report` and `run --cluster --report`).
//!
//! The numbers are the workers' own: each second the master asks every up worker for its
//! run statistics ([`Master::stats`], lossless histograms) and merges them; a worker that went
//! down counts with the last statistics it sent. Nothing travels on the request path.
//! [`ClusterRun`] is shared by `amoc serve --cluster` ([`follow`]) and `amoc run --cluster`
//! (`runner::cluster_drive`), so both show the same lines and make the same report.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use amoc::cluster::stats::{merge, NodeStats};
use amoc::cluster::ClusterStatus;
use amoc::controller::{Status, StatusKind};
use amoc::metrics::Snapshot;
use amoc::throttle::Rate;
use tokio::time::Instant;

use super::master::MasterHandles;
use crate::cli::report::{progress, summary};
use crate::cli::ReportFiles;
use crate::report::{self as run_report, Collector, LastReport, ReportInput, Threshold};
use crate::Stats;

/// How often `GET /report` is refreshed while a run goes, in seconds.
const REPORT_EVERY: u64 = 5;
/// How long the summary waits for a stopped run's users to end on every node.
const END_GRACE: Duration = Duration::from_secs(60);

/// One cluster run followed by the master: its per-second series and last merged numbers.
#[derive(Debug)]
pub(crate) struct ClusterRun {
    scenario: String,
    started: Instant,
    started_wall: SystemTime,
    stopped: Option<Instant>,
    collector: Collector,
    last: Snapshot,
    seconds: u64,
}

impl ClusterRun {
    /// A run of `scenario` starting now.
    pub(crate) fn new(scenario: String) -> Self {
        Self {
            scenario,
            started: Instant::now(),
            started_wall: SystemTime::now(),
            stopped: None,
            collector: Collector::new(),
            last: Snapshot::from_parts(Vec::new(), Vec::new()),
            seconds: 0,
        }
    }

    /// Marks the run stopped now (its report's elapsed time ends here; a second call keeps
    /// the first time); how long it ran.
    pub(crate) fn stop(&mut self) -> Duration {
        *self.stopped.get_or_insert_with(Instant::now) - self.started
    }

    /// How long ago the run was stopped, if it was.
    fn stopped_since(&self) -> Option<Duration> {
        self.stopped.map(|t| t.elapsed())
    }

    /// Everything the workers recorded, as last merged.
    pub(crate) fn requests(&self) -> &Snapshot {
        &self.last
    }

    /// Reads the cluster throttles into the report: the cluster's rate, and granted and
    /// missed summed over the workers' last reports (a worker that went down counts with its
    /// last one); a throttle no worker reports now is left as last read.
    fn throttles(&mut self, h: &MasterHandles, s: &ClusterStatus) {
        let nodes = s
            .nodes
            .iter()
            .map(|(n, i)| (n.as_str(), i.instance.as_str()));
        for (name, entry) in h.throttles.shares() {
            let Some((granted, missed)) = h.usage.sums(&name, nodes.clone()) else {
                continue;
            };
            let interval = Duration::from_millis(entry.interval_ms);
            let rate = Rate::Finite(entry.rate);
            self.collector
                .throttle_reading(&name, rate, interval, granted, missed);
        }
    }

    /// One second of the run: merges the workers' statistics, records the second, and
    /// returns the progress line (`users` is the progress line's denominator).
    pub(crate) async fn second(
        &mut self,
        h: &MasterHandles,
        s: &ClusterStatus,
        users: u64,
    ) -> String {
        self.throttles(h, s);
        let now = merged(&h.master.stats().await);
        let span = now.at().saturating_duration_since(self.last.at());
        let delta = now.since(&self.last);
        let elapsed = self.started.elapsed();
        self.collector
            .second(elapsed, span, s.users.running, &delta);
        self.seconds += 1;
        let window = Stats::from_request_stats(delta.total(), span);
        self.last = now;
        progress(elapsed, &status_of(s), users, &window)
    }

    /// The report, from numbers fresh from the workers.
    pub(crate) async fn report(
        &mut self,
        h: &MasterHandles,
        s: &ClusterStatus,
        interrupted: Option<String>,
        thresholds: &[Threshold],
    ) -> run_report::RunReport {
        self.throttles(h, s);
        self.last = merged(&h.master.stats().await);
        let elapsed = self.stopped.unwrap_or_else(Instant::now) - self.started;
        run_report::build(&ReportInput {
            scenario: &self.scenario,
            planned_users: s.highest_user_id,
            started: self.started_wall,
            elapsed,
            interrupted,
            status: &status_of(s),
            settings: &s.settings,
            requests: &self.last,
            collector: &self.collector,
            thresholds,
        })
    }
}

/// Follows the master's runs until the arbiter stops: progress, summaries, reports (offered
/// on `GET /report`, and written to `files` at each run's end).
pub(crate) fn follow(h: MasterHandles, reports: LastReport, files: ReportFiles) {
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut run: Option<ClusterRun> = None;
        let mut files = files;
        loop {
            tick.tick().await;
            let status = h.master.status();
            run = step(&h, run, &status, &reports, &mut files).await;
        }
    });
}

async fn step(
    master: &MasterHandles,
    run: Option<ClusterRun>,
    s: &ClusterStatus,
    reports: &LastReport,
    files: &mut ReportFiles,
) -> Option<ClusterRun> {
    let Some(mut run) = run else {
        return s
            .running
            .then(|| ClusterRun::new(s.scenario.clone().unwrap_or_default()));
    };
    if s.running {
        let wanted = s.users.waiting + s.users.running;
        let line = run.second(master, s, wanted).await;
        if run.seconds % REPORT_EVERY == 0 {
            let r = run.report(master, s, None, &[]).await;
            reports.set(r);
        }
        println!("{line}");
        return Some(run);
    }
    run.stop();
    if s.users.live() > 0 && run.stopped_since().is_some_and(|t| t < END_GRACE) {
        return Some(run);
    }
    let report = run.report(master, s, None, &[]).await;
    // Offered before it is printed: who reads the summary finds the report.
    reports.set(report.clone());
    print!("{}", summary(&report, 0));
    files.write(&report);
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
pub(crate) fn status_of(s: &ClusterStatus) -> Status {
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
