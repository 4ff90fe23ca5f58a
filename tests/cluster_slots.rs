//! Cluster-wide concurrency throttles over the in-memory transport, under paused time: a
//! master and workers each running `concurrency(LIMIT)` in cluster mode, with users that hold
//! a permit for a while. Every hold is logged (node, start, end) and counted in one shared
//! counter, so the most permits held at once over the whole cluster is known exactly: never
//! above the limit, through an even split, demand moving between nodes, a lowered limit and a
//! partitioned node whose lease lapses.
//!
//! Everything of the throttles runs on the test's arbiter (each node's `Throttles` is its
//! own registry; the apps only lend a controller to the worker agents, which run no users),
//! so the paused clock is exact.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amoc::app::App;
use amoc::cluster::memory::Hub;
use amoc::cluster::{ClusterConfig, Fingerprint, Master, ThrottleMaster, ThrottleWorker};
use amoc::cluster::{Worker, WorkerState};
use amoc::telemetry::Telemetry;
use amoc::throttle::{Rate, ThrottleConfig, ThrottleError, Throttles};
use common::app::builder;
use common::scenarios::Idle;
use tokio::sync::watch;
use tokio::time::Instant;

const NAME: &str = "uploads";
const LIMIT: u64 = 10;
const MS: Duration = Duration::from_millis(1);

fn cfg() -> ClusterConfig {
    ClusterConfig {
        heartbeat: 50 * MS,
        missed_heartbeats: 10,
        lease: 500 * MS,
        request_timeout: 200 * MS,
        ping: Duration::from_secs(3600),
        ..ClusterConfig::new("slots")
    }
}

fn fp() -> Fingerprint {
    Fingerprint::new(["idle"])
}

/// Holds: (node, start, end).
type Log = Arc<Mutex<Vec<(usize, Instant, Instant)>>>;

/// Permits held now over the cluster, and the most ever.
#[derive(Default)]
struct Held {
    now: AtomicU64,
    most: AtomicU64,
}

struct Node {
    throttles: Throttles,
    worker: Worker,
    agent: ThrottleWorker,
}

struct Cluster {
    hub: Hub,
    app: App,
    _master: Master,
    thr: ThrottleMaster,
    nodes: Vec<Node>,
    log: Log,
    held: Arc<Held>,
}

impl Cluster {
    /// A master and `n` admitted workers (w1..wn), each running `concurrency(LIMIT)`.
    async fn start(n: usize) -> Cluster {
        let app = builder()
            .shards(1)
            .scenario(Idle::default())
            .start()
            .await
            .unwrap();
        tokio::time::pause();
        let hub = Hub::new();
        let t = Arc::new(hub.endpoint("master"));
        let master = Master::start(t.clone(), cfg(), fp(), app.telemetry().clone())
            .await
            .unwrap();
        let thr = ThrottleMaster::start(t, cfg(), master.clone())
            .await
            .unwrap();
        let mut nodes = Vec::new();
        for i in 1..=n {
            let name = format!("w{i}");
            let throttles = Throttles::new(Telemetry::new());
            let leased = throttles.lease_shares();
            let t = Arc::new(hub.endpoint(&name));
            let c = app.controller().clone();
            let worker = Worker::start(t.clone(), cfg(), &name, fp(), c, Telemetry::new())
                .await
                .unwrap();
            let (id, state) = (worker.instance().to_owned(), worker.state());
            let agent = ThrottleWorker::start(t, cfg(), &name, &id, state, leased)
                .await
                .unwrap();
            let mut state = worker.state();
            state
                .wait_for(|s| matches!(s, WorkerState::Member { .. }))
                .await
                .unwrap();
            throttles
                .start(NAME, ThrottleConfig::concurrency(LIMIT))
                .await
                .unwrap();
            nodes.push(Node {
                throttles,
                worker,
                agent,
            });
        }
        Cluster {
            hub,
            app,
            _master: master,
            thr,
            nodes,
            log: Arc::default(),
            held: Arc::default(),
        }
    }

    /// `users` users on node `i` (0-based), each holding a permit for `hold` in a loop until
    /// `stop` (a user finishes its hold first).
    fn load(&self, i: usize, users: usize, hold: Duration, stop: &watch::Sender<bool>) {
        for _ in 0..users {
            let t = self.nodes[i].throttles.clone();
            let (log, held, mut stop) = (self.log.clone(), self.held.clone(), stop.subscribe());
            actix_rt::spawn(async move {
                loop {
                    let permit = tokio::select! {
                        p = t.wait(NAME) => p,
                        _ = stop.wait_for(|s| *s) => return,
                    };
                    let Ok(permit) = permit else { return };
                    let start = Instant::now();
                    let now = held.now.fetch_add(1, Ordering::SeqCst) + 1;
                    held.most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    held.now.fetch_sub(1, Ordering::SeqCst);
                    log.lock().unwrap().push((i, start, Instant::now()));
                    drop(permit);
                    if *stop.borrow() {
                        return;
                    }
                }
            });
        }
    }

    fn most_held(&self) -> u64 {
        self.held.most.load(Ordering::SeqCst)
    }

    /// Permits held on average in `[from, to)` by node `node` (all nodes if `None`), from the
    /// holds finished so far.
    fn busy(&self, node: Option<usize>, from: Instant, to: Instant) -> f64 {
        let log = self.log.lock().unwrap();
        let held: Duration = log
            .iter()
            .filter(|(n, _, _)| node.map_or(true, |x| x == *n))
            .map(|(_, s, e)| (*e).min(to).saturating_duration_since((*s).max(from)))
            .sum();
        held.as_secs_f64() / (to - from).as_secs_f64()
    }

    /// Starts of holds on node `node` in `[from, to)`.
    fn starts(&self, node: usize, from: Instant, to: Instant) -> usize {
        let log = self.log.lock().unwrap();
        let n = log
            .iter()
            .filter(|(n, s, _)| *n == node && *s >= from && *s < to);
        n.count()
    }

    async fn in_flight(&self, i: usize) -> u64 {
        self.nodes[i].throttles.info(NAME).await.unwrap().in_flight
    }

    async fn finish(self, stop: &watch::Sender<bool>) {
        stop.send_replace(true);
        let most = self.most_held();
        assert!(most <= LIMIT, "{most} permits held at once, limit {LIMIT}");
        for n in self.nodes {
            n.agent.shutdown();
            n.worker.shutdown();
        }
        self.thr.shutdown();
        self.app.shutdown().await;
    }
}

#[actix_rt::test]
async fn a_leased_concurrency_limit_has_no_slot_before_the_first_lease() {
    let throttles = Throttles::new(Telemetry::new());
    let _leased = throttles.lease_shares();
    throttles
        .start(NAME, ThrottleConfig::concurrency(LIMIT))
        .await
        .unwrap();
    assert_eq!(throttles.info(NAME).await.unwrap().rate, Rate::Finite(0));
    let early = tokio::time::timeout(100 * MS, throttles.wait(NAME)).await;
    assert!(early.is_err(), "a slot before the first lease");
    let again = throttles
        .start(NAME, ThrottleConfig::concurrency(LIMIT))
        .await;
    assert_eq!(again, Ok(amoc::throttle::StartOutcome::AlreadyStarted));
}

#[actix_rt::test]
async fn three_nodes_hold_at_most_the_limit_and_use_all_of_it() {
    let c = Cluster::start(3).await;
    let stop = watch::Sender::new(false);
    let t0 = Instant::now();
    for i in 0..3 {
        c.load(i, 15, 40 * MS, &stop);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let busy = c.busy(None, t0 + Duration::from_secs(1), Instant::now() - 40 * MS);
    assert!(busy >= 9.5, "{busy:.2} of {LIMIT} slots busy on average");
    for i in 0..3 {
        let mine = c.busy(
            Some(i),
            t0 + Duration::from_secs(1),
            Instant::now() - 40 * MS,
        );
        assert!(mine >= 2.5, "node {i}: {mine:.2} slots busy on average");
    }
    let quotas: u64 = c.thr.shares()[NAME].shares.values().map(|s| s.share).sum();
    assert_eq!(quotas, LIMIT);
    c.finish(&stop).await;
}

#[actix_rt::test]
async fn slots_move_only_after_the_permits_out_came_back() {
    let c = Cluster::start(2).await;
    let (stop_a, stop_b) = (watch::Sender::new(false), watch::Sender::new(false));
    // w1 alone has demand: it gets (nearly) all slots and holds them for 1 s each.
    c.load(0, 20, Duration::from_secs(1), &stop_a);
    tokio::time::sleep(3500 * MS).await;
    let a_out = c.in_flight(0).await;
    assert!(a_out >= LIMIT - 1, "w1 holds {a_out}");
    // Demand moves to w2; w1's users finish their holds and leave.
    stop_a.send_replace(true);
    let moved = Instant::now();
    c.load(1, 20, 40 * MS, &stop_b);
    // While w1's permits are out (until about 4 s), w2 holds at most what is left.
    tokio::time::sleep(250 * MS).await;
    let (a, b) = (c.in_flight(0).await, c.in_flight(1).await);
    assert!(a + b <= LIMIT, "w1 {a} + w2 {b} out");
    assert!(a > 0, "w1's holds last 1 s");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let end = Instant::now() - 40 * MS;
    assert_eq!(c.in_flight(0).await, 0);
    let busy = c.busy(Some(1), end - Duration::from_secs(1), end);
    assert!(busy >= 9.0, "w2 alone: {busy:.2} busy");
    assert!(c.starts(1, moved, end) > 0);
    c.finish(&stop_b).await;
}

#[actix_rt::test]
async fn a_limit_lowered_on_the_master_holds_once_permits_came_back() {
    let c = Cluster::start(3).await;
    let stop = watch::Sender::new(false);
    for i in 0..3 {
        c.load(i, 10, 40 * MS, &stop);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let wrong = c.thr.change_rate(NAME, ThrottleConfig::rate(5)).await;
    assert!(
        matches!(wrong, Err(ThrottleError::InvalidConfig(_))),
        "{wrong:?}"
    );
    c.thr
        .change_rate(NAME, ThrottleConfig::concurrency(4))
        .await
        .unwrap();
    let changed = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Holds that started once the old ones (40 ms) came back: at most 4 at once.
    let log = c.log.lock().unwrap().clone();
    let late: Vec<_> = log
        .iter()
        .filter(|(_, s, _)| *s >= changed + 100 * MS)
        .collect();
    let most = (0..late.len())
        .map(|i| {
            late.iter()
                .filter(|(_, s, e)| *s <= late[i].1 && late[i].1 < *e)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(most <= 4, "{most} held at once after lowering to 4");
    let end = Instant::now() - 40 * MS;
    let busy = c.busy(None, end - Duration::from_secs(1), end);
    assert!(busy >= 3.5, "{busy:.2} of 4 busy");
    // A worker's change_rate changes its declared limit (the master keeps its own).
    c.nodes[0]
        .throttles
        .change_rate(NAME, ThrottleConfig::concurrency(3))
        .await
        .unwrap();
    let info = c.nodes[0].throttles.info(NAME).await.unwrap();
    assert!(matches!(info.rate, Rate::Finite(q) if q <= 4), "{info:?}");
    let kind = c.nodes[0]
        .throttles
        .change_rate(NAME, ThrottleConfig::rate(3));
    assert!(matches!(kind.await, Err(ThrottleError::InvalidConfig(_))));
    c.finish(&stop).await;
}

#[actix_rt::test]
async fn a_partitioned_node_takes_no_slot_after_its_lease_lapsed() {
    let c = Cluster::start(2).await;
    let stop = watch::Sender::new(false);
    c.load(0, 20, 40 * MS, &stop);
    c.load(1, 20, 40 * MS, &stop);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cut = Instant::now();
    assert!(c.starts(1, cut - 500 * MS, cut) > 0);
    c.hub.isolate("w2", true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let end = Instant::now();
    let lapse = cut + cfg().lease + 50 * MS;
    assert_eq!(
        c.starts(1, lapse, end),
        0,
        "w2 took slots after its lease lapsed"
    );
    assert_eq!(c.in_flight(1).await, 0);
    // w1 got w2's slots once they were reclaimed (lease + one heartbeat after the cut).
    let busy = c.busy(Some(0), end - Duration::from_secs(1), end - 40 * MS);
    assert!(busy >= 9.0, "w1: {busy:.2} busy after the reclaim");
    c.finish(&stop).await;
}
