//! Rates too low to split stay home on the master, across real processes: a `nats-server`,
//! a master and three workers (this test binary re-run as a `Runner` of the
//! `throttle_probe` scenario). A throttle of 20/s cluster-wide: merged on `CLOCK_MONOTONIC`,
//! no second holds more than 20 grants, nearly all of the rate is achieved, and successive
//! grants cluster-wide are spaced near 50 ms (split shares bunch them: each node spaces its
//! own 6–7/s). And `user_rate` is the run's, not each node's: 600/min over three workers
//! starts 10 users per second cluster-wide, not 30.

mod cluster_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use amoc::throttle::max_in_window;
use amoc_actors::scenarios::ThrottleProbe;
use cluster_support::{call, cluster_name, probe, until, Nats, Proc};
use serde_json::{json, Value};

/// The variable that makes [`home_probe_node`] a node process, with its command line.
const NODE_ARGS: &str = "CLUSTER_HOME_THROTTLE_NODE_ARGS";

/// Not a test of its own: the node processes of the other tests (does nothing otherwise).
#[test]
fn home_probe_node() {
    probe::run_node_if_asked(NODE_ARGS, || {
        amoc_actors::Runner::new().scenario(ThrottleProbe)
    });
}

fn node(cluster: &str, args: &str) -> Proc {
    probe::node(cluster, "home_probe_node", NODE_ARGS, args)
}

const NAMES: [&str; 3] = ["w1", "w2", "w3"];

/// A master and three joined workers on a server of their own.
struct Cluster {
    _nats: Nats,
    _master: Proc,
    _workers: Vec<Proc>,
    api: SocketAddr,
}

fn cluster(test: &str) -> Cluster {
    let nats = Nats::start();
    let cluster = cluster_name(test);
    let (mut m, api) = probe::master(&nats, &cluster, "home_probe_node", NODE_ARGS);
    let mut workers: Vec<Proc> = NAMES
        .iter()
        .map(|n| {
            let args = format!("worker --name {n} --cluster {} --shards 1", nats.url);
            node(&cluster, &args)
        })
        .collect();
    for (n, w) in NAMES.iter().zip(&mut workers) {
        m.line(&format!("node {n} connected"));
        w.line("joined cluster");
    }
    Cluster {
        _nats: nats,
        _master: m,
        _workers: workers,
        api,
    }
}

impl Cluster {
    fn start(&self, users: u64, settings: Value) {
        let start = json!({"scenario": "throttle_probe", "users": users, "settings": settings});
        let (code, r) = call(self.api, "PATCH", "/execution/start", Some(start));
        assert_eq!(code, 200, "{r}");
    }

    fn stop(&self) {
        let (code, r) = call(self.api, "PATCH", "/execution/stop", None);
        assert_eq!(code, 200, "{r}");
        for n in NAMES {
            until(self.api, &format!("/status/{n}"), |s| {
                s["controller"]["status"] == "finished"
            });
        }
    }
}

/// One cluster at a time: four processes each on a 2-core CI machine.
static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn three_workers_at_20_per_s_get_evenly_spaced_grants_from_the_master() {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let c = cluster("home");
    let dir: PathBuf = std::env::temp_dir().join(format!("amoc-{}", cluster_name("home-log")));
    std::fs::create_dir_all(&dir).expect("a log directory");
    let prefix = dir.join("grants");
    let rate = 20;
    c.start(
        30,
        json!({"user_rate": "infinity", "probe_rate": rate,
               "probe_log": prefix.to_string_lossy()}),
    );
    std::thread::sleep(Duration::from_secs(7));
    c.stop();
    let logs = probe::times(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(logs.len(), NAMES.len(), "one log per worker");
    assert!(logs.iter().all(|l| !l.is_empty()), "every worker granted");
    let mut all: Vec<u64> = logs.concat();
    all.sort_unstable();
    // After a second of start-up, up to the last grant of the slowest-to-stop node.
    let from = all[0] + 1_000_000_000;
    let to = logs.iter().filter_map(|l| l.last()).min().copied().unwrap();
    assert!(
        to > from + 3_000_000_000,
        "the nodes granted for too short a time"
    );
    let span: Vec<u64> = all
        .iter()
        .copied()
        .filter(|t| *t >= from && *t < to)
        .collect();
    let achieved = span.len() as f64 * 1e9 / (to - from) as f64;
    let most = max_in_window(&all, 1_000_000_000);
    let gap = span
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or(u64::MAX);
    println!(
        "20/s over 3 workers: achieved {achieved:.2}/s, at most {most} in one second, \
         min gap {:.1} ms",
        gap as f64 / 1e6
    );
    assert!(most <= rate, "{most} grants in one second, rate {rate}");
    assert!(
        achieved >= rate as f64 * 0.9,
        "achieved {achieved:.2}/s of {rate}/s"
    );
    // Even spacing is 50 ms; split shares give gaps near 0. Tolerant: busy CI machines
    // delay some answers.
    assert!(gap >= 25_000_000, "grants {gap} ns apart cluster-wide");
}

/// Users started cluster-wide (`running` + ended), from the master's merged status.
fn started(api: SocketAddr) -> u64 {
    let (_, s) = call(api, "GET", "/status", None);
    let u = &s["controller"]["users"];
    ["running", "stopping", "ended", "crashed", "killed"]
        .iter()
        .map(|k| u[k].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn user_rate_is_the_runs_not_each_workers() {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let c = cluster("user-rate");
    // 600 per minute: 10 users per second over the whole cluster.
    c.start(300, json!({"user_rate": 600, "probe_rate": 1000}));
    let first = until(c.api, "/status", |s| {
        s["controller"]["users"]["running"].as_u64().unwrap_or(0) >= 10
    });
    let t0 = Instant::now();
    let n0 = started(c.api);
    assert!(
        first["controller"]["users"]["waiting"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    std::thread::sleep(Duration::from_secs(8));
    let n1 = started(c.api);
    let per_s = (n1 - n0) as f64 / t0.elapsed().as_secs_f64();
    println!("user_rate 600/min over 3 workers: {per_s:.2} users started per second");
    // Statuses are up to a heartbeat (1 s) old at either end: ±2 s of 10/s over 8 s.
    assert!(
        per_s <= 14.0,
        "{per_s:.2} users/s: each worker paces on its own"
    );
    assert!(per_s >= 7.0, "{per_s:.2} users/s of 10");
    c.stop();
}
