//! `amoc serve`: the app stays up, driven through the HTTP control API; a progress line is
//! printed every second while a run is going on, and each run gets its own summary.
//!
//! Each run has its own statistics: the lossless [`RunStats`](amoc::metrics::RunStats) its
//! start creates, followed from the API's confirmation of the start until the run finishes,
//! is reset, or another run starts: a run stopped and reset between two progress lines still
//! gets its summary, and nothing of it is counted in the next one. A start the controller
//! refuses leaves no summary. Each run's report (as `--report` writes it) is offered by the
//! API's `GET /report`, refreshed every few seconds while the run goes and made whole at its
//! end, and written to the `--report` files when the run ends (see `cli::report_files`).

use std::net::ToSocketAddrs;
use std::time::{Duration, SystemTime};

use actix::Actor;
use amoc::app::App;
use amoc::controller::StatusKind;
use amoc::telemetry::AttachOptions;
use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::args::ServeArgs;
use super::{report, ReportFiles};
use crate::api::Exposure;
use crate::report::{self as run_report, Collector, LastReport, ReportInput};
use crate::runner::{Registry, RunSource};
use crate::{ApiToken, ControlApi, MetricsStore, PrometheusMetrics, RunEvent, TestTarget};

const METRICS_HANDLER: &str = "amoc-serve-prometheus";
/// How often `GET /report` is refreshed while a run goes.
const REPORT_EVERY: u64 = 5;

/// Serves until Ctrl-C, then stops any run and shuts down.
pub(super) async fn serve(args: ServeArgs, registry: Registry) -> anyhow::Result<()> {
    let fingerprint = crate::cluster::fingerprint(&registry.names());
    let mut builder = registry.register_on(App::builder());
    if let Some(n) = args.shards {
        builder = builder.shards(n);
    }
    let app = builder.start().await?;
    let result = serve_app(&app, &args, fingerprint).await;
    let _ = app.telemetry().detach(METRICS_HANDLER).await;
    app.shutdown().await;
    result
}

async fn serve_app(
    app: &App,
    args: &ServeArgs,
    fingerprint: amoc::cluster::Fingerprint,
) -> anyhow::Result<()> {
    let cluster = match &args.cluster {
        Some(url) => {
            let say = |line: &str| println!("{line}");
            let telemetry = app.telemetry().clone();
            let master = crate::cluster::master::start(url, fingerprint, telemetry, say).await?;
            // The master runs no users (SPEC 9): its own controller refuses every run.
            app.controller().disable().await?;
            Some(master)
        }
        None => None,
    };
    let target = if args.target {
        let target = TestTarget::start(0, 1).context("cannot start the embedded target")?;
        println!("embedded target listening on {}", target.url());
        Some(target)
    } else {
        None
    };
    let files = ReportFiles::new(args.reports.clone());
    let metrics = match &cluster {
        Some(_) => MetricsStore::for_node(crate::api::MASTER_NODE),
        None => MetricsStore::new(),
    };
    let exporter = PrometheusMetrics::new(metrics.clone()).start();
    let patterns = crate::prometheus::exported_events();
    app.telemetry()
        .attach_many(
            METRICS_HANDLER,
            patterns,
            exporter.recipient(),
            AttachOptions::default(),
        )
        .await?;
    let (events, runs) = mpsc::unbounded_channel();
    let reports = LastReport::new();
    if let Some(cm) = &cluster {
        crate::cluster::report::follow(cm.h.clone(), reports.clone(), files.clone());
    }
    let mut api = ControlApi::builder(app.controller().clone())
        .scenarios_of(app)
        .metrics(metrics)
        .reports(reports.clone())
        .throttles(app.throttles().clone())
        .run_events(events);
    if let Some(cm) = &cluster {
        api = api
            .cluster(cm.h.master.clone())
            .cluster_throttles(cm.h.throttles.clone(), cm.h.usage.clone());
    }
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
    let result = watch(app, runs, &reports, files).await;
    api.stop().await;
    if let Some(cm) = cluster {
        cm.shutdown();
    }
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
    /// The run's statistics, from the confirmation of its start.
    source: Option<RunSource>,
    collector: Collector,
    scenario: String,
    started: Instant,
    started_wall: SystemTime,
    stopped: Option<Instant>,
    /// The run's settings, as last seen while it ran.
    settings: Vec<(String, amoc::Value)>,
    /// The API confirmed the start (until then the controller may still be idle).
    confirmed: bool,
    seconds: u64,
}

impl Run {
    fn new(scenario: String) -> Self {
        Run {
            source: None,
            collector: Collector::new(),
            scenario,
            started: Instant::now(),
            started_wall: SystemTime::now(),
            stopped: None,
            settings: Vec::new(),
            confirmed: false,
            seconds: 0,
        }
    }

    /// The run's report so far.
    fn report(&self, app: &App) -> Option<run_report::RunReport> {
        let source = self.source.as_ref()?;
        let elapsed = self.stopped.unwrap_or_else(Instant::now) - self.started;
        let status = app.controller().status();
        let (requests, _) = source.totals(elapsed);
        Some(run_report::build(&ReportInput {
            scenario: &self.scenario,
            planned_users: status.highest_user_id,
            started: self.started_wall,
            elapsed,
            interrupted: None,
            status: &status,
            settings: &self.settings,
            requests: &requests,
            collector: &self.collector,
            thresholds: &[],
        }))
    }
}

/// Closes a run: its summary and report (unless it never started), offered on `GET
/// /report` and written to the `--report` files.
async fn close(app: &App, mut run: Run, reports: &LastReport, files: &mut ReportFiles) {
    if run.confirmed {
        app.telemetry().flush(Duration::from_secs(5)).await;
        read_throttles(app, &mut run.collector).await;
        if let Some(report) = run.report(app) {
            let dropped = app.controller().status().telemetry_dropped;
            print!("{}", report::summary(&report, dropped));
            files.write(&report);
            reports.set(report);
        }
    }
}

async fn read_throttles(app: &App, collector: &mut Collector) {
    for name in app.throttles().names() {
        if let Ok(info) = app.throttles().info(&name).await {
            collector.throttle(&name, info);
        }
    }
}

/// Follows the API's run events, prints progress every second and each run's summary, until
/// Ctrl-C or SIGTERM (which stop a run in progress first, so its summary is still printed; a
/// second one exits at once).
async fn watch(
    app: &App,
    mut runs: mpsc::UnboundedReceiver<RunEvent>,
    reports: &LastReport,
    mut files: ReportFiles,
) -> anyhow::Result<()> {
    let c = app.controller();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stop = super::stop_signal();
    tokio::pin!(stop);
    let mut current: Option<Run> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(event) = runs.recv() => {
                match event {
                    RunEvent::Starting { scenario, ready } => {
                        if let Some(run) = current.take() {
                            close(app, run, reports, &mut files).await;
                        }
                        current = Some(Run::new(scenario));
                        let _ = ready.send(());
                    }
                    RunEvent::Started => {
                        if let Some(run) = &mut current {
                            run.source = RunSource::current(app);
                            run.confirmed = run.source.is_some();
                            run.settings = app.controller().status().settings;
                        }
                    }
                    RunEvent::Refused => {
                        if let Some(run) = current.take() {
                            close(app, run, reports, &mut files).await;
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
                            close(app, run, reports, &mut files).await;
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
                    close(app, run, reports, &mut files).await;
                }
                return Ok(());
            }
        }
        let Some(run) = current.as_mut().filter(|r| r.confirmed) else {
            continue;
        };
        let status = c.status();
        match status.kind {
            StatusKind::Running | StatusKind::Terminating => {
                let Some(source) = run.source.as_mut() else {
                    continue;
                };
                let (window, delta, span) = source.window();
                run.settings.clone_from(&status.settings);
                let elapsed = run.started.elapsed();
                run.collector
                    .second(elapsed, span, status.users.running, &delta);
                read_throttles(app, &mut run.collector).await;
                run.seconds += 1;
                if run.seconds % REPORT_EVERY == 0 {
                    if let Some(r) = run.report(app) {
                        reports.set(r);
                    }
                }
                // The users wanted now: not those asked to stop, nor those ended.
                let wanted = status.users.waiting + status.users.running;
                println!("{}", report::progress(elapsed, &status, wanted, &window));
            }
            StatusKind::Finished | StatusKind::Idle | StatusKind::Error | StatusKind::Disabled => {
                if let Some(run) = current.take() {
                    close(app, run, reports, &mut files).await;
                }
            }
        }
    }
}
