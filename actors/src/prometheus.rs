//! Prometheus metrics from telemetry events, kept with the `prometheus-client` crate (types,
//! label escaping, OpenMetrics text) and scraped from the control API's `GET /metrics`.
//!
//! Attach [`PrometheusMetrics`] to the events to export (`[amoc]`, `[amoc_actors]` and
//! `[telemetry]` in `amoc serve`). In a cluster every node's series carry its name as the
//! label `node` ([`MetricsStore::for_node`]; `master` on the master). Series (SPEC section
//! 10):
//!
//! | series | from |
//! | --- | --- |
//! | `amoc_http_requests_total{status}`, `amoc_http_request_duration_seconds` | `[amoc_actors, http, request]` (status 0 = no response) |
//! | `amoc_user_starts_total{scenario}`, `amoc_user_ends_total{scenario, outcome}` | the `[amoc, scenario, start]` span (`outcome` = `normal` or `exception`) |
//! | `amoc_scenario_duration_seconds{phase, outcome}` | the `init`, `start` and `terminate` spans |
//! | `amoc_throttle_requests_total{name}`, `amoc_throttle_executes_total{name}` | `[amoc, throttle, request \| execute]` |
//! | `amoc_throttle_rate{name}`, `amoc_throttle_interval_seconds{name}` | `[amoc, throttle, rate]`: the current rate (permits per interval; `+Inf` unlimited) |
//! | `amoc_coordinator_events_total{name, kind}` | `[amoc, coordinator, start \| stop \| add \| reset \| timeout]` |
//! | `amoc_coordinator_groups_total{name, event}`, `amoc_coordinator_grouped_users_total{name, event}` | `[amoc, coordinator, execute]` |
//! | `amoc_config_errors_total{kind}` | `[amoc, config, get \| verify \| env]` |
//! | `amoc_telemetry_dropped_total{handler}` | `[telemetry, handler, dropped]` |
//! | `amoc_events_total{event}`, `amoc_event_duration_seconds{event}` | every event (its `duration`, when it has one) |
//!
//! Duration histograms share [`LATENCY_BUCKETS`], 100 µs to 10 s. Recording updates atomics
//! under a family's read lock (a write lock only for a new label set), so a scrape never waits
//! on the handler's mailbox, and the handler and a scrape only ever share read locks.

mod families;

use std::sync::Arc;

use actix::{Actor, Context, Handler};
use amoc::telemetry::EventBatch;
use prometheus_client::registry::Registry;

use families::Families;

/// Upper bounds of the duration buckets, in seconds: 1-2.5-5 steps from 100 µs to 10 s.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The content type of [`MetricsStore::render`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the classic Prometheus text format (see [`to_text_format`]).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An OpenMetrics exposition rewritten in the classic Prometheus text format (0.0.4), for
/// clients that do not ask for OpenMetrics (`curl`, `promtool check metrics`): counter
/// families are named with their `_total` suffix, `# UNIT` and `# EOF` lines are dropped.
pub fn to_text_format(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 64);
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let rest = line
            .strip_prefix("# HELP ")
            .map(|r| ("# HELP ", r))
            .or_else(|| line.strip_prefix("# TYPE ").map(|r| ("# TYPE ", r)));
        match rest {
            Some((kind, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(&format!("{kind}{name}{suffix} {tail}"));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The `node` label of a cluster node's series.
pub(crate) fn node_label(
    name: &str,
) -> impl Iterator<
    Item = (
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    ),
> {
    std::iter::once(("node".into(), name.to_owned().into()))
}

/// The events `amoc serve` and `amoc worker` export: `[amoc]`, `[amoc_actors]` and the
/// telemetry's own drops.
pub(crate) fn exported_events() -> [amoc::telemetry::EventPattern; 3] {
    use amoc::telemetry::EventPattern;
    [
        EventPattern::prefix(&["amoc"]),
        EventPattern::prefix(&["amoc_actors"]),
        EventPattern::prefix(&["telemetry", "handler", "dropped"]),
    ]
}

/// The metrics a [`PrometheusMetrics`] handler records; cheap to clone, shared.
#[derive(Debug, Clone)]
pub struct MetricsStore(Arc<Store>);

#[derive(Debug)]
struct Store {
    registry: Registry,
    families: Families,
}

impl Default for MetricsStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_registry(Registry::default())
    }

    /// An empty store whose every series carries the label `node="NAME"` (a cluster node's:
    /// the series of several nodes can then be summed or told apart).
    pub fn for_node(name: &str) -> Self {
        Self::with_registry(Registry::with_labels(node_label(name)))
    }

    fn with_registry(mut registry: Registry) -> Self {
        let families = Families::register(&mut registry);
        Self(Arc::new(Store { registry, families }))
    }

    /// Everything recorded so far, in the OpenMetrics text format (with its `# EOF`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }

    /// Everything recorded so far, in the OpenMetrics text format, without the final
    /// `# EOF` (to follow it with other metrics).
    pub fn render_into(&self, out: &mut String) {
        let _ = prometheus_client::encoding::text::encode_registry(out, &self.0.registry);
    }

    /// Records a batch of events (what the [`PrometheusMetrics`] handler does with each one it
    /// receives).
    pub fn record(&self, batch: &EventBatch) {
        for e in &batch.events {
            self.0.families.record(e);
        }
    }
}

/// A telemetry handler actor feeding a [`MetricsStore`].
///
/// ```
/// use actix::Actor;
/// use amoc::telemetry::{AttachOptions, EventPattern, Telemetry};
/// use amoc_actors::{MetricsStore, PrometheusMetrics};
///
/// # actix_rt::System::new().block_on(async {
/// let telemetry = Telemetry::new();
/// telemetry.start();
/// let store = MetricsStore::new();
/// let handler = PrometheusMetrics::new(store.clone()).start();
/// telemetry
///     .attach_many("prometheus", [EventPattern::prefix(&["amoc"])], handler.recipient(),
///                  AttachOptions::default())
///     .await
///     .unwrap();
/// assert!(store.render().ends_with("# EOF\n"));
/// # telemetry.shutdown().await;
/// # });
/// ```
#[derive(Debug)]
pub struct PrometheusMetrics {
    store: MetricsStore,
}

impl PrometheusMetrics {
    /// A handler recording into `store`.
    pub fn new(store: MetricsStore) -> Self {
        Self { store }
    }
}

impl Actor for PrometheusMetrics {
    type Context = Context<Self>;
}

impl Handler<EventBatch> for PrometheusMetrics {
    type Result = ();

    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        self.store.record(&batch);
    }
}

#[cfg(test)]
#[path = "prometheus/tests.rs"]
mod tests;
