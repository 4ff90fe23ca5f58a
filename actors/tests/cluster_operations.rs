//! Operating a cluster (real processes, loopback only): the master's own controller is
//! disabled, `AMOC_NODES` shows the expected workers not joined yet, and a run survives the
//! loss of one NATS server of three routed ones (its clients reconnect; nobody is marked
//! down).

mod cluster_support;

use cluster_support::{call, events_total, master_with, worker, Cluster, Nats};
use serde_json::json;

#[test]
fn the_master_runs_no_users_and_shows_the_nodes_it_expects() {
    let nats = Nats::start();
    let cluster = cluster_support::cluster_name("operations");
    let mut m = master_with(&nats, &cluster, &[("AMOC_NODES", r#"["w1","w9"]"#)]);
    m.proc.line("expecting nodes w1, w9 (AMOC_NODES)");
    let mut w1 = worker(&nats, &cluster, "w1");
    w1.line("joined cluster");
    m.proc.line("node w1 connected");
    let (code, nodes) = call(m.api, "GET", "/nodes", None);
    assert_eq!(code, 200);
    assert_eq!(
        nodes["nodes"],
        json!({"w1": "up", "w9": "connecting"}),
        "{nodes}"
    );
    let (_, s) = call(m.api, "GET", "/status", None);
    assert_eq!(s["local_controller"]["status"], "disabled", "{s}");
    let (code, r) = call(m.api, "PATCH", "/execution/reset", None);
    assert_eq!(code, 409, "{r}");
    assert!(
        r["error"].as_str().unwrap_or("").contains("disabled"),
        "{r}"
    );
}

#[test]
fn a_run_outlives_one_of_three_nats_servers() {
    let mut c = Cluster::start(Nats::routed(3), "nats-ha", &["w1", "w2"]);
    c.start_http(4);
    let api = c.m.api;
    let victim = c.nats.server_of("amoc worker w1");
    c.nats.kill(victim);
    // w1 reconnects to a server still up; the run goes on with both workers.
    let now = c.nats.server_of("amoc worker w1");
    assert_ne!(now, victim);
    let (code, r) = c.add(2);
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["nodes"]["w1"], json!({"first": 5, "last": 5}), "{r}");
    assert_eq!(r["nodes"]["w2"], json!({"first": 6, "last": 6}), "{r}");
    let (_, nodes) = call(api, "GET", "/nodes", None);
    assert_eq!(nodes["nodes"], json!({"w1": "up", "w2": "up"}), "{nodes}");
    assert_eq!(events_total(api, "amoc.cluster.nodedown"), 0);
}
