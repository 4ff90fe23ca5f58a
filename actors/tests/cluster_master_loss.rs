//! Real processes on a real `nats-server` (loopback only): when the master is SIGKILLed, its
//! workers emit `master_node_down`, stop their users and stay up; a new master then gets
//! them and runs the next test.

mod cluster_support;

use cluster_support::{call, master, Cluster, Nats};
use serde_json::json;

#[test]
fn workers_outlive_a_killed_master_and_serve_the_next_one() {
    let mut c = Cluster::start(Nats::start(), "master-loss", &["w1", "w2"]);
    c.start_http(4);

    c.m.proc.signal("KILL");
    for w in &mut c.workers {
        w.line("master lost");
        w.line("run stopped: 0 users live");
        assert!(w.alive(), "a worker stays up without a master");
    }

    // The embedded target died with the master: the next run gets a new one.
    let mut m2 = master(&c.nats, &c.name);
    m2.proc.line("node w1 connected");
    m2.proc.line("node w2 connected");
    let start = json!({"scenario": "http", "users": 2,
        "settings": {"url": m2.target, "user_rate": "infinity", "request_rate": 20}});
    let (code, r) = call(m2.api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["users"]["w1"], json!({"first": 1, "last": 1}), "{r}");
    assert_eq!(r["users"]["w2"], json!({"first": 2, "last": 2}), "{r}");
}
