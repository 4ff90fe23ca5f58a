//! Cluster-wide throttles over the in-memory transport: a master and two workers, each worker
//! running the same throttle with waiting users. Every grant of every node is logged with its
//! `granted_at`; merged, no window of one interval holds more than the rate (Σ shares ≤
//! rate), through start-up, demand shifts and a partitioned node whose lease lapses.
//!
//! The workers drive real apps (user shards on their own arbiter threads), so, as in
//! `cluster_agents`, these tests run on real time with short heartbeats and tolerant bounds:
//! the window bound is exact; the achieved rates only need to tell a whole share (≥ 75 %)
//! from the half a node would get if its share did not move.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amoc::app::App;
use amoc::cluster::memory::Hub;
use amoc::cluster::{ClusterConfig, Fingerprint, Master, ThrottleMaster, ThrottleWorker};
use amoc::cluster::{Worker, WorkerState};
use amoc::throttle::{Rate, ThrottleConfig, Throttles};
use common::app::builder;
use common::poll::eventually;
use common::scenarios::Idle;
use common::TIMEOUT;
use tokio::sync::watch;
use tokio::time::Instant;

const NAME: &str = "logins";
/// 200 per 100 ms: 2 000/s over the cluster.
const RATE: u64 = 200;
const INTERVAL: Duration = Duration::from_millis(100);

fn cfg() -> ClusterConfig {
    ClusterConfig {
        heartbeat: Duration::from_millis(50),
        missed_heartbeats: 10,
        lease: Duration::from_millis(500),
        request_timeout: Duration::from_secs(3),
        ..ClusterConfig::new("thr")
    }
}

fn fp() -> Fingerprint {
    Fingerprint::new(["idle"])
}

type Log = Arc<Mutex<Vec<(usize, Instant)>>>;

struct Node {
    app: App,
    worker: Worker,
    agent: ThrottleWorker,
}

async fn worker(hub: &Hub, name: &str) -> Node {
    let app = builder()
        .shards(1)
        .scenario(Idle::default())
        .start()
        .await
        .unwrap();
    let leased = app.throttles().lease_shares();
    let t = Arc::new(hub.endpoint(name));
    let c = app.controller().clone();
    let worker = Worker::start(t.clone(), cfg(), name, fp(), c, app.telemetry().clone())
        .await
        .unwrap();
    let agent = ThrottleWorker::start(t, cfg(), name, worker.instance(), worker.state(), leased)
        .await
        .unwrap();
    let mut state = worker.state();
    tokio::time::timeout(
        TIMEOUT,
        state.wait_for(|s| matches!(s, WorkerState::Member { .. })),
    )
    .await
    .expect("admitted in time")
    .unwrap();
    Node { app, worker, agent }
}

async fn master(hub: &Hub, app: &App) -> (Master, ThrottleMaster) {
    let t = Arc::new(hub.endpoint("master"));
    let m = Master::start(t.clone(), cfg(), fp(), app.telemetry().clone())
        .await
        .unwrap();
    let thr = ThrottleMaster::start(t, cfg(), m.clone()).await.unwrap();
    (m, thr)
}

/// `users` tasks waiting on `NAME` in a loop, logging each grant as node `node`, until `stop`.
fn load(throttles: &Throttles, node: usize, users: usize, log: &Log, stop: &watch::Sender<bool>) {
    for _ in 0..users {
        let (t, log, mut stop) = (throttles.clone(), log.clone(), stop.subscribe());
        actix_rt::spawn(async move {
            loop {
                tokio::select! {
                    p = t.wait(NAME) => match p {
                        Ok(p) => log.lock().unwrap().push((node, p.granted_at())),
                        Err(_) => return,
                    },
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        });
    }
}

/// The most grants in any window of length `INTERVAL` (all nodes together).
fn max_in_window(log: &Log) -> u64 {
    max_in_window_after(log, None)
}

/// The most grants in any window of length `INTERVAL` starting at a grant at or after `from`.
fn max_in_window_after(log: &Log, from: Option<Instant>) -> u64 {
    let mut times: Vec<Instant> = log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    times.sort();
    let mut j = 0;
    let mut most = 0;
    for i in 0..times.len() {
        while j < times.len() && times[j] < times[i] + INTERVAL {
            j += 1;
        }
        if from.map_or(true, |f| times[i] >= f) {
            most = most.max(j - i);
        }
    }
    most as u64
}

/// Grants of `node` (any node if `None`) in `[from, to)`.
fn grants(log: &Log, node: Option<usize>, from: Instant, to: Instant) -> u64 {
    let log = log.lock().unwrap();
    let n = log
        .iter()
        .filter(|(n, t)| node.map_or(true, |x| x == *n) && *t >= from && *t < to)
        .count();
    n as u64
}

async fn start_throttle(node: &Node) {
    let t = node.app.throttles();
    t.start(NAME, ThrottleConfig::rate_per(RATE, INTERVAL))
        .await
        .unwrap();
}

async fn shutdown(nodes: Vec<Node>, stop: &watch::Sender<bool>) {
    stop.send_replace(true);
    for n in nodes {
        n.agent.shutdown();
        n.worker.shutdown();
        n.app.shutdown().await;
    }
}

/// A master and two workers on one hub, each loading the throttle with 20 users (log tags
/// 1 and 2), once both have granted.
struct Loaded {
    hub: Hub,
    mapp: App,
    /// The master agent leasing the shares (kept for the whole test).
    _master: Master,
    thr: ThrottleMaster,
    w1: Node,
    w2: Node,
    log: Log,
    stop: watch::Sender<bool>,
}

impl Loaded {
    /// Checks the window bound over the whole run (G1) and shuts every node down.
    async fn finish(self) {
        let most = max_in_window(&self.log);
        assert!(most <= RATE, "{most} grants in one interval, rate {RATE}");
        shutdown(vec![self.w1, self.w2], &self.stop).await;
        self.mapp.shutdown().await;
    }
}

async fn two_loaded_workers() -> Loaded {
    let hub = Hub::new();
    let mapp = builder().shards(1).start().await.unwrap();
    let (master, thr) = master(&hub, &mapp).await;
    let (w1, w2) = (worker(&hub, "w1").await, worker(&hub, "w2").await);
    start_throttle(&w1).await;
    start_throttle(&w2).await;
    let log: Log = Arc::default();
    let stop = watch::Sender::new(false);
    load(w1.app.throttles(), 1, 20, &log, &stop);
    load(w2.app.throttles(), 2, 20, &log, &stop);
    eventually("both workers granting", || {
        let granted = |node| log.lock().unwrap().iter().any(|(n, _)| *n == node);
        let both = granted(1) && granted(2);
        async move { both }
    })
    .await;
    Loaded {
        hub,
        mapp,
        _master: master,
        thr,
        w1,
        w2,
        log,
        stop,
    }
}

#[actix_rt::test]
async fn a_node_grants_nothing_before_its_first_lease() {
    let app = builder().shards(1).start().await.unwrap();
    let leased = app.throttles().lease_shares();
    let hub = Hub::new();
    let (_tx, state) = watch::channel(WorkerState::Joining { refused: None });
    let t = Arc::new(hub.endpoint("w1"));
    let agent = ThrottleWorker::start(t, cfg(), "w1", "i1", state, leased)
        .await
        .unwrap();
    let throttles = app.throttles();
    throttles
        .start(NAME, ThrottleConfig::rate_per(RATE, INTERVAL))
        .await
        .unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), throttles.wait(NAME)).await;
    assert!(waited.is_err(), "granted without a lease");
    assert_eq!(throttles.info(NAME).await.unwrap().rate, Rate::Finite(0));
    // `start` still compares against the declared (cluster) rate.
    let again = throttles
        .start(NAME, ThrottleConfig::rate_per(RATE, INTERVAL))
        .await;
    assert_eq!(again, Ok(amoc::throttle::StartOutcome::AlreadyStarted));
    agent.shutdown();
    app.shutdown().await;
}

#[actix_rt::test]
async fn two_nodes_share_the_rate_and_follow_the_demand() {
    let hub = Hub::new();
    let mapp = builder().shards(1).start().await.unwrap();
    let (_m, thr) = master(&hub, &mapp).await;
    let (w1, w2) = (worker(&hub, "w1").await, worker(&hub, "w2").await);
    start_throttle(&w1).await;
    start_throttle(&w2).await;
    let log: Log = Arc::default();
    let (stop1, stop2) = (watch::Sender::new(false), watch::Sender::new(false));
    let t0 = Instant::now();
    load(w1.app.throttles(), 1, 20, &log, &stop1);
    load(w2.app.throttles(), 2, 20, &log, &stop2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let both = grants(&log, None, t0 + Duration::from_millis(500), Instant::now());
    let expected = RATE * 10; // one second at 2 000/s
    assert!(
        both * 100 >= expected * 75,
        "both nodes granted {both} of {expected} in 1 s"
    );
    let shares = thr.shares();
    let sum: u64 = shares[NAME].shares.values().map(|s| s.share).sum();
    assert!(sum <= RATE, "{shares:?}");

    // w1's users leave: w2 gets (nearly) all of the rate.
    stop1.send_replace(true);
    let t1 = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let alone = grants(
        &log,
        Some(2),
        t1 + Duration::from_millis(500),
        Instant::now(),
    );
    assert!(
        alone * 100 >= expected * 75,
        "w2 alone granted {alone} of {expected} in 1 s"
    );
    let most = max_in_window(&log);
    assert!(most <= RATE, "{most} grants in one interval, rate {RATE}");
    shutdown(vec![w1, w2], &stop2).await;
    mapp.shutdown().await;
}

#[actix_rt::test]
async fn a_partitioned_node_stops_granting_before_its_share_is_reused() {
    let l = two_loaded_workers().await;
    let cut = Instant::now();
    l.hub.isolate("w2", true);
    // w2's lease (500 ms after its last table) lapses on its own.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let end = Instant::now();
    let lapse = cut + cfg().lease + Duration::from_millis(100);
    assert_eq!(
        grants(&l.log, Some(2), lapse, end),
        0,
        "w2 granted after its lease lapsed"
    );
    assert!(grants(&l.log, Some(2), cut - Duration::from_millis(500), cut) > 0);
    // w1 got w2's share once it was reclaimed.
    let late = grants(&l.log, Some(1), end - Duration::from_millis(500), end);
    assert!(
        late * 100 >= RATE * 5 * 75,
        "w1 granted {late} in 0.5 s after the reclaim"
    );
    l.finish().await;
}

#[actix_rt::test]
async fn a_rate_lowered_on_the_master_bounds_the_sum_at_once() {
    let l = two_loaded_workers().await;
    let unknown = l
        .thr
        .change_rate("nope", ThrottleConfig::rate_per(1, INTERVAL))
        .await;
    assert!(unknown.is_err());
    let changed = Instant::now();
    l.thr
        .change_rate(NAME, ThrottleConfig::rate_per(RATE / 2, INTERVAL))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Windows after the orders arrived hold the new rate; the achieved rate follows it.
    let most = max_in_window_after(&l.log, Some(changed + Duration::from_millis(50)));
    assert!(
        most <= RATE / 2,
        "{most} grants in one interval after lowering to {}",
        RATE / 2
    );
    let end = Instant::now();
    let late = grants(&l.log, None, end - Duration::from_millis(500), end);
    assert!(
        late * 100 >= RATE / 2 * 5 * 75,
        "{late} grants in 0.5 s at {}",
        RATE / 2
    );
    l.finish().await;
}

#[actix_rt::test]
async fn a_node_that_stops_the_throttle_gives_its_share_up() {
    let l = two_loaded_workers().await;
    l.w1.app.throttles().stop(NAME).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let end = Instant::now();
    let alone = grants(&l.log, Some(2), end - Duration::from_millis(500), end);
    assert!(
        alone * 100 >= RATE * 5 * 75,
        "w2 alone granted {alone} in 0.5 s"
    );
    let shares = &l.thr.shares()[NAME].shares;
    let w2_share: u64 = shares
        .iter()
        .filter(|(k, _)| k.starts_with("w2@"))
        .map(|(_, s)| s.share)
        .sum();
    assert_eq!(w2_share, RATE, "{shares:?}");
    l.finish().await;
}
