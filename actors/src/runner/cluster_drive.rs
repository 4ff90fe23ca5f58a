//! One test on a cluster (`amoc run --cluster URL`): this process becomes the master (its own
//! controller `Disabled`: it runs no users), waits for the workers, starts the scenario on
//! them with the run's settings, adds the users (ids in blocks per worker), and shows the
//! same progress and summary as a one-node run, made of the workers' merged statistics. It
//! ends on the duration, when every user has ended, or on Ctrl-C / SIGTERM; then it stops the
//! run on the workers, waits for their users to end, writes the report and gives up being
//! master. The workers stay up for the next master.
//!
//! Refusals, each one line with its exit code (see [`crate::cli`]): another live master (3),
//! the workers not joined in time (4), a worker refusing the start or the users (1).

use actix::Addr;
use amoc::app::App;
use amoc::cluster::{Fingerprint, Master, NodeError, NodeResults};
use tokio::time::Instant;

use super::drive::{self, ClusterPlan, Plan, CHECK_PERIOD, PROGRESS_PERIOD, STOP_TIMEOUT};
use super::progress::View;
use super::signal::stop_signal;
use super::{Outcome, RunError};
use crate::cluster::master::{self, ClusterMaster};
use crate::cluster::report::{status_of, ClusterRun};
use crate::{Flush, JsonLinesWriter, Stats};

/// Runs `plan` on the cluster of `cluster` with `app` as the master's app (its controller
/// is disabled here).
pub(crate) async fn drive(
    app: &App,
    plan: &Plan,
    cluster: &ClusterPlan,
    fingerprint: Fingerprint,
    view: &View,
) -> Result<Outcome, RunError> {
    app.controller().disable().await?;
    let events = match &plan.events {
        Some(path) => Some(drive::attach_events(app, path).await?),
        None => None,
    };
    let say = {
        let view = view.clone();
        move |line: &str| view.note(line)
    };
    let telemetry = app.telemetry().clone();
    let cm = master::start(&cluster.url, fingerprint, telemetry, say).await?;
    let result = run_on(&cm, plan, cluster, view, events).await;
    cm.shutdown();
    result
}

async fn run_on(
    cm: &ClusterMaster,
    plan: &Plan,
    cluster: &ClusterPlan,
    view: &View,
    events: Option<Addr<JsonLinesWriter>>,
) -> Result<Outcome, RunError> {
    let waiting = cm.wait_for_workers(cluster.workers, cluster.join_timeout);
    let workers = tokio::select! {
        up = waiting => up?,
        s = stop_signal() => return Err(RunError::Interrupted(s)),
    };
    let m = &cm.h.master;
    let started = m
        .start_scenario(&plan.scenario, plan.settings.clone())
        .await?;
    refused_by_nodes(m, "start", started).await?;
    if drive::user_rate_is_zero(&plan.settings) {
        view.warn("warning: user_rate is 0: no user starts until it is raised");
    }
    view.note(&format!(
        "running scenario {} with {} users on {} workers ({}) for {:?} (Ctrl-C stops early)",
        plan.scenario,
        plan.users,
        workers.len(),
        workers.join(", "),
        plan.duration
    ));
    let mut run = ClusterRun::new(plan.scenario.clone());
    let added = m.add_users(plan.users).await?;
    refused_by_nodes(m, "add_users", added).await?;

    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut next_progress = started + PROGRESS_PERIOD;
    let mut check = tokio::time::interval_at(started + CHECK_PERIOD, CHECK_PERIOD);
    let signal = stop_signal();
    tokio::pin!(signal);
    let mut stopped_by = None;
    let mut events_error = None;
    loop {
        if let Some(s) = drive::next_check(&mut check, &mut signal, view).await {
            stopped_by = Some(s);
            break;
        }
        let now = Instant::now();
        let s = m.status();
        if now >= next_progress {
            next_progress += PROGRESS_PERIOD;
            view.status(&run.second(&cm.h, &s, plan.users).await);
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
        if drive::all_ended(&status_of(&s), plan.users) {
            view.note(&format!("all {} users have ended", plan.users));
            break;
        }
    }
    let elapsed = run.stop();
    if let Ok(stopped) = m.stop_scenario().await {
        if let Err(errors) = stopped.merge() {
            view.warn(&format!("warning: stop failed on {}", nodes_line(&errors)));
        }
    }
    if !users_ended(m).await {
        view.warn("warning: the run did not finish on every worker within 30 s of stopping");
    }
    let s = m.status();
    let interrupted = stopped_by.map(|s| s.to_string());
    let report = run.report(&cm.h, &s, interrupted, &plan.thresholds).await;
    let requests = run.requests().clone();
    let (report_error, events_error) =
        drive::conclude(view, plan, &report, 0, events, events_error).await;
    Ok(Outcome {
        stats: Stats::from_request_stats(requests.total(), elapsed),
        requests,
        status: status_of(&s),
        elapsed,
        stopped_by,
        events_error,
        report,
        report_error,
    })
}

/// Waits until no user is live on any worker (by their heartbeats); false after
/// [`STOP_TIMEOUT`].
async fn users_ended(m: &Master) -> bool {
    let deadline = Instant::now() + STOP_TIMEOUT;
    while m.status().users.live() > 0 {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(CHECK_PERIOD).await;
    }
    true
}

/// Ok when every worker did `what`; otherwise the run is stopped on the workers and the
/// error names each failure.
async fn refused_by_nodes<T>(
    m: &Master,
    what: &'static str,
    results: NodeResults<T>,
) -> Result<(), RunError> {
    let nodes = results.0.len();
    match results.merge() {
        Ok(_) => Ok(()),
        Err(errors) => {
            let _ = m.stop_scenario().await;
            Err(RunError::Nodes {
                what,
                failed: errors.len(),
                nodes,
                detail: nodes_line(&errors),
            })
        }
    }
}

fn nodes_line(errors: &std::collections::BTreeMap<String, NodeError>) -> String {
    errors
        .iter()
        .map(|(n, e)| format!("{n}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}
