//! A frozen worker (SIGSTOP) is marked down by heartbeat count; woken (SIGCONT), it finds its
//! lease on the master lapsed, stops its run, and joins again cleanly (real processes on a
//! real `nats-server`, loopback only).

mod cluster_support;

use cluster_support::{call, Cluster, Nats};
use serde_json::json;

#[test]
fn a_frozen_worker_is_marked_down_stops_on_waking_and_rejoins() {
    let mut c = Cluster::start(Nats::start(), "worker-freeze", &["w1", "w2"]);
    c.start_http(4);

    let w2 = &mut c.workers[1];
    w2.signal("STOP");
    c.m.proc.line("node w2 down: silent for 5 heartbeats");
    w2.signal("CONT");
    w2.line("master lost");
    w2.line("run stopped: 0 users live");
    w2.line("joined cluster");
    c.m.proc.line("node w2 connected again");
    // It joined the run going on: the next add gives it users again.
    let (code, s) = call(c.m.api, "GET", "/status/w2", None);
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["controller"]["status"], "running", "{s}");
    let (code, r) = c.add(2);
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["nodes"]["w1"], json!({"first": 5, "last": 5}), "{r}");
    assert_eq!(r["nodes"]["w2"], json!({"first": 6, "last": 6}), "{r}");
    assert!(c.workers[0].alive());
}
