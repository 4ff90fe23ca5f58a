//! A cluster-wide throttle across real processes: a `nats-server`, a master and three workers
//! (this test binary re-run as a `Runner` of the `throttle_probe` scenario, so every node has
//! the same build), users on every worker waiting on one throttle of 10 000/s, then 100 000/s. Each worker
//! logs its grants on `CLOCK_MONOTONIC` (shared by the processes of one host); merged, no
//! window of one interval holds more than the rate, and nearly all of it is achieved.

mod cluster_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use amoc::throttle::max_in_window;
use amoc_actors::scenarios::{monotonic_ns, ThrottleProbe};
use cluster_support::{call, cluster_name, probe, until, Nats, Proc};
use serde_json::json;

/// The variable that makes [`probe_node`] a node process, with its command line.
const NODE_ARGS: &str = "CLUSTER_THROTTLE_NODE_ARGS";

/// Not a test of its own: the node processes of the other tests (does nothing otherwise).
#[test]
fn probe_node() {
    probe::run_node_if_asked(NODE_ARGS, || {
        amoc_actors::Runner::new().scenario(ThrottleProbe)
    });
}

fn node(cluster: &str, args: &str) -> Proc {
    probe::node(cluster, "probe_node", NODE_ARGS, args)
}

fn master(nats: &Nats, cluster: &str) -> (Proc, SocketAddr) {
    probe::master(nats, cluster, "probe_node", NODE_ARGS)
}

/// `least`: the fraction of the rate that must be achieved (the window bound is exact).
fn run_at(rate: u64, users: u64, least: f64) {
    // One cluster at a time: four processes each on a 2-core CI machine.
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let nats = Nats::start();
    let cluster = cluster_name("throttle");
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
    let prefix = dir.join("grants");
    let start = json!({"scenario": "throttle_probe", "users": users,
        "settings": {"user_rate": "infinity", "probe_rate": rate,
                     "probe_log": prefix.to_string_lossy()}});
    let (code, r) = call(api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");
    std::thread::sleep(Duration::from_secs(4));
    let (code, r) = call(api, "PATCH", "/execution/stop", None);
    assert_eq!(code, 200, "{r}");
    for n in names {
        until(api, &format!("/status/{n}"), |s| {
            s["controller"]["status"] == "finished"
        });
    }
    let logs = probe::times(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(logs.len(), names.len(), "one log per worker");
    // The span every node was granting in, after a second of start-up.
    let from = logs
        .iter()
        .filter_map(|l| l.first())
        .max()
        .copied()
        .unwrap()
        + 1_000_000_000;
    let to = logs.iter().filter_map(|l| l.last()).min().copied().unwrap() - 200_000_000;
    assert!(
        to > from + 2_000_000_000,
        "the nodes granted together for too short a time"
    );
    let mut all: Vec<u64> = logs.concat();
    all.sort_unstable();
    let most = max_in_window(&all, 1_000_000_000);
    let granted = all.iter().filter(|t| **t >= from && **t < to).count() as f64;
    let achieved = granted * 1e9 / (to - from) as f64;
    println!("rate {rate}/s: achieved {achieved:.0}/s, at most {most} in one second");
    assert!(most <= rate, "{most} grants in one interval, rate {rate}");
    // ≥ 99 % on a quiet machine; tolerant on a busy 2-core CI.
    assert!(
        achieved >= rate as f64 * least,
        "achieved {achieved:.0}/s of {rate}/s, less than {least} of it"
    );
}

#[test]
fn three_workers_share_10_000_per_s_and_never_exceed_it() {
    run_at(10_000, 90, 0.95);
}

#[test]
fn three_workers_share_100_000_per_s_and_never_exceed_it() {
    // A debug build at 100 000/s is CPU-bound on a busy 2-core machine (89.7 % seen there).
    run_at(100_000, 300, 0.8);
}

/// A worker frozen (SIGSTOP) past its lease, then woken: it must not grant on the share it
/// held before the freeze (the master gave that share to the other worker meanwhile), from
/// waking until it has rejoined; merged, no window holds more than the rate.
#[test]
fn a_woken_worker_never_grants_on_its_lapsed_lease() {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let rate = 1_000;
    let nats = Nats::start();
    let cluster = cluster_name("throttle-freeze");
    let (mut m, api) = master(&nats, &cluster);
    let mut w1 = node(
        &cluster,
        &format!("worker --name w1 --cluster {} --shards 1", nats.url),
    );
    let mut w2 = node(
        &cluster,
        &format!("worker --name w2 --cluster {} --shards 1", nats.url),
    );
    for (n, w) in [("w1", &mut w1), ("w2", &mut w2)] {
        m.line(&format!("node {n} connected"));
        w.line("joined cluster");
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("amoc-{cluster}"));
    std::fs::create_dir_all(&dir).expect("a log directory");
    let prefix = dir.join("grants");
    let start = json!({"scenario": "throttle_probe", "users": 60,
        "settings": {"user_rate": "infinity", "probe_rate": rate,
                     "probe_log": prefix.to_string_lossy()}});
    let (code, r) = call(api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");
    std::thread::sleep(Duration::from_secs(2));
    w2.signal("STOP");
    let frozen = monotonic_ns(tokio::time::Instant::now());
    m.line("node w2 down");
    // Past the lease (5 s) + interval + heartbeat since w2's last renewal: w1 has it all.
    std::thread::sleep(Duration::from_secs(3));
    w2.signal("CONT");
    w2.line("master lost");
    w2.line("joined cluster");
    let rejoined = monotonic_ns(tokio::time::Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (code, r) = call(api, "PATCH", "/execution/stop", None);
    assert_eq!(code, 200, "{r}");
    for n in ["w1", "w2"] {
        until(api, &format!("/status/{n}"), |s| {
            s["controller"]["status"] == "finished"
        });
    }
    let w2_log = dir.join(format!("grants.{}", w2.child.id()));
    let mut w2_grants: Vec<u64> = std::fs::read(&w2_log)
        .expect("w2's log")
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    w2_grants.sort_unstable();
    let logs = probe::times(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let stale: Vec<u64> = w2_grants
        .iter()
        .filter(|t| **t > frozen && **t < rejoined)
        .map(|t| (t - frozen) / 1_000_000)
        .collect();
    assert!(
        stale.is_empty(),
        "w2 granted {} permits between its freeze and its rejoin (ms after the freeze: {:?})",
        stale.len(),
        &stale[..stale.len().min(10)]
    );
    let mut all: Vec<u64> = logs.concat();
    all.sort_unstable();
    let most = max_in_window(&all, 1_000_000_000);
    assert!(most <= rate, "{most} grants in one interval, rate {rate}");
}
