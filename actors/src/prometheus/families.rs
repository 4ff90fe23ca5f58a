//! The metric families and how each event feeds them.

use amoc::telemetry::Event;
use amoc::Value;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

use super::LATENCY_BUCKETS;

/// Label pairs of a series.
type Labels = Vec<(&'static str, String)>;
type Counters = Family<Labels, Counter>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;
type FloatGauges = Family<Labels, Gauge<f64, AtomicU64>>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn histograms() -> Histograms {
    Family::new_with_constructor(latency_histogram as fn() -> Histogram)
}

#[derive(Debug)]
pub(super) struct Families {
    events: Counters,
    event_durations: Histograms,
    http_requests: Counters,
    http_durations: Histograms,
    user_starts: Counters,
    user_ends: Counters,
    scenario_durations: Histograms,
    throttle_requests: Counters,
    throttle_executes: Counters,
    throttle_rate: FloatGauges,
    throttle_interval: FloatGauges,
    coordinator_events: Counters,
    coordinator_groups: Counters,
    coordinator_users: Counters,
    config_errors: Counters,
    telemetry_dropped: Counters,
}

impl Families {
    pub(super) fn register(r: &mut Registry) -> Self {
        let f = Self {
            events: Counters::default(),
            event_durations: histograms(),
            http_requests: Counters::default(),
            http_durations: histograms(),
            user_starts: Counters::default(),
            user_ends: Counters::default(),
            scenario_durations: histograms(),
            throttle_requests: Counters::default(),
            throttle_executes: Counters::default(),
            throttle_rate: FloatGauges::default(),
            throttle_interval: FloatGauges::default(),
            coordinator_events: Counters::default(),
            coordinator_groups: Counters::default(),
            coordinator_users: Counters::default(),
            config_errors: Counters::default(),
            telemetry_dropped: Counters::default(),
        };
        let s = Unit::Seconds;
        r.register(
            "amoc_events",
            "Telemetry events received, by event name",
            f.events.clone(),
        );
        r.register_with_unit(
            "amoc_event_duration",
            "The duration measurement of events that carry one",
            s.clone(),
            f.event_durations.clone(),
        );
        r.register(
            "amoc_http_requests",
            "HTTP requests made by users, by status (0 = no response)",
            f.http_requests.clone(),
        );
        r.register_with_unit(
            "amoc_http_request_duration",
            "Latency of the HTTP requests made by users",
            s.clone(),
            f.http_durations.clone(),
        );
        r.register(
            "amoc_user_starts",
            "Users that started",
            f.user_starts.clone(),
        );
        r.register(
            "amoc_user_ends",
            "Users that ended, by outcome",
            f.user_ends.clone(),
        );
        r.register_with_unit(
            "amoc_scenario_duration",
            "Durations of the scenario callbacks (init, start, terminate)",
            s.clone(),
            f.scenario_durations.clone(),
        );
        r.register(
            "amoc_throttle_requests",
            "Requests that reached a throttle",
            f.throttle_requests.clone(),
        );
        r.register(
            "amoc_throttle_executes",
            "Permits a throttle granted",
            f.throttle_executes.clone(),
        );
        r.register(
            "amoc_throttle_rate",
            "A throttle's current rate: permits per interval (+Inf: unlimited)",
            f.throttle_rate.clone(),
        );
        r.register_with_unit(
            "amoc_throttle_interval",
            "A throttle's current interval (0: concurrency mode)",
            s,
            f.throttle_interval.clone(),
        );
        r.register(
            "amoc_coordinator_events",
            "Coordinator starts, stops, adds, resets and timeouts",
            f.coordinator_events.clone(),
        );
        r.register(
            "amoc_coordinator_groups",
            "Groups a coordinator's plan ran on, by what triggered it",
            f.coordinator_groups.clone(),
        );
        r.register(
            "amoc_coordinator_grouped_users",
            "Users in the groups a coordinator's plan ran on",
            f.coordinator_users.clone(),
        );
        r.register(
            "amoc_config_errors",
            "Configuration errors: undeclared reads, failing verifications, bad variables",
            f.config_errors.clone(),
        );
        r.register(
            "amoc_telemetry_dropped",
            "Events dropped for a slow telemetry handler",
            f.telemetry_dropped.clone(),
        );
        f
    }

    pub(super) fn record(&self, e: &Event) {
        let segments = e.name.segments();
        let num = |k: &str| e.measurements.get(k).map(|n| n.as_f64());
        let meta = |k: &str| -> String {
            match e.metadata.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            }
        };
        let count = num("count").map_or(1, |n| n.max(0.0) as u64);
        let seconds = num("duration").map(|ns| ns / 1e9);
        let name = vec![("name", meta("name"))];
        let event = vec![("event", segments.join("."))];
        self.events.get_or_create(&event).inc();
        if let Some(s) = seconds {
            self.event_durations.get_or_create(&event).observe(s);
        }
        match segments {
            ["amoc_actors", "http", "request"] => {
                let status = num("status").map_or(0, |n| n as u64);
                self.http_requests
                    .get_or_create(&vec![("status", status.to_string())])
                    .inc();
                if let Some(s) = seconds {
                    self.http_durations.get_or_create(&vec![]).observe(s);
                }
            }
            ["amoc", "scenario", phase, edge] => {
                let scenario = ("scenario", meta("scenario"));
                let outcome = if *edge == "stop" {
                    "normal"
                } else {
                    "exception"
                };
                match (*phase, *edge) {
                    ("start", "start") => {
                        self.user_starts.get_or_create(&vec![scenario]).inc();
                    }
                    (_, "stop" | "exception") => {
                        if *phase == "start" {
                            let labels = vec![scenario, ("outcome", outcome.to_owned())];
                            self.user_ends.get_or_create(&labels).inc();
                        }
                        if let Some(s) = seconds {
                            let labels =
                                vec![("phase", phase.to_string()), ("outcome", outcome.into())];
                            self.scenario_durations.get_or_create(&labels).observe(s);
                        }
                    }
                    _ => {}
                }
            }
            ["amoc", "throttle", "request"] => {
                self.throttle_requests.get_or_create(&name).inc_by(count);
            }
            ["amoc", "throttle", "execute"] => {
                self.throttle_executes.get_or_create(&name).inc_by(count);
            }
            ["amoc", "throttle", "rate"] => {
                if let Some(rate) = num("rate") {
                    self.throttle_rate.get_or_create(&name).set(rate);
                }
                let interval = num("interval").unwrap_or(0.0) / 1000.0;
                self.throttle_interval.get_or_create(&name).set(interval);
            }
            ["amoc", "coordinator", "execute"] => {
                let labels = vec![name[0].clone(), ("event", meta("event"))];
                self.coordinator_groups.get_or_create(&labels).inc();
                self.coordinator_users.get_or_create(&labels).inc_by(count);
            }
            ["amoc", "coordinator", kind] => {
                let labels = vec![name[0].clone(), ("kind", kind.to_string())];
                self.coordinator_events.get_or_create(&labels).inc();
            }
            ["amoc", "config", kind] => {
                let labels = vec![("kind", kind.to_string())];
                self.config_errors.get_or_create(&labels).inc();
            }
            ["telemetry", "handler", "dropped"] => {
                let labels = vec![("handler", meta("handler_id"))];
                self.telemetry_dropped.get_or_create(&labels).inc_by(count);
            }
            _ => {}
        }
    }
}
