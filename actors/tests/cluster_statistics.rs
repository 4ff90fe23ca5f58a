//! The master's numbers are the cluster's: real processes (a `nats-server`, a master, two
//! workers serving their own `/metrics`) load a target that logs every request it saw; the
//! master's report counts exactly what the target saw and what the workers' metrics sum to.

mod cluster_support;
mod ground_truth;

use cluster_support::{
    call, call_text, cluster_name, http_addr, master, series_sum, until, worker_with, Nats,
};
use ground_truth::{Behaviour, GroundTruth};
use serde_json::json;

#[test]
fn the_masters_report_sums_the_workers_and_matches_the_ground_truth() {
    let target = GroundTruth::start(Behaviour {
        error_every: Some(7),
        ..Behaviour::default()
    });
    let nats = Nats::start();
    let cluster = cluster_name("statistics");
    let mut m = master(&nats, &cluster);
    let mut metrics = Vec::new();
    let mut workers = Vec::new();
    for name in ["w1", "w2"] {
        let mut w = worker_with(&nats, &cluster, name, &["--metrics", "127.0.0.1:0"]);
        metrics.push((name, http_addr(&w.line(&format!("metrics of {name} on")))));
        w.line("joined cluster");
        m.proc.line(&format!("node {name} connected"));
        workers.push(w);
    }
    let start = json!({"scenario": "http", "users": 4,
        "settings": {"url": target.url(), "user_rate": "infinity", "request_rate": 50}});
    let (code, r) = call(m.api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");
    // A progress line on the master: it merged the workers' statistics while they ran.
    m.proc.line("req/s");
    until(m.api, "/status", |_| target.seen().len() > 150);
    let (code, r) = call(m.api, "PATCH", "/execution/stop", Some(json!({})));
    assert_eq!(code, 200, "{r}");
    m.proc.line("== amoc summary: scenario http");
    let requests = m.proc.line("requests    total");

    let (code, report) = call(m.api, "GET", "/report", None);
    assert_eq!(code, 200, "{report}");
    let total = report["totals"]["count"].as_u64().expect("a count");
    // Each worker's `init` probes the target once: not a counted request.
    let seen = target.seen().len() as u64 - 2;
    assert_eq!(total, seen, "the master's total is what the target saw");
    assert!(requests.contains(&total.to_string()), "{requests}");
    let failed = report["totals"]["failed"].as_u64().unwrap_or(0);
    assert!(failed > 0 && failed < total, "{report}");

    let mut by_node = 0;
    for (name, addr) in &metrics {
        let (code, text) = call_text(*addr, "GET", "/metrics", None);
        assert_eq!(code, 200);
        let n = series_sum(
            &text,
            "amoc_http_requests_total",
            &format!("node=\"{name}\""),
        );
        assert!(n > 0, "{name} made requests:\n{text}");
        by_node += n;
    }
    assert_eq!(by_node, total, "the master's total is the workers' sum");
    let (_, text) = call_text(m.api, "GET", "/metrics", None);
    assert!(text.contains("node=\"master\""), "{text}");
}
