use std::sync::Arc;

use amoc::telemetry::{Event, EventBatch, EventName, Measurements, Metadata};
use amoc::Value;

use super::*;

fn event(
    name: &[&str],
    measurements: &[(&'static str, f64)],
    meta: &[(&'static str, &str)],
) -> Arc<Event> {
    let name = EventName::leak(name.iter().map(|s| s.to_string()).collect());
    let mut m = Measurements::new();
    for (k, v) in measurements {
        m.insert(k, *v);
    }
    let mut md = Metadata::new();
    for (k, v) in meta {
        md.insert(k, Value::from(*v));
    }
    Arc::new(Event {
        name,
        measurements: m,
        metadata: md,
    })
}

fn store_with(events: Vec<Arc<Event>>) -> MetricsStore {
    let store = MetricsStore::new();
    store.record(&EventBatch {
        handler_id: "test".into(),
        config: Arc::new(Value::Null),
        events,
    });
    store
}

#[test]
fn http_requests_are_counted_by_status_and_histogrammed_in_seconds() {
    let store = store_with(vec![
        event(
            &["amoc_actors", "http", "request"],
            &[("status", 200.0), ("duration", 50_000.0)],
            &[],
        ),
        event(
            &["amoc_actors", "http", "request"],
            &[("status", 200.0), ("duration", 3e9)],
            &[],
        ),
        event(
            &["amoc_actors", "http", "request"],
            &[("duration", 20e9)],
            &[],
        ),
    ]);
    let text = store.render();
    assert!(
        text.contains("amoc_http_requests_total{status=\"200\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("amoc_http_requests_total{status=\"0\"} 1\n"),
        "{text}"
    );
    // 50 µs falls in the first bucket (100 µs); 3 s under 5 s; 20 s only in +Inf.
    assert!(
        text.contains("amoc_http_request_duration_seconds_bucket{le=\"0.0001\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("amoc_http_request_duration_seconds_bucket{le=\"2.5\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("amoc_http_request_duration_seconds_bucket{le=\"5.0\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("amoc_http_request_duration_seconds_bucket{le=\"10.0\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("amoc_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("amoc_http_request_duration_seconds_count 3\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn throttle_coordinator_config_and_user_events_have_their_series() {
    let name = [("name", "logins")];
    let store = store_with(vec![
        event(&["amoc", "throttle", "request"], &[("count", 1.0)], &name),
        event(&["amoc", "throttle", "request"], &[("count", 1.0)], &name),
        event(&["amoc", "throttle", "execute"], &[("count", 1.0)], &name),
        event(
            &["amoc", "throttle", "rate"],
            &[("rate", 600.0), ("interval", 60_000.0)],
            &name,
        ),
        event(
            &["amoc", "throttle", "rate"],
            &[("rate", f64::INFINITY)],
            &[("name", "open")],
        ),
        event(
            &["amoc", "coordinator", "add"],
            &[("count", 1.0)],
            &[("name", "pairs")],
        ),
        event(
            &["amoc", "coordinator", "execute"],
            &[("count", 2.0)],
            &[("name", "pairs"), ("event", "coordinate")],
        ),
        event(&["amoc", "config", "env"], &[("error", 1.0)], &[]),
        event(
            &["amoc", "scenario", "start", "start"],
            &[],
            &[("scenario", "s")],
        ),
        event(
            &["amoc", "scenario", "start", "exception"],
            &[("duration", 1e6)],
            &[("scenario", "s")],
        ),
        event(
            &["telemetry", "handler", "dropped"],
            &[("count", 5.0)],
            &[("handler_id", "slow")],
        ),
    ]);
    let text = store.render();
    for line in [
        "amoc_throttle_requests_total{name=\"logins\"} 2",
        "amoc_throttle_executes_total{name=\"logins\"} 1",
        "amoc_throttle_rate{name=\"logins\"} 600.0",
        "amoc_throttle_interval_seconds{name=\"logins\"} 60.0",
        // prometheus-client writes +∞ as `inf`, which Prometheus parses.
        "amoc_throttle_rate{name=\"open\"} inf",
        "amoc_coordinator_events_total{name=\"pairs\",kind=\"add\"} 1",
        "amoc_coordinator_groups_total{name=\"pairs\",event=\"coordinate\"} 1",
        "amoc_coordinator_grouped_users_total{name=\"pairs\",event=\"coordinate\"} 2",
        "amoc_config_errors_total{kind=\"env\"} 1",
        "amoc_user_starts_total{scenario=\"s\"} 1",
        "amoc_user_ends_total{scenario=\"s\",outcome=\"exception\"} 1",
        "amoc_scenario_duration_seconds_count{phase=\"start\",outcome=\"exception\"} 1",
        "amoc_telemetry_dropped_total{handler=\"slow\"} 5",
    ] {
        assert!(text.contains(&format!("{line}\n")), "{line} in {text}");
    }
}

#[test]
fn label_values_are_escaped() {
    let store = store_with(vec![event(
        &["amoc", "throttle", "request"],
        &[("count", 1.0)],
        &[("name", "a\"b\\c\nd")],
    )]);
    let text = store.render();
    assert!(text.contains("name=\"a\\\"b\\\\c\\nd\""), "{text}");
}

#[test]
fn the_text_format_names_counters_with_total_and_drops_openmetrics_lines() {
    let om = "# HELP x_seconds Help.\n# TYPE x_seconds histogram\n# UNIT x_seconds seconds\n\
              x_seconds_count 1\n# HELP reqs Requests.\n# TYPE reqs counter\nreqs_total 3\n# EOF\n";
    assert_eq!(
        to_text_format(om),
        "# HELP x_seconds Help.\n# TYPE x_seconds histogram\nx_seconds_count 1\n\
         # HELP reqs_total Requests.\n# TYPE reqs_total counter\nreqs_total 3\n"
    );
}
