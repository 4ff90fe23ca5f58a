//! Real processes on a real `nats-server` (loopback only): when the master is SIGKILLed, its
//! workers emit `master_node_down`, stop their users and stay up; a new master then gets
//! them and runs the next test.

mod cluster_support;

use cluster_support::{call, cluster_name, master, worker, Nats};
use serde_json::json;

#[test]
fn workers_outlive_a_killed_master_and_serve_the_next_one() {
    let nats = Nats::start();
    let cluster = cluster_name("master-loss");
    let m = master(&nats, &cluster);
    let mut w1 = worker(&nats, &cluster, "w1");
    let mut w2 = worker(&nats, &cluster, "w2");
    w1.line("joined cluster");
    w2.line("joined cluster");
    let start = json!({"scenario": "http", "users": 4,
        "settings": {"url": m.target, "user_rate": "infinity", "request_rate": 20}});
    let (code, r) = call(m.api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");

    m.proc.signal("KILL");
    for w in [&mut w1, &mut w2] {
        w.line("master lost");
        w.line("run stopped: 0 users live");
        assert!(w.alive(), "a worker stays up without a master");
    }

    // The embedded target died with the master: the next run gets a new one.
    let mut m2 = master(&nats, &cluster);
    m2.proc.line("node w1 connected");
    m2.proc.line("node w2 connected");
    let start = json!({"scenario": "http", "users": 2,
        "settings": {"url": m2.target, "user_rate": "infinity", "request_rate": 20}});
    let (code, r) = call(m2.api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["users"]["w1"], json!({"first": 1, "last": 1}), "{r}");
    assert_eq!(r["users"]["w2"], json!({"first": 2, "last": 2}), "{r}");
}
