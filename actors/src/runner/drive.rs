//! One test, start to summary: start the scenario, add the users, show progress until the
//! duration passes, every user has ended or a signal comes, stop, print the summary.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use actix::{Actor, Addr};
use amoc::app::App;
use amoc::controller::{Status, StatusKind};
use amoc::telemetry::{AttachOptions, EventPattern};
use amoc::Value;
use tokio::time::Instant;

use super::progress::View;
use super::signal::{stop_signal, StopSignal};
use super::source::RunSource;
use super::{Outcome, RunError};
use crate::cli::report;
use crate::report::{self as run_report, Collector, ReportError, ReportInput, Threshold};
use crate::{EventsError, Flush, JsonLinesWriter};

const EVENTS_HANDLER: &str = "amoc-cli-events";
/// How often the end conditions are checked; progress is shown every second.
pub(super) const CHECK_PERIOD: Duration = Duration::from_millis(100);
pub(super) const PROGRESS_PERIOD: Duration = Duration::from_secs(1);
/// How long the users get to end after the stop, and telemetry to deliver what is queued.
pub(super) const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) scenario: String,
    pub(crate) users: u64,
    pub(crate) duration: Duration,
    /// Explicit settings, `user_rate` included.
    pub(crate) settings: Vec<(String, Value)>,
    pub(crate) events: Option<PathBuf>,
    /// Where to write the report (each `.json` or `.html`).
    pub(crate) reports: Vec<PathBuf>,
    /// Thresholds checked at the end.
    pub(crate) thresholds: Vec<Threshold>,
}

/// Where a cluster run goes: this process becomes the master of the cluster on `url`.
#[derive(Debug, Clone)]
pub(crate) struct ClusterPlan {
    /// The NATS server(s).
    pub(crate) url: String,
    /// How many workers to wait for (besides those `AMOC_NODES` names).
    pub(crate) workers: usize,
    /// How long to wait for them.
    pub(crate) join_timeout: Duration,
}

/// Runs `plan` on `app` (which keeps running: the caller shuts it down).
/// Waits for the run loop's next check, or a stop signal: then says so, arms a second
/// signal to exit at once, and returns it (one-node and cluster runs alike).
pub(crate) async fn next_check(
    check: &mut tokio::time::Interval,
    signal: &mut std::pin::Pin<&mut impl std::future::Future<Output = StopSignal>>,
    view: &View,
) -> Option<StopSignal> {
    tokio::select! {
        _ = check.tick() => None,
        s = signal.as_mut() => {
            view.note(&format!("{s}: stopping the test (again to exit at once)"));
            actix_rt::spawn(async {
                std::process::exit(i32::from(stop_signal().await.exit_code()));
            });
            Some(s)
        }
    }
}

pub(crate) async fn drive(app: &App, plan: &Plan, view: &View) -> Result<Outcome, RunError> {
    let events = match &plan.events {
        Some(path) => Some(attach_events(app, path).await?),
        None => None,
    };
    let controller = app.controller();
    controller
        .start_scenario(&plan.scenario, plan.settings.clone())
        .await?;
    // Made with the run (by its `RunContext`): this run's numbers only, lossless.
    let mut stats = RunSource::current(app).ok_or(RunError::NoStatistics)?;
    if user_rate_is_zero(&controller.status().settings) {
        view.warn("warning: user_rate is 0: no user starts until it is raised");
    }
    view.note(&format!(
        "running scenario {} with {} users for {:?} (Ctrl-C stops early)",
        plan.scenario, plan.users, plan.duration
    ));
    controller.add_users(plan.users).await?;

    let started = Instant::now();
    let started_wall = SystemTime::now();
    let mut collector = Collector::new();
    let deadline = started + plan.duration;
    let mut next_progress = started + PROGRESS_PERIOD;
    let mut check = tokio::time::interval_at(started + CHECK_PERIOD, CHECK_PERIOD);
    let signal = stop_signal();
    tokio::pin!(signal);
    let mut stopped_by = None;
    let mut events_error = None;
    loop {
        if let Some(s) = next_check(&mut check, &mut signal, view).await {
            stopped_by = Some(s);
            break;
        }
        let now = Instant::now();
        let status = controller.status();
        if now >= next_progress {
            next_progress += PROGRESS_PERIOD;
            let (window, delta, span) = stats.window();
            collector.second(started.elapsed(), span, status.users.running, &delta);
            read_throttles(app, &mut collector).await;
            view.status(&report::progress(
                started.elapsed(),
                &status,
                plan.users,
                &window,
            ));
            if let Some(writer) = &events {
                if let Ok(Err(e)) = writer.send(Flush { stop: false }).await {
                    events_error = Some(e);
                    view.note("the events file cannot be written: stopping the test");
                    break;
                }
            }
        }
        if now >= deadline {
            break;
        }
        if all_ended(&status, plan.users) {
            view.note(&format!("all {} users have ended", plan.users));
            break;
        }
    }
    let elapsed = started.elapsed();
    read_throttles(app, &mut collector).await;
    let settings = controller.status().settings;
    let (_, delta, span) = stats.window();
    if span >= CHECK_PERIOD {
        let users = controller.status().users.running;
        collector.second(elapsed, span, users, &delta);
    }
    controller.stop_scenario().await?;
    let finished = tokio::time::timeout(STOP_TIMEOUT, controller.wait_finished()).await;
    if !matches!(finished, Ok(StatusKind::Finished)) {
        view.warn("warning: the run did not finish within 30 s of stopping");
    }
    app.telemetry().flush(FLUSH_TIMEOUT).await;
    let (requests, totals) = stats.totals(elapsed);
    let status = controller.status();
    let run = run_report::build(&ReportInput {
        scenario: &plan.scenario,
        planned_users: plan.users,
        started: started_wall,
        elapsed,
        interrupted: stopped_by.map(|s| s.to_string()),
        status: &status,
        settings: &settings,
        requests: &requests,
        collector: &collector,
        thresholds: &plan.thresholds,
    });
    let (report_error, events_error) = conclude(
        view,
        plan,
        &run,
        status.telemetry_dropped,
        events,
        events_error,
    )
    .await;
    Ok(Outcome {
        stats: totals,
        requests,
        status,
        elapsed,
        stopped_by,
        events_error,
        report: run,
        report_error,
    })
}

/// The end every run shares (one node or a cluster): the summary, the report files, the
/// events file closed. The first report error, and the events error (the earlier one kept).
pub(super) async fn conclude(
    view: &View,
    plan: &Plan,
    run: &run_report::RunReport,
    telemetry_dropped: u64,
    events: Option<Addr<JsonLinesWriter>>,
    mut events_error: Option<EventsError>,
) -> (Option<ReportError>, Option<EventsError>) {
    view.finish(&report::summary(run, telemetry_dropped));
    let mut report_error = None;
    for path in &plan.reports {
        match run_report::write(path, run) {
            Ok(()) => view.note(&format!("report written to {}", path.display())),
            Err(e) => report_error = Some(e),
        }
    }
    if let Some(writer) = events {
        let last = writer.send(Flush { stop: true }).await;
        if let (None, Ok(Err(e))) = (&events_error, last) {
            events_error = Some(e);
        }
    }
    (report_error, events_error)
}

/// Detaches what [`drive`] attached (so that their end at shutdown is no failure).
pub(crate) async fn detach(app: &App) {
    let _ = app.telemetry().detach(EVENTS_HANDLER).await;
}

pub(super) async fn attach_events(
    app: &App,
    path: &Path,
) -> Result<Addr<JsonLinesWriter>, RunError> {
    let writer = JsonLinesWriter::create(path)
        .map_err(|source| RunError::EventsFile {
            path: path.to_owned(),
            source,
        })?
        .without_failure_log()
        .start();
    let patterns = [
        EventPattern::prefix(&["amoc"]),
        EventPattern::prefix(&["amoc_actors"]),
    ];
    app.telemetry()
        .attach_many(
            EVENTS_HANDLER,
            patterns,
            writer.clone().recipient(),
            AttachOptions::default(),
        )
        .await?;
    Ok(writer)
}

/// Reads every throttle's figures (asked rate, granted, missed) into `collector`.
async fn read_throttles(app: &App, collector: &mut Collector) {
    for name in app.throttles().names() {
        if let Ok(info) = app.throttles().info(&name).await {
            collector.throttle(&name, info);
        }
    }
}

/// Every user added has ended (normally, crashed, killed or cancelled).
pub(super) fn all_ended(status: &Status, users: u64) -> bool {
    let u = &status.users;
    u.waiting + u.running + u.stopping == 0 && u.ended + u.crashed + u.killed + u.cancelled >= users
}

pub(super) fn user_rate_is_zero(settings: &[(String, Value)]) -> bool {
    settings
        .iter()
        .any(|(k, v)| k == "user_rate" && v.as_u64() == Some(0))
}
