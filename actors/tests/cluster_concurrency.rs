//! A cluster-wide concurrency throttle across real processes: a `nats-server`, a master and
//! three workers (this test binary re-run as a `Runner` of the `slot_probe` scenario, so every
//! node has the same build), users on every worker holding slots of one `concurrency(10)`
//! throttle, many more users than slots. Each worker logs its holds on `CLOCK_MONOTONIC`
//! (shared by the processes of one host); merged, no instant has more than 10 slots held over
//! the cluster, and nearly all 10 are busy on average.

mod cluster_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use amoc_actors::scenarios::SlotProbe;
use cluster_support::{call, cluster_name, probe, until, Nats, Proc};
use serde_json::json;

/// The variable that makes [`slot_node`] a node process, with its command line.
const NODE_ARGS: &str = "CLUSTER_CONCURRENCY_NODE_ARGS";
const LIMIT: u64 = 10;

/// Not a test of its own: the node processes of the other tests (does nothing otherwise).
#[test]
fn slot_node() {
    probe::run_node_if_asked(NODE_ARGS, || amoc_actors::Runner::new().scenario(SlotProbe));
}

fn node(cluster: &str, args: &str) -> Proc {
    probe::node(cluster, "slot_node", NODE_ARGS, args)
}

fn master(nats: &Nats, cluster: &str) -> (Proc, SocketAddr) {
    probe::master(nats, cluster, "slot_node", NODE_ARGS)
}

/// Every hold (start, end in ns) of the logs in `dir`, per file.
fn hold_logs(dir: &Path) -> Vec<Vec<(u64, u64)>> {
    probe::records::<2>(dir)
        .into_iter()
        .map(|log| log.into_iter().map(|[start, end]| (start, end)).collect())
        .collect()
}

/// The most holds overlapping at any instant (a hold ending when another starts counts as
/// overlapping: the bound is checked conservatively).
fn most_at_once(holds: &[(u64, u64)]) -> u64 {
    let mut edges: Vec<(u64, i64)> = holds
        .iter()
        .flat_map(|(s, e)| [(*s, 1), (*e, -1)])
        .collect();
    // Starts before ends at the same instant.
    edges.sort_unstable_by_key(|(t, d)| (*t, -*d));
    let (mut now, mut most) = (0i64, 0i64);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as u64
}

/// Slots busy on average in `[from, to)`.
fn busy(holds: &[(u64, u64)], from: u64, to: u64) -> f64 {
    let held: u64 = holds
        .iter()
        .map(|(s, e)| (*e).min(to).saturating_sub((*s).max(from)))
        .sum();
    held as f64 / (to - from) as f64
}

#[test]
fn three_workers_share_10_slots_and_never_hold_more() {
    let nats = Nats::start();
    let cluster = cluster_name("slots");
    let (mut m, api) = master(&nats, &cluster);
    let names = ["w1", "w2", "w3"];
    let mut workers: Vec<Proc> = names
        .iter()
        .map(|n| {
            let args = format!("worker --name {n} --cluster {} --shards 1", nats.url);
            node(&cluster, &args)
        })
        .collect();
    for (n, w) in names.iter().zip(&mut workers) {
        m.line(&format!("node {n} connected"));
        w.line("joined cluster");
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("amoc-{cluster}"));
    std::fs::create_dir_all(&dir).expect("a log directory");
    let prefix = dir.join("holds");
    let start = json!({"scenario": "slot_probe", "users": 60,
        "settings": {"user_rate": "infinity", "slot_limit": LIMIT, "slot_hold_ms": 50,
                     "slot_log": prefix.to_string_lossy()}});
    let (code, r) = call(api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");
    std::thread::sleep(Duration::from_secs(5));
    let (code, r) = call(api, "PATCH", "/execution/stop", None);
    assert_eq!(code, 200, "{r}");
    for n in names {
        until(api, &format!("/status/{n}"), |s| {
            s["controller"]["status"] == "finished"
        });
    }
    let logs = hold_logs(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(logs.len(), names.len(), "one log per worker");
    let all: Vec<(u64, u64)> = logs.concat();
    let most = most_at_once(&all);
    // The span every node was holding slots in, after a second of start-up.
    let first = |l: &Vec<(u64, u64)>| l.iter().map(|h| h.0).min();
    let last = |l: &Vec<(u64, u64)>| l.iter().map(|h| h.1).max();
    let from = logs.iter().filter_map(first).max().unwrap() + 1_000_000_000;
    let to = logs.iter().filter_map(last).min().unwrap() - 200_000_000;
    assert!(
        to > from + 2_000_000_000,
        "the nodes held slots together for too short a time"
    );
    let busy = busy(&all, from, to);
    println!("concurrency {LIMIT}: {busy:.2} busy on average, at most {most} at once");
    assert!(most <= LIMIT, "{most} slots held at once, limit {LIMIT}");
    // All 10 on a quiet machine; tolerant on a busy 2-core CI.
    assert!(busy >= 8.5, "{busy:.2} of {LIMIT} slots busy on average");
}
