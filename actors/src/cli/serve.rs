//! `amoc serve`: the app stays up, driven through the HTTP control API; a progress line is
//! printed every second while a run is going on, and each run gets its own summary.
//!
//! Each run has its own statistics, created when the API announces the start (before its
//! first user) and closed when the run finishes, is reset, or another run starts: a run
//! stopped and reset between two progress lines still gets its summary, and nothing of it is
//! counted in the next one. A start the controller refuses leaves no summary.

use std::net::ToSocketAddrs;
use std::time::Duration;

use actix::{Actor, Addr};
use amoc::app::App;
use amoc::controller::StatusKind;
use amoc::telemetry::{AttachOptions, EventPattern};
use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::args::ServeArgs;
use super::report;
use crate::api::Exposure;
use crate::http::HTTP_REQUEST;
use crate::runner::Registry;
use crate::{
    ApiToken, ControlApi, LoadStats, MetricsStore, PrometheusMetrics, RunEvent, TakeWindow,
    TestTarget, Totals,
};

const METRICS_HANDLER: &str = "amoc-serve-prometheus";

/// Serves until Ctrl-C, then stops any run and shuts down.
pub(super) async fn serve(args: ServeArgs, registry: Registry) -> anyhow::Result<()> {
    let mut builder = registry.register_on(App::builder());
    if let Some(n) = args.shards {
        builder = builder.shards(n);
    }
    let app = builder.start().await?;
    let result = serve_app(&app, &args).await;
    let _ = app.telemetry().detach(METRICS_HANDLER).await;
    app.shutdown().await;
    result
}

async fn serve_app(app: &App, args: &ServeArgs) -> anyhow::Result<()> {
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
        EventPattern::prefix(&["telemetry", "handler", "dropped"]),
    ];
    app.telemetry()
        .attach_many(
            METRICS_HANDLER,
            patterns,
            exporter.recipient(),
            AttachOptions::default(),
        )
        .await?;
    let (events, runs) = mpsc::unbounded_channel();
    let mut api = ControlApi::builder(app.controller().clone())
        .scenarios_of(app)
        .metrics(metrics)
        .run_events(events);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        api = api.tls_files(cert, key)?;
    }
    if let Some(token) = token(args)? {
        api = api.token(token);
    }
    let api = api.bind(&args.listen)?;
    println!(
        "control API on {} (Prometheus metrics on /metrics; Ctrl-C stops)",
        api.url()
    );
    println!(
        "  try: curl -X PATCH {}/execution/start -H 'content-type: application/json' \\\n       -d '{{\"scenario\": \"http\", \"users\": 10, \"settings\": {{\"url\": \"{}\"}}}}'",
        api.url(),
        target.as_ref().map_or("http://127.0.0.1:8080/".to_owned(), TestTarget::url)
    );
    let result = watch(app, runs).await;
    api.stop().await;
    if let Some(target) = target {
        target.stop().await;
    }
    result
}

/// The token: `--token-file`, else `AMOC_API_TOKEN`, else (beyond loopback only) a new one,
/// printed once. Warns once when the listener is beyond loopback without TLS.
fn token(args: &ServeArgs) -> anyhow::Result<Option<ApiToken>> {
    let addrs: Vec<_> = args
        .listen
        .to_socket_addrs()
        .with_context(|| format!("cannot listen on {}", args.listen))?
        .collect();
    let beyond = Exposure::of(&addrs) == Exposure::Beyond;
    if beyond && args.tls_cert.is_none() {
        eprintln!(
            "warning: the control API listens beyond loopback without TLS: its token crosses \
             the network in clear (give --tls-cert and --tls-key)"
        );
    }
    let token = if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        Some(ApiToken::new(&text).with_context(|| format!("token file {}", path.display()))?)
    } else if let Ok(text) = std::env::var("AMOC_API_TOKEN") {
        Some(ApiToken::new(&text).context("AMOC_API_TOKEN")?)
    } else if beyond {
        let token = ApiToken::generate().context("cannot generate an API token")?;
        println!(
            "API token (send it as 'Authorization: Bearer TOKEN'; shown only now): {}",
            token.reveal()
        );
        Some(token)
    } else {
        None
    };
    Ok(token)
}

/// One run's statistics and what its summary needs.
struct Run {
    stats: Addr<LoadStats>,
    handler: String,
    scenario: String,
    started: Instant,
    stopped: Option<Instant>,
    /// The API confirmed the start (until then the controller may still be idle).
    confirmed: bool,
}

/// Attaches a fresh [`LoadStats`] for a run of `scenario`.
async fn open(app: &App, scenario: String, number: u64) -> anyhow::Result<Run> {
    let handler = format!("amoc-serve-stats-{number}");
    let stats = app
        .telemetry()
        .spawn_handler(
            &handler,
            [EventPattern::from(&HTTP_REQUEST)],
            &actix_rt::Arbiter::current(),
            LoadStats::new,
            AttachOptions::default(),
        )
        .await?;
    Ok(Run {
        stats,
        handler,
        scenario,
        started: Instant::now(),
        stopped: None,
        confirmed: false,
    })
}

/// Closes a run: its summary (unless it never started), then its statistics are dropped.
async fn close(app: &App, run: Run) {
    let _ = app.telemetry().detach(&run.handler).await;
    if run.confirmed {
        app.telemetry().flush(Duration::from_secs(5)).await;
        let elapsed = run.stopped.unwrap_or_else(Instant::now) - run.started;
        let totals = run.stats.send(Totals { elapsed }).await.unwrap_or_default();
        let status = app.controller().status();
        print!(
            "{}",
            report::summary(&run.scenario, elapsed, &status, &totals)
        );
    }
}

/// Follows the API's run events, prints progress every second and each run's summary, until
/// Ctrl-C or SIGTERM (which stop a run in progress first, so its summary is still printed; a
/// second one exits at once).
async fn watch(app: &App, mut runs: mpsc::UnboundedReceiver<RunEvent>) -> anyhow::Result<()> {
    let c = app.controller();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stop = super::stop_signal();
    tokio::pin!(stop);
    let mut current: Option<Run> = None;
    let mut opened = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(event) = runs.recv() => {
                match event {
                    RunEvent::Starting { scenario, ready } => {
                        if let Some(run) = current.take() {
                            close(app, run).await;
                        }
                        opened += 1;
                        current = Some(open(app, scenario, opened).await?);
                        let _ = ready.send(());
                    }
                    RunEvent::Started => {
                        if let Some(run) = &mut current {
                            run.confirmed = true;
                        }
                    }
                    RunEvent::Refused => {
                        if let Some(run) = current.take() {
                            close(app, run).await;
                        }
                    }
                    RunEvent::Stopping => {
                        if let Some(run) = &mut current {
                            run.stopped.get_or_insert_with(Instant::now);
                        }
                    }
                    RunEvent::Reset => {
                        if let Some(mut run) = current.take() {
                            run.stopped.get_or_insert_with(Instant::now);
                            close(app, run).await;
                        }
                    }
                }
                continue;
            }
            () = &mut stop => {
                println!("interrupted: shutting down (again to exit at once)");
                actix_rt::spawn(async {
                    super::stop_signal().await;
                    std::process::exit(130);
                });
                if c.status().kind == StatusKind::Running {
                    let _ = c.stop_scenario().await;
                    if let Some(run) = &mut current {
                        run.stopped.get_or_insert_with(Instant::now);
                    }
                }
                let _ = tokio::time::timeout(Duration::from_secs(30), c.wait_finished()).await;
                if let Some(run) = current.take() {
                    close(app, run).await;
                }
                return Ok(());
            }
        }
        let Some(run) = current.as_ref().filter(|r| r.confirmed) else {
            continue;
        };
        let status = c.status();
        match status.kind {
            StatusKind::Running | StatusKind::Terminating => {
                let window = run.stats.send(TakeWindow).await.unwrap_or_default();
                // The users wanted now: not those asked to stop, nor those ended.
                let wanted = status.users.waiting + status.users.running;
                println!(
                    "{}",
                    report::progress(run.started.elapsed(), &status, wanted, &window)
                );
            }
            StatusKind::Finished | StatusKind::Idle | StatusKind::Error => {
                if let Some(run) = current.take() {
                    close(app, run).await;
                }
            }
        }
    }
}
