//! Prometheus metrics from telemetry events: a handler actor that counts every event it
//! receives and histograms their `duration`, and the text exposition format to scrape.
//!
//! Attach [`PrometheusMetrics`] to the events to export (`[amoc]` and `[amoc_actors]` in
//! `amoc serve`), and serve [`MetricsStore::render`] (the control API does, on `GET /metrics`).
//! Series, all labelled with the event's dotted name:
//!
//! * `amoc_events_total{event}`: events received;
//! * `amoc_event_duration_seconds{event}`: a histogram of the `duration` measurement (in
//!   nanoseconds, as spans and HTTP requests report it) of events that carry one;
//! * `amoc_http_requests_total{status}`: `[amoc_actors, http, request]` events by status
//!   (0 = no response).
//!
//! The store is shared memory behind one mutex, taken once per delivered batch and once per
//! scrape, so scraping never waits on the handler's mailbox.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use actix::{Actor, Context, Handler};
use amoc::telemetry::EventBatch;

/// Upper bounds of the duration buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn record(&mut self, seconds: f64) {
        let i = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i] += 1;
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Series {
    events: u64,
    durations: Option<Histogram>,
}

#[derive(Debug, Default)]
struct Families {
    by_event: BTreeMap<String, Series>,
    http_by_status: BTreeMap<u64, u64>,
}

/// The metrics a [`PrometheusMetrics`] handler records; cheap to clone, shared.
#[derive(Debug, Clone, Default)]
pub struct MetricsStore(Arc<Mutex<Families>>);

impl MetricsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything recorded so far, in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let f = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP amoc_events_total Telemetry events received, by event name.\n");
        out.push_str("# TYPE amoc_events_total counter\n");
        for (event, s) in &f.by_event {
            let _ = writeln!(out, "amoc_events_total{{event=\"{event}\"}} {}", s.events);
        }
        out.push_str(
            "# HELP amoc_event_duration_seconds The duration measurement of events that carry one.\n",
        );
        out.push_str("# TYPE amoc_event_duration_seconds histogram\n");
        for (event, h) in f
            .by_event
            .iter()
            .filter_map(|(e, s)| Some((e, s.durations.as_ref()?)))
        {
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i];
                let _ = writeln!(
                    out,
                    "amoc_event_duration_seconds_bucket{{event=\"{event}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "amoc_event_duration_seconds_bucket{{event=\"{event}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "amoc_event_duration_seconds_sum{{event=\"{event}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "amoc_event_duration_seconds_count{{event=\"{event}\"}} {}",
                h.count
            );
        }
        out.push_str(
            "# HELP amoc_http_requests_total HTTP requests by status (0 = no response).\n",
        );
        out.push_str("# TYPE amoc_http_requests_total counter\n");
        for (status, n) in &f.http_by_status {
            let _ = writeln!(out, "amoc_http_requests_total{{status=\"{status}\"}} {n}");
        }
        out
    }

    fn record(&self, batch: &EventBatch) {
        let mut f = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for e in &batch.events {
            let segments = e.name.segments();
            let name = label_value(&segments.join("."));
            if segments == ["amoc_actors", "http", "request"] {
                let status = e
                    .measurements
                    .get("status")
                    .map_or(0, |n| n.as_f64() as u64);
                *f.http_by_status.entry(status).or_default() += 1;
            }
            let series = f.by_event.entry(name).or_default();
            series.events += 1;
            if let Some(ns) = e.measurements.get("duration") {
                series
                    .durations
                    .get_or_insert_with(Histogram::default)
                    .record(ns.as_f64() / 1e9);
            }
        }
    }
}

/// `text` escaped for a label value of the text format (`\\`, `\"`, `\n`).
fn label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
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
/// assert!(store.render().contains("# TYPE amoc_events_total counter"));
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
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            label_value("amoc.throttle.execute"),
            "amoc.throttle.execute"
        );
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn histogram_buckets_are_cumulative_in_the_rendering() {
        let mut h = Histogram::default();
        for s in [0.0001, 0.0007, 0.003, 20.0] {
            h.record(s);
        }
        assert_eq!(h.count, 4);
        assert_eq!(h.buckets[0], 1, "≤ 0.5 ms");
        assert_eq!(h.buckets[1], 1, "≤ 1 ms");
        assert_eq!(h.buckets[3], 1, "≤ 5 ms");
        assert_eq!(h.buckets[BUCKETS.len()], 1, "+Inf");
        let store = MetricsStore::new();
        store.0.lock().unwrap().by_event.insert(
            "a.b".into(),
            Series {
                events: 4,
                durations: Some(h),
            },
        );
        let text = store.render();
        assert!(
            text.contains("amoc_events_total{event=\"a.b\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains("amoc_event_duration_seconds_bucket{event=\"a.b\",le=\"0.001\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("amoc_event_duration_seconds_bucket{event=\"a.b\",le=\"10\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("amoc_event_duration_seconds_bucket{event=\"a.b\",le=\"+Inf\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("amoc_event_duration_seconds_count{event=\"a.b\"} 4\n"));
    }
}
