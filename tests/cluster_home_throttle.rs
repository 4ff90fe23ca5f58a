//! Rates too low to split stay home on the master (issue 17): three nodes over the in-memory
//! transport, on a paused clock (every node's throttles, the master and its home throttle
//! run on the test's one runtime, so time is exact). Each node's users wait on one throttle
//! of 20/s; every grant is logged with its `granted_at`; merged, the grants are spaced
//! evenly cluster-wide (not bunched per node, as split shares are), no window of one
//! interval holds more than the rate, switches through the threshold keep every window, and
//! a node that lost its master grants nothing.
//!
//! The nodes are bare registries in cluster mode (no app): each joins with a `hello` as a
//! worker does, and its throttle agent follows the master.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amoc::cluster::memory::Hub;
use amoc::cluster::messages::{Hello, HelloReply, Subjects};
use amoc::cluster::{ClusterConfig, Fingerprint, Master, ThrottleMaster, ThrottleWorker};
use amoc::cluster::{Transport, WorkerState};
use amoc::telemetry::Telemetry;
use amoc::throttle::{max_in_window, ThrottleConfig, Throttles};
use futures::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;

const NAME: &str = "logins";
const RATE: u64 = 20;
const INTERVAL: Duration = Duration::from_secs(1);

fn cfg() -> ClusterConfig {
    ClusterConfig {
        heartbeat: Duration::from_millis(100),
        missed_heartbeats: 1_000_000,
        lease: Duration::from_millis(500),
        request_timeout: Duration::from_secs(1),
        ping: Duration::from_secs(3600),
        ..ClusterConfig::new("home")
    }
}

fn fp() -> Fingerprint {
    Fingerprint::new(["idle"])
}

type Log = Arc<Mutex<Vec<(usize, Instant)>>>;

struct Node {
    throttles: Throttles,
    agent: ThrottleWorker,
}

struct Cluster {
    hub: Hub,
    master: Master,
    thr: ThrottleMaster,
    nodes: Vec<Node>,
    log: Log,
    stop: watch::Sender<bool>,
}

/// Joins node `name` as a worker does and starts its throttle agent.
async fn node(hub: &Hub, name: &str) -> Node {
    let t = Arc::new(hub.endpoint(name));
    let instance = format!("{name}-1");
    let hello = Hello {
        name: name.into(),
        instance: instance.clone(),
        fingerprint: fp(),
    };
    let subjects = Subjects::new(&cfg().cluster);
    // Answers the master's pings (only no-responders would mark the node down).
    let mut ctl = t.subscribe(subjects.ctl(name)).await.unwrap();
    let answers = t.clone();
    actix_rt::spawn(async move {
        while let Some(m) = ctl.next().await {
            if let Some(to) = m.reply {
                let _ = answers.publish(to, b"{}".to_vec()).await;
            }
        }
    });
    let subject = subjects.hello();
    let answer = t
        .request(
            subject,
            serde_json::to_vec(&hello).unwrap(),
            cfg().request_timeout,
        )
        .await
        .unwrap();
    let HelloReply::Admitted { master, .. } = serde_json::from_slice(&answer).unwrap() else {
        panic!("{name} refused");
    };
    // Never changes: the test keeps the sender alive for the agent's life.
    let state = watch::Sender::new(WorkerState::Member { master });
    let throttles = Throttles::new(Telemetry::new());
    let leased = throttles.lease_shares();
    let agent = ThrottleWorker::start(t, cfg(), name, &instance, state.subscribe(), leased)
        .await
        .unwrap();
    std::mem::forget(state);
    throttles
        .start(NAME, ThrottleConfig::rate_per(RATE, INTERVAL))
        .await
        .unwrap();
    Node { throttles, agent }
}

/// `users` tasks per node waiting on `NAME` in a loop, logging each grant.
fn load(nodes: &[Node], users: usize, log: &Log, stop: &watch::Sender<bool>) {
    for (i, n) in nodes.iter().enumerate() {
        for _ in 0..users {
            let (t, log, mut stop) = (n.throttles.clone(), log.clone(), stop.subscribe());
            actix_rt::spawn(async move {
                loop {
                    tokio::select! {
                        p = t.wait(NAME) => match p {
                            Ok(p) => log.lock().unwrap().push((i, p.granted_at())),
                            Err(_) => return,
                        },
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            });
        }
    }
}

async fn cluster(nodes: usize) -> Cluster {
    tokio::time::pause();
    let hub = Hub::new();
    let t = Arc::new(hub.endpoint("master"));
    let master = Master::start(t.clone(), cfg(), fp(), Telemetry::new())
        .await
        .unwrap();
    let thr = ThrottleMaster::start(t, cfg(), master.clone())
        .await
        .unwrap();
    let mut all = Vec::new();
    for i in 1..=nodes {
        all.push(node(&hub, &format!("w{i}")).await);
    }
    let log: Log = Arc::default();
    let stop = watch::Sender::new(false);
    load(&all, 10, &log, &stop);
    Cluster {
        hub,
        master,
        thr,
        nodes: all,
        log,
        stop,
    }
}

impl Cluster {
    /// Grant times (ns since `t0`) in `[from, to)`, all nodes merged, sorted.
    fn times(&self, from: Instant, to: Instant) -> Vec<u64> {
        let log = self.log.lock().unwrap();
        let mut t: Vec<u64> = log
            .iter()
            .filter(|(_, t)| *t >= from && *t < to)
            .map(|(_, t)| t.duration_since(from).as_nanos() as u64)
            .collect();
        t.sort_unstable();
        t
    }

    fn nodes_granting(&self, from: Instant) -> usize {
        let log = self.log.lock().unwrap();
        let mut seen: Vec<usize> = log
            .iter()
            .filter(|(_, t)| *t >= from)
            .map(|(n, _)| *n)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    async fn finish(self) {
        self.stop.send_replace(true);
        for n in &self.nodes {
            n.agent.shutdown();
        }
        self.thr.shutdown();
        self.master.shutdown();
    }
}

fn min_gap(times: &[u64]) -> u64 {
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or(u64::MAX)
}

#[actix_rt::test]
async fn three_nodes_at_20_per_s_get_evenly_spaced_grants_cluster_wide() {
    let c = cluster(3).await;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let end = Instant::now();
    // After a second of start-up: all three nodes served, by the master's one schedule.
    let from = t0 + Duration::from_secs(1);
    assert_eq!(c.nodes_granting(from), 3, "every node gets permits");
    let times = c.times(from, end);
    let span = (end - from).as_secs_f64();
    let achieved = times.len() as f64 / span;
    assert!(
        achieved >= RATE as f64 * 0.9,
        "achieved {achieved:.1}/s of {RATE}/s"
    );
    let all = c.times(t0, end);
    let most = max_in_window(&all, INTERVAL.as_nanos() as u64);
    assert!(most <= RATE, "{most} grants in one interval, rate {RATE}");
    // Spacing 1 s / 20 = 50 ms (50.5 ms with the delivery guard); split shares bunch.
    let gap = min_gap(&times);
    println!("achieved {achieved:.2}/s, at most {most} in 1 s, min gap {gap} ns");
    assert!(gap >= 45_000_000, "grants {gap} ns apart cluster-wide");
    assert!(c.thr.shares()[NAME].home, "20/s over 3 nodes stays home");
    let shares: u64 = c.thr.shares()[NAME].shares.values().map(|s| s.share).sum();
    assert_eq!(shares, 0, "nodes hold no share of a home throttle");
    c.finish().await;
}

#[actix_rt::test]
async fn switching_through_the_threshold_and_back_keeps_every_window() {
    let c = cluster(3).await;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(c.thr.shares()[NAME].home);
    // Up to 3 000/s (1 ms per node): leased again, once the master's throttle stopped.
    let high = 3_000;
    let up = Instant::now();
    c.thr
        .change_rate(NAME, ThrottleConfig::rate_per(high, INTERVAL))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!c.thr.shares()[NAME].home, "3 000/s over 3 nodes is leased");
    let leased = c.times(up + Duration::from_secs(3), Instant::now()).len() as u64;
    assert!(
        leased >= high * 9 / 10,
        "{leased} grants in the last leased second"
    );
    // Back down to 20/s: home again once every node acknowledged share 0.
    let down = Instant::now();
    c.thr
        .change_rate(NAME, ThrottleConfig::rate_per(RATE, INTERVAL))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let end = Instant::now();
    assert!(c.thr.shares()[NAME].home);
    let step = INTERVAL.as_nanos() as u64;
    // Home at 20/s: no window above it, before the switch up and after the switch down.
    let before = c.times(t0, up);
    assert!(max_in_window(&before, step) <= RATE);
    let after = c.times(down + Duration::from_millis(10), end);
    let most = max_in_window(&after, step);
    assert!(
        most <= RATE,
        "{most} grants in one interval after going home"
    );
    assert!(
        after.len() as u64 >= RATE * 3,
        "home again: {} grants",
        after.len()
    );
    assert!(min_gap(&after[1..]) >= 45_000_000);
    // Every window of the whole run: at most the highest rate, and the switch up never
    // adds the nodes' shares to the master's grants (no window right after it above 20 +
    // what the nodes may grant once leased).
    let all = c.times(t0, end);
    assert!(max_in_window(&all, step) <= high);
    let switch_up = c.times(up, up + INTERVAL + Duration::from_millis(10));
    assert!(
        switch_up.len() as u64 <= RATE,
        "{} grants within the interval after the switch up",
        switch_up.len()
    );
    c.finish().await;
}

#[actix_rt::test]
async fn nodes_that_lost_their_master_grant_nothing() {
    let c = cluster(3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut = Instant::now();
    assert!(!c.times(cut - Duration::from_secs(1), cut).is_empty());
    c.thr.shutdown();
    c.master.shutdown();
    c.hub.disconnect("master");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = c.times(cut + Duration::from_millis(1), Instant::now());
    assert!(
        late.is_empty(),
        "{} grants after the master was lost",
        late.len()
    );
    c.finish().await;
}
