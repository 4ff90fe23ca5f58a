use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;

use super::*;

fn needs(pairs: &[(&str, Option<u64>)]) -> BTreeMap<String, Option<u64>> {
    pairs.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
}

fn up(nodes: &[&str]) -> BTreeSet<String> {
    nodes.iter().map(|n| (*n).to_owned()).collect()
}

fn report(waiting: u64, granted: u64, missed: u64, acked: Option<u64>) -> ThrottleReport {
    ThrottleReport {
        rate: 0,
        interval_ms: 1000,
        waiting,
        granted,
        missed,
        acked,
        in_flight: 0,
    }
}

#[test]
fn fair_split_meets_small_needs_and_shares_the_rest() {
    let s = fair_split(100, &needs(&[("a", Some(10)), ("b", None), ("c", None)]));
    assert_eq!((s["a"], s["b"], s["c"]), (10, 45, 45));
    let s = fair_split(100, &needs(&[("a", Some(10)), ("b", Some(20))]));
    assert_eq!((s["a"], s["b"]), (45, 55), "the rest is spread evenly");
    let s = fair_split(1, &needs(&[("a", None), ("b", None)]));
    assert_eq!(
        s.values().sum::<u64>(),
        1,
        "a low rate goes whole to one node"
    );
    assert!(fair_split(5, &BTreeMap::new()).is_empty());
}

#[test]
fn a_new_throttle_is_split_evenly_and_moves_to_the_demand() {
    let t0 = Instant::now();
    let s = Duration::from_secs(1);
    let mut t = ClusterThrottle::new(100, s);
    let nodes = up(&["a", "b"]);
    assert!(t.rebalance(&nodes));
    assert_eq!(t.ledger().order("a").unwrap().share, 50);
    assert_eq!(t.ledger().order("b").unwrap().share, 50);
    // a is idle, b backlogged.
    t.report("a", t0, &report(0, 0, 0, None));
    t.report("b", t0, &report(10, 0, 0, None));
    t.report("a", t0 + s, &report(0, 0, 50, None));
    t.report("b", t0 + s, &report(10, 50, 0, None));
    assert!(t.rebalance(&nodes));
    let lowered = t.ledger().order("a").unwrap();
    assert!(lowered.share < 10, "{lowered:?}");
    assert_eq!(
        t.ledger().committed_total(),
        100,
        "nothing raised before the ack"
    );
    t.rebalance(&nodes);
    assert_eq!(t.ledger().order("b").unwrap().share, 50);
    t.report("a", t0 + 2 * s, &report(0, 0, 100, Some(lowered.epoch)));
    t.rebalance(&nodes);
    assert_eq!(t.ledger().order("b").unwrap().share, 100 - lowered.share);
}

#[test]
fn a_node_without_the_throttle_gives_its_share_up() {
    let t0 = Instant::now();
    let mut t = ClusterThrottle::new(100, Duration::from_secs(1));
    let nodes = up(&["a", "b"]);
    t.rebalance(&nodes);
    t.absent("a");
    t.report("b", t0, &report(5, 0, 0, None));
    assert!(t.rebalance(&nodes));
    let lowered = t.ledger().order("a").unwrap();
    assert_eq!(lowered.share, 0);
    t.report("a", t0, &report(0, 0, 0, Some(lowered.epoch)));
    t.rebalance(&nodes);
    assert_eq!(t.ledger().order("b").unwrap().share, 100);
}

#[test]
fn a_lost_share_is_reused_only_at_reclaim_time() {
    let t0 = Instant::now();
    let s = Duration::from_secs(1);
    let mut t = ClusterThrottle::new(100, s);
    t.rebalance(&up(&["a", "b"]));
    t.node_lost("a", t0 + 7 * s);
    t.rebalance(&up(&["b"]));
    assert_eq!(t.ledger().committed("a"), 50);
    assert_eq!(t.ledger().order("b").unwrap().share, 50);
    assert!(!t.reclaim_due(t0 + 6 * s));
    assert!(t.reclaim_due(t0 + 7 * s));
    t.rebalance(&up(&["b"]));
    assert_eq!(t.ledger().order("b").unwrap().share, 100);
}

#[derive(Debug, Clone)]
enum Step {
    Report {
        node: usize,
        waiting: u64,
        used: u64,
    },
    Ack(usize),
    Lose(usize),
    Back(usize),
    Reclaim,
    Rate(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..3u64, 0..200u64).prop_map(|(node, waiting, used)| Step::Report { node, waiting, used }),
        3 => (0..3usize).prop_map(Step::Ack),
        1 => (0..3usize).prop_map(Step::Lose),
        1 => (0..3usize).prop_map(Step::Back),
        1 => Just(Step::Reclaim),
        1 => (1..300u64).prop_map(Step::Rate),
    ]
}

const NODES: [&str; 3] = ["a", "b", "c"];

proptest! {
    /// Nodes apply every order on receipt and acknowledge decreases whenever they like; nodes
    /// are lost, come back and are reclaimed; the rate changes. The shares the nodes apply
    /// never sum above the rate once the decreases of a rate change were acknowledged (and
    /// never above the larger of the two rates meanwhile), and each node's applied share stays
    /// within what the master counts for it.
    #[test]
    fn applied_shares_never_exceed_the_rate(rate in 1u64..300, steps in prop::collection::vec(step(), 1..80)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut t = ClusterThrottle::new(rate, Duration::from_secs(1));
        let mut applied: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut granted: BTreeMap<String, u64> = BTreeMap::new();
        let mut live: BTreeSet<String> = NODES.iter().map(|n| (*n).to_owned()).collect();
        let mut bound = rate;
        for s in steps {
            now += Duration::from_millis(300);
            match s {
                Step::Report { node, waiting, used } => {
                    let n = NODES[node];
                    if live.contains(n) {
                        let g = granted.entry(n.to_owned()).or_default();
                        *g += used;
                        t.report(n, now, &report(waiting, *g, 0, None));
                    }
                }
                Step::Ack(node) => {
                    let n = NODES[node];
                    if let Some((_, epoch)) = applied.get(n) {
                        if live.contains(n) {
                            t.report(n, now, &report(0, granted.get(n).copied().unwrap_or(0), 1, Some(*epoch)));
                        }
                    }
                }
                Step::Lose(node) => {
                    live.remove(NODES[node]);
                    t.node_lost(NODES[node], now + Duration::from_secs(2));
                }
                Step::Back(node) => {
                    live.insert(NODES[node].to_owned());
                    t.node_back(NODES[node]);
                }
                Step::Reclaim => {
                    now += Duration::from_secs(3);
                    if t.reclaim_due(now) {
                        // A reclaimed node's lease lapsed: it applies 0.
                        applied.retain(|n, _| t.ledger().order(n).is_some());
                    }
                }
                Step::Rate(r) => {
                    bound = bound.max(r);
                    t.set_rate(r);
                }
            }
            t.rebalance(&live);
            for n in &live {
                if let Some(o) = t.ledger().order(n) {
                    applied.insert(n.clone(), (o.share, o.epoch));
                }
            }
            let sum: u64 = applied.values().map(|(s, _)| s).sum();
            prop_assert!(sum <= bound, "applied {:?} above {}", applied, bound);
            if t.ledger().committed_total() <= t.rate() {
                bound = t.rate();
            }
            for (n, (s, _)) in &applied {
                prop_assert!(*s <= t.ledger().committed(n));
            }
        }
    }
}
