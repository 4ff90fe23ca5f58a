//! A master and two workers as real processes on a real `nats-server` (loopback only): id
//! blocks per node, `connect_nodes`, per-node setting errors; a SIGKILLed worker is marked
//! down within a few hundred milliseconds (the master's ping meets no-responders), its users
//! counted killed, and the next add skips it; a late joiner gets the run at once and users
//! from the next add.

mod cluster_support;

use std::time::{Duration, Instant};

use cluster_support::{call, events_total, until, worker, Cluster, Nats};
use serde_json::json;

#[test]
fn ids_go_out_per_node_and_a_killed_worker_is_marked_down_and_skipped() {
    let mut c = Cluster::start(Nats::start(), "worker-loss", &["w1", "w2"]);
    let api = c.m.api;
    let (code, nodes) = call(api, "GET", "/nodes", None);
    assert_eq!(code, 200);
    assert_eq!(nodes["nodes"], json!({"w1": "up", "w2": "up"}), "{nodes}");

    let r = c.start_http(10);
    assert_eq!(r["users"]["w1"], json!({"first": 1, "last": 5}), "{r}");
    assert_eq!(r["users"]["w2"], json!({"first": 6, "last": 10}), "{r}");
    let (code, r) = c.add(5);
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["nodes"]["w1"], json!({"first": 11, "last": 12}), "{r}");
    assert_eq!(r["nodes"]["w2"], json!({"first": 13, "last": 15}), "{r}");
    let (code, r) = c.add(1);
    assert_eq!(code, 200, "{r}");
    assert_eq!(
        r["nodes"],
        json!({"w1": "skipped", "w2": {"first": 16, "last": 16}})
    );

    let (code, s) = call(api, "GET", "/status/w2", None);
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["controller"]["status"], "running", "{s}");
    assert_eq!(s["controller"]["highest_user_id"], 16, "{s}");
    let (code, _) = call(api, "GET", "/status/w9", None);
    assert_eq!(code, 404);

    // Settings go to every node; each node's refusal comes back typed.
    let bad = json!({"settings": {"no_such_parameter": 1}});
    let (code, r) = call(api, "PATCH", "/execution/update_settings", Some(bad));
    assert_eq!(code, 502, "{r}");
    assert_eq!(r["nodes"]["w1"]["error"], "refused", "{r}");
    assert_eq!(r["nodes"]["w2"]["error"], "refused", "{r}");

    // The telemetry event of each join reached the master's metrics.
    until(api, "/status", |_| {
        events_total(api, "amoc.cluster.connect_nodes") == 2
    });
    // Wait until w2's heartbeats carried its 9 running users, then kill it: the next ping
    // meets no-responders (confirmed by three more), well before 5 missed heartbeats.
    until(api, "/status", |s| {
        s["nodes"]["w2"]["users"]["running"] == 9
    });
    let w2 = c.workers.pop().expect("w2");
    let killed_at = Instant::now();
    w2.signal("KILL");
    c.m.proc.line("node w2 down: no responders");
    let took = killed_at.elapsed();
    assert!(took < Duration::from_secs(3), "nodedown took {took:?}");
    let (_, s) = call(api, "GET", "/status", None);
    assert_eq!(s["nodes"]["w2"]["state"], "down", "{s}");
    assert_eq!(s["controller"]["users"]["killed"], 9, "{s}");
    let (code, r) = c.add(2);
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["nodes"], json!({"w1": {"first": 17, "last": 18}}), "{r}");
    let (_, nodes) = call(api, "GET", "/nodes", None);
    assert_eq!(nodes["nodes"], json!({"w1": "up", "w2": "down"}), "{nodes}");
    until(api, "/status", |_| {
        events_total(api, "amoc.cluster.nodedown") == 1
    });

    // A late joiner runs the scenario at once and gets users from the next add.
    let mut w3 = worker(&c.nats, &c.name, "w3");
    c.m.proc.line("node w3 connected");
    until(api, "/status/w3", |s| {
        s["controller"]["status"] == "running"
    });
    let (code, r) = c.add(2);
    assert_eq!(code, 200, "{r}");
    let blocks = json!({"w1": {"first": 19, "last": 19}, "w3": {"first": 20, "last": 20}});
    assert_eq!(r["nodes"], blocks, "{r}");
    assert!(c.workers[0].alive() && w3.alive());
}
