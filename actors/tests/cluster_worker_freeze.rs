//! A frozen worker (SIGSTOP) is marked down by heartbeat count; woken (SIGCONT), it finds its
//! lease on the master lapsed, stops its run, and joins again cleanly (real processes on a
//! real `nats-server`, loopback only).

mod cluster_support;

use cluster_support::{call, cluster_name, master, worker, Nats};
use serde_json::json;

#[test]
fn a_frozen_worker_is_marked_down_stops_on_waking_and_rejoins() {
    let nats = Nats::start();
    let cluster = cluster_name("worker-freeze");
    let mut m = master(&nats, &cluster);
    let mut w1 = worker(&nats, &cluster, "w1");
    let mut w2 = worker(&nats, &cluster, "w2");
    w1.line("joined cluster");
    w2.line("joined cluster");
    let start = json!({"scenario": "http", "users": 4,
        "settings": {"url": m.target, "user_rate": "infinity", "request_rate": 20}});
    let (code, r) = call(m.api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");

    w2.signal("STOP");
    m.proc.line("node w2 down: silent for 5 heartbeats");
    w2.signal("CONT");
    w2.line("master lost");
    w2.line("run stopped: 0 users live");
    w2.line("joined cluster");
    m.proc.line("node w2 connected again");
    // It joined the run going on: the next add gives it users again.
    let (code, s) = call(m.api, "GET", "/status/w2", None);
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["controller"]["status"], "running", "{s}");
    let (code, r) = call(
        m.api,
        "PATCH",
        "/execution/add_users",
        Some(json!({"users": 2})),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["nodes"]["w1"], json!({"first": 5, "last": 5}), "{r}");
    assert_eq!(r["nodes"]["w2"], json!({"first": 6, "last": 6}), "{r}");
    assert!(w1.alive());
}
