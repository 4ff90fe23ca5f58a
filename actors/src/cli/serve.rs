//! `amoc serve`: the app stays up, driven through the HTTP control API; a progress line is
//! printed every second while a run is going on, a summary when it finishes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::Actor;
use amoc::app::App;
use amoc::controller::StatusKind;
use amoc::telemetry::{AttachOptions, EventPattern};
use anyhow::Context as _;

use super::args::ServeArgs;
use super::report;
use crate::runner::{Registry, StatsSource, STATS_HANDLER};
use crate::{
    ControlApi, MetricsStore, PrometheusMetrics, ResetStats, TakeWindow, TestTarget, Totals,
};

const METRICS_HANDLER: &str = "amoc-serve-prometheus";

/// Serves until Ctrl-C, then stops any run and shuts down.
pub(super) async fn serve(args: ServeArgs, registry: Registry) -> anyhow::Result<()> {
    let scenarios = registry
        .list()
        .into_iter()
        .map(|(name, params)| (name.to_owned(), params))
        .collect();
    let mut builder = registry.register_on(App::builder());
    if let Some(n) = args.shards {
        builder = builder.shards(n);
    }
    let app = builder.start().await?;
    let target = if args.target {
        let target = TestTarget::start(0, 1).context("cannot start the embedded target")?;
        println!("embedded target listening on {}", target.url());
        Some(target)
    } else {
        None
    };
    let metrics = MetricsStore::new();
    let exporter = PrometheusMetrics::new(metrics.clone()).start();
    let patterns = [
        EventPattern::prefix(&["amoc"]),
        EventPattern::prefix(&["amoc_actors"]),
    ];
    app.telemetry()
        .attach_many(
            METRICS_HANDLER,
            patterns,
            exporter.recipient(),
            AttachOptions::default(),
        )
        .await?;
    let api =
        ControlApi::start_with_metrics(args.listen, app.controller().clone(), scenarios, metrics)
            .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!(
        "control API on {} (Prometheus metrics on /metrics; Ctrl-C stops)",
        api.url()
    );
    println!(
        "  try: curl -X POST {}/execution/start -H 'content-type: application/json' \\\n       -d '{{\"scenario\": \"http\", \"users\": 10, \"settings\": {{\"url\": \"{}\"}}}}'",
        api.url(),
        target.as_ref().map_or("http://127.0.0.1:8080/".to_owned(), TestTarget::url)
    );
    let result = watch(&app).await;
    api.stop().await;
    let c = app.controller();
    if matches!(c.status().kind, StatusKind::Running) {
        let _ = c.stop_scenario().await;
        let _ = tokio::time::timeout(Duration::from_secs(30), c.wait_finished()).await;
    }
    let _ = app.telemetry().detach(STATS_HANDLER).await;
    let _ = app.telemetry().detach(METRICS_HANDLER).await;
    app.shutdown().await;
    if let Some(target) = target {
        target.stop().await;
    }
    result
}

/// Prints progress while a run goes on and a summary when it ends, until Ctrl-C or SIGTERM
/// (which stop a run in progress first, so its summary is still printed; a second one exits
/// at once).
async fn watch(app: &App) -> anyhow::Result<()> {
    let stats = StatsSource::attach(app).await?.addr().clone();
    let c = app.controller();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stop = super::stop_signal();
    tokio::pin!(stop);
    // Runs are told apart by their start time; the one reported last is not reported again.
    let mut reported = c.status().started_at;
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut stop, if !interrupted => {
                println!("interrupted: shutting down (again to exit at once)");
                interrupted = true;
                actix_rt::spawn(async {
                    super::stop_signal().await;
                    std::process::exit(130);
                });
                if c.status().kind == StatusKind::Running {
                    let _ = c.stop_scenario().await;
                    let _ = tokio::time::timeout(Duration::from_secs(30), c.wait_finished()).await;
                }
            }
        }
        let status = c.status();
        let active = matches!(status.kind, StatusKind::Running | StatusKind::Terminating);
        let Some(started_at) = status.started_at.filter(|t| Some(*t) != reported) else {
            if interrupted {
                return Ok(());
            }
            continue;
        };
        let elapsed = age(started_at);
        if active {
            let window = stats.send(TakeWindow).await.unwrap_or_default();
            println!(
                "{}",
                report::progress(elapsed, &status, status.highest_user_id, &window)
            );
        } else if status.kind == StatusKind::Finished {
            app.telemetry().flush(Duration::from_secs(5)).await;
            let totals = stats.send(Totals { elapsed }).await.unwrap_or_default();
            let scenario = status.scenario.clone().unwrap_or_default();
            print!("{}", report::summary(&scenario, elapsed, &status, &totals));
            // The next run counts its requests from zero.
            let _ = stats.send(ResetStats).await;
            reported = Some(started_at);
        }
        if interrupted && !active {
            return Ok(());
        }
    }
}

/// Time since `started_at` (ns since the UNIX epoch).
fn age(started_at: i64) -> Duration {
    let start = UNIX_EPOCH + Duration::from_nanos(u64::try_from(started_at).unwrap_or(0));
    SystemTime::now().duration_since(start).unwrap_or_default()
}
