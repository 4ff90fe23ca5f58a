//! Running a test: app, handlers, progress loop, summary.

use std::time::Duration;

use actix::Actor;
use amoc::app::App;
use amoc::controller::StatusKind;
use amoc::metrics::{RunStats, Snapshot};
use amoc::scenario::Scenario;
use amoc::telemetry::{AttachOptions, EventPattern};
use amoc::Value;
use anyhow::{anyhow, Context as _};

use super::args::{Cli, Command, RunArgs};
use super::report;
use crate::http::HTTP_REQUEST;
use crate::scenarios::HttpScenario;
use crate::{JsonLinesWriter, LoadStats, Stats, TestTarget};

pub(super) const STATS_HANDLER: &str = "amoc-cli-stats";
const EVENTS_HANDLER: &str = "amoc-cli-events";

/// How a finished test went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The final load statistics.
    pub stats: crate::Stats,
    /// Everything the run recorded, per request name.
    pub requests: Snapshot,
    /// The controller's final status.
    pub status: amoc::controller::Status,
    /// Whether Ctrl-C ended the test early.
    pub interrupted: bool,
}

/// Runs the parsed command line in a new actix system.
pub(crate) fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            actix_rt::System::new().block_on(async move { super::serve::serve(args).await })
        }
        Command::List => {
            report::list(&[(HttpScenario::NAME, HttpScenario.params())]);
            Ok(())
        }
        Command::Demo(args) => actix_rt::System::new().block_on(async move {
            let target = TestTarget::start(0, 1).context("cannot start the embedded target")?;
            println!("embedded target listening on {}", target.url());
            let mut args = args;
            if !args.settings.iter().any(|(k, _)| k == "url") {
                args.settings
                    .push(("url".into(), Value::from(target.url())));
            }
            if args.user_rate.is_none() {
                args.user_rate = Some(Value::from(6000));
            }
            let outcome = run(HttpScenario::NAME, args).await;
            target.stop().await;
            outcome.map(drop)
        }),
        Command::Run {
            name,
            scenario,
            args,
        } => {
            let name = name
                .or(scenario)
                .unwrap_or_else(|| HttpScenario::NAME.to_owned());
            actix_rt::System::new().block_on(async move { run(&name, args).await.map(drop) })
        }
    }
}

/// Runs one test of `scenario` with `args`, printing progress every second and the summary
/// at the end. Must run inside an actix system.
pub async fn run(scenario: &str, args: RunArgs) -> anyhow::Result<Outcome> {
    let mut builder = App::builder().scenario(HttpScenario);
    if let Some(n) = args.shards {
        builder = builder.shards(n);
    }
    let app = builder.start().await?;
    let result = drive(&app, scenario, &args).await;
    // Detach our handlers first, so that their end at shutdown is not reported as a failure.
    let _ = app.telemetry().detach(STATS_HANDLER).await;
    let _ = app.telemetry().detach(EVENTS_HANDLER).await;
    app.shutdown().await;
    result
}

async fn drive(app: &App, scenario: &str, args: &RunArgs) -> anyhow::Result<Outcome> {
    let telemetry = app.telemetry();
    if let Some(path) = &args.events {
        let writer = JsonLinesWriter::create(path)
            .with_context(|| format!("cannot open events file {}", path.display()))?
            .start();
        let patterns = [
            EventPattern::prefix(&["amoc"]),
            EventPattern::prefix(&["amoc_actors"]),
        ];
        telemetry
            .attach_many(
                EVENTS_HANDLER,
                patterns,
                writer.recipient(),
                AttachOptions::default(),
            )
            .await?;
    }
    let mut settings = args.settings.clone();
    if let Some(rate) = &args.user_rate {
        settings.retain(|(k, _)| k != "user_rate");
        settings.push(("user_rate".into(), rate.clone()));
    }
    let controller = app.controller();
    controller
        .start_scenario(scenario, settings)
        .await
        .map_err(|e| anyhow!(e))?;
    // Started with the run (by its `RunContext`): this run's numbers only, recorded where
    // each request completes.
    let stats = RunStats::current(telemetry).context("the run has no statistics")?;
    let mut last = stats.snapshot();
    controller
        .add_users(args.users.max(1))
        .await
        .map_err(|e| anyhow!(e))?;
    println!(
        "running scenario {scenario} with {} users for {:?} (Ctrl-C stops early)",
        args.users, args.duration
    );

    let started = tokio::time::Instant::now();
    let deadline = started + args.duration;
    let mut tick =
        tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
    let ctrl_c = super::stop_signal();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = stats.snapshot();
                let span = now.at().saturating_duration_since(last.at());
                let window = Stats::from_request_stats(now.since(&last).total(), span);
                last = now;
                report::progress(started.elapsed(), &controller.status(), args.users, &window);
                if tokio::time::Instant::now() >= deadline {
                    break;
                }
            }
            _ = &mut ctrl_c => {
                println!("interrupted: stopping the test");
                interrupted = true;
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    controller.stop_scenario().await.map_err(|e| anyhow!(e))?;
    let finished = tokio::time::timeout(Duration::from_secs(30), controller.wait_finished()).await;
    if !matches!(finished, Ok(StatusKind::Finished)) {
        eprintln!("warning: the run did not finish within 30 s of stopping");
    }
    telemetry.flush(Duration::from_secs(5)).await;
    let requests = stats.snapshot();
    let totals = Stats::from_request_stats(requests.total(), elapsed);
    let status = controller.status();
    report::summary(scenario, elapsed, &status, &totals);
    report::by_name(&requests, elapsed);
    Ok(Outcome {
        stats: totals,
        requests,
        status,
        interrupted,
    })
}

/// A [`LoadStats`] handler of HTTP request events, on the current arbiter, attached as
/// [`STATS_HANDLER`].
pub(super) async fn attach_stats(app: &App) -> anyhow::Result<actix::Addr<LoadStats>> {
    let arbiter = actix_rt::Arbiter::current();
    let stats = app
        .telemetry()
        .spawn_handler(
            STATS_HANDLER,
            [EventPattern::from(&HTTP_REQUEST)],
            &arbiter,
            LoadStats::new,
            AttachOptions::default(),
        )
        .await?;
    Ok(stats)
}
