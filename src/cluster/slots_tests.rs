use std::collections::BTreeSet;
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;

use super::super::leases::ClusterThrottle;
use super::*;

fn report(in_flight: u64, waiting: u64, acked: Option<u64>) -> ThrottleReport {
    ThrottleReport {
        rate: 10,
        interval_ms: 0,
        waiting,
        granted: 0,
        missed: 0,
        acked,
        in_flight,
    }
}

fn up(nodes: &[&str]) -> BTreeSet<String> {
    nodes.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn need_is_permits_out_and_waiting() {
    assert_eq!(need(&report(3, 5, None)), 8);
    assert_eq!(need(&report(3, 0, None)), 4, "one more when none wait");
    assert_eq!(need(&report(0, 0, None)), 1);
}

#[test]
fn a_lowered_quota_is_acknowledged_only_once_the_permits_out_fit() {
    let mut t = ClusterThrottle::new(10, Duration::ZERO);
    let nodes = up(&["a", "b"]);
    let now = Instant::now();
    t.rebalance(&nodes);
    assert_eq!(t.ledger().order("a").unwrap().share, 5);
    // a uses 2 of its 5 with nobody waiting; b has 20 waiting.
    t.report("a", now, &report(2, 0, None));
    t.report("b", now, &report(5, 20, None));
    assert!(t.rebalance(&nodes));
    let lowered = t.ledger().order("a").unwrap();
    assert_eq!(lowered.share, 3, "what a uses, and one more");
    // An ack while a still has 5 out (users came back before the order) frees nothing.
    t.report("a", now, &report(5, 0, Some(lowered.epoch)));
    t.rebalance(&nodes);
    assert_eq!(t.ledger().committed("a"), 5);
    assert_eq!(t.ledger().order("b").unwrap().share, 5);
    // Once a's permits out fit, b gets the slots.
    t.report("a", now, &report(2, 0, Some(lowered.epoch)));
    t.rebalance(&nodes);
    assert_eq!(t.ledger().committed("a"), lowered.share);
    assert_eq!(t.ledger().order("b").unwrap().share, 10 - lowered.share);
}

#[test]
fn all_slots_go_to_the_demand() {
    let mut t = ClusterThrottle::new(10, Duration::ZERO);
    let nodes = up(&["a", "b", "c"]);
    let now = Instant::now();
    t.rebalance(&nodes);
    let quotas: Vec<u64> = ["a", "b", "c"]
        .iter()
        .map(|n| t.ledger().order(n).unwrap().share)
        .collect();
    assert_eq!(quotas.iter().sum::<u64>(), 10, "{quotas:?}");
    for n in ["a", "b", "c"] {
        let q = t.ledger().order(n).unwrap().share;
        t.report(n, now, &report(q, 50, None));
    }
    assert!(
        !t.rebalance(&nodes),
        "an even split under even demand stays"
    );
}

#[derive(Debug, Clone)]
enum Step {
    /// A user of the node asks for a slot.
    Acquire(usize),
    /// A user of the node gives one back.
    Release(usize),
    /// The node gets the master's current order.
    Deliver(usize),
    /// The node reports, acknowledging the order it applied whether or not it fits.
    Report(usize),
    /// The master changes the limit.
    Limit(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize).prop_map(Step::Acquire),
        3 => (0..3usize).prop_map(Step::Release),
        3 => (0..3usize).prop_map(Step::Deliver),
        3 => (0..3usize).prop_map(Step::Report),
        1 => (0..15u64).prop_map(Step::Limit),
    ]
}

#[derive(Debug, Default, Clone)]
struct Node {
    quota: u64,
    epoch: Option<u64>,
    out: u64,
    waiting: u64,
}

impl Node {
    fn serve(&mut self) -> u64 {
        let n = self.quota.saturating_sub(self.out).min(self.waiting);
        self.out += n;
        self.waiting -= n;
        n
    }
}

const NODES: [&str; 3] = ["a", "b", "c"];

proptest! {
    /// Nodes take slots up to the quota they applied, get orders late, and acknowledge the
    /// order they applied at any time (the master checks the permits out); the limit changes.
    /// Each node's permits out stay within what the master counts for it, and Σ permits out
    /// ≤ Σ committed ≤ the limit (after a decrease: the old limit until the nodes
    /// acknowledged lower quotas, as permits already out cannot be taken back).
    #[test]
    fn no_slot_is_granted_above_the_limit(limit in 0u64..15, steps in prop::collection::vec(step(), 1..120)) {
        let now = Instant::now();
        let mut t = ClusterThrottle::new(limit, Duration::ZERO);
        let nodes = up(&NODES);
        let mut n: Vec<Node> = vec![Node::default(); 3];
        let mut bound = limit;
        t.rebalance(&nodes);
        for s in steps {
            match s {
                Step::Acquire(i) => n[i].waiting += 1,
                Step::Release(i) => n[i].out = n[i].out.saturating_sub(1),
                Step::Deliver(i) => {
                    if let Some(o) = t.ledger().order(NODES[i]) {
                        n[i].quota = o.share;
                        n[i].epoch = Some(o.epoch);
                    }
                }
                Step::Report(i) => {
                    let r = report(n[i].out, n[i].waiting, n[i].epoch);
                    t.report(NODES[i], now, &r);
                }
                Step::Limit(l) => {
                    bound = bound.max(l);
                    t.set_rate(l);
                }
            }
            for x in &mut n {
                x.serve();
            }
            t.rebalance(&nodes);
            for (i, x) in n.iter().enumerate() {
                let committed = t.ledger().committed(NODES[i]);
                prop_assert!(x.quota <= committed, "{i}: {x:?}, committed {committed}");
                prop_assert!(x.out <= committed, "{i}: {x:?}, committed {committed}");
            }
            let out: u64 = n.iter().map(|x| x.out).sum();
            let committed = t.ledger().committed_total();
            prop_assert!(out <= committed && committed <= bound, "{out} out, {committed} committed, bound {bound}: {n:?}");
            if committed <= t.rate() {
                bound = t.rate();
            }
        }
    }

    /// Under steady demand everywhere, every slot ends up in use.
    #[test]
    fn every_slot_is_used_under_demand(limit in 1u64..30, rounds in 1usize..6) {
        let now = Instant::now();
        let mut t = ClusterThrottle::new(limit, Duration::ZERO);
        let nodes = up(&NODES);
        let mut n: Vec<Node> = vec![Node { waiting: 100, ..Node::default() }; 3];
        for _ in 0..rounds + 3 {
            t.rebalance(&nodes);
            for (i, x) in n.iter_mut().enumerate() {
                if let Some(o) = t.ledger().order(NODES[i]) {
                    x.quota = o.share;
                    x.epoch = Some(o.epoch);
                }
                x.serve();
                t.report(NODES[i], now, &report(x.out, x.waiting, x.epoch));
            }
        }
        let total: u64 = n.iter().map(|x| x.out).sum();
        prop_assert_eq!(total, limit);
    }
}
