//! `amoc serve`: the app stays up, driven through the HTTP control API; a progress line is
//! printed every second while a run is going on, a summary when it finishes.

use std::time::Duration;

use actix::Actor;
use amoc::app::App;
use amoc::controller::StatusKind;
use amoc::scenario::Scenario;
use amoc::telemetry::{AttachOptions, EventPattern};
use anyhow::Context as _;

use super::args::ServeArgs;
use super::report;
use super::runner::STATS_HANDLER;
use crate::http::HTTP_REQUEST;
use crate::scenarios::HttpScenario;
use crate::{
    ControlApi, LoadStats, MetricsStore, PrometheusMetrics, ResetStats, TakeWindow, TestTarget,
    Totals,
};

const METRICS_HANDLER: &str = "amoc-serve-prometheus";

/// Serves until Ctrl-C, then stops any run and shuts down.
pub(super) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut builder = App::builder().scenario(HttpScenario);
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
    let scenarios = vec![(HttpScenario::NAME.to_owned(), HttpScenario.params())];
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

/// Prints progress while a run goes on and a summary when it ends, until Ctrl-C (which
/// stops a run in progress first, so its summary is still printed).
async fn watch(app: &App) -> anyhow::Result<()> {
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
    let c = app.controller();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut run_started: Option<tokio::time::Instant> = None;
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut ctrl_c, if !interrupted => {
                println!("interrupted: shutting down");
                interrupted = true;
                if c.status().kind == StatusKind::Running {
                    let _ = c.stop_scenario().await;
                    let _ = tokio::time::timeout(Duration::from_secs(30), c.wait_finished()).await;
                }
            }
        }
        let status = c.status();
        let active = matches!(status.kind, StatusKind::Running | StatusKind::Terminating);
        match (active, run_started) {
            (true, None) => {
                // A new run: count its requests from zero.
                let _ = stats.send(ResetStats).await;
                run_started = Some(tokio::time::Instant::now());
            }
            (true, Some(since)) => {
                let window = stats.send(TakeWindow).await.unwrap_or_default();
                report::progress(since.elapsed(), &status, status.highest_user_id, &window);
            }
            (false, Some(since)) => {
                let elapsed = since.elapsed();
                app.telemetry().flush(Duration::from_secs(5)).await;
                let totals = stats.send(Totals { elapsed }).await.unwrap_or_default();
                let scenario = status.scenario.clone().unwrap_or_default();
                report::summary(&scenario, elapsed, &status, &totals);
                run_started = None;
            }
            (false, None) => {}
        }
        if interrupted && run_started.is_none() {
            return Ok(());
        }
    }
}
