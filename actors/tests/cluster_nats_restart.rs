//! A NATS server restart shorter than the lease is ridden out: every node reconnects, no
//! worker is marked down, and the run goes on (real processes on one real `nats-server`,
//! killed and started again on its port).

mod cluster_support;

use std::time::Duration;

use cluster_support::{call, events_total, Cluster, Nats};
use serde_json::json;

#[test]
fn a_run_rides_out_a_nats_server_restart() {
    let mut c = Cluster::start(Nats::start(), "nats-restart", &["w1", "w2"]);
    c.start_http(4);
    let api = c.m.api;
    c.nats.kill(0);
    // An outage of a second: longer than a ping round, shorter than the 5 s lease.
    std::thread::sleep(Duration::from_secs(1));
    c.nats.restart(0);
    // The master and both workers are connected again.
    c.nats
        .monitor_until(0, "/connz", |v| v["num_connections"].as_u64() == Some(3));
    let (code, r) = c.add(2);
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["nodes"]["w1"], json!({"first": 5, "last": 5}), "{r}");
    assert_eq!(r["nodes"]["w2"], json!({"first": 6, "last": 6}), "{r}");
    let (_, nodes) = call(api, "GET", "/nodes", None);
    assert_eq!(nodes["nodes"], json!({"w1": "up", "w2": "up"}), "{nodes}");
    assert_eq!(events_total(api, "amoc.cluster.nodedown"), 0);
    assert_eq!(events_total(api, "amoc.cluster.master_node_down"), 0);
    for w in &mut c.workers {
        assert!(w.alive());
    }
}
