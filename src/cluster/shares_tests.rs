use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn targets(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
}

#[test]
fn a_share_moves_only_after_the_decrease_is_acknowledged() {
    let mut l = ShareLedger::new(100);
    l.raise("a", 100).unwrap();
    let plan = l.plan(&targets(&[("a", 40), ("b", 60)]));
    assert_eq!(plan.lowers.len(), 1);
    assert_eq!(plan.raises, vec![("b".to_owned(), 60)]);
    assert!(matches!(
        l.raise("b", 60),
        Err(ShareError::WouldExceed { free: 0, .. })
    ));
    l.ack("a", plan.lowers[0].epoch);
    assert_eq!(l.raise("b", 60).unwrap().share, 60);
    assert_eq!(l.committed_total(), 100);
}

#[test]
fn a_stale_ack_frees_nothing() {
    let mut l = ShareLedger::new(10);
    l.raise("a", 10).unwrap();
    let first = l.lower("a", 5);
    let second = l.lower("a", 2);
    l.ack("a", first.epoch);
    assert_eq!(l.committed("a"), 10);
    l.ack("a", second.epoch);
    assert_eq!(l.committed("a"), 2);
}

#[test]
fn a_lost_node_keeps_its_share_until_reclaimed() {
    let mut l = ShareLedger::new(10);
    l.raise("a", 6).unwrap();
    l.raise("b", 4).unwrap();
    assert!(l.raise("b", 10).is_err());
    l.reclaim("a");
    assert_eq!(l.raise("b", 10).unwrap().share, 10);
}

#[test]
fn proportional_sums_to_the_rate() {
    let d = targets(&[("a", 1), ("b", 1), ("c", 1)]);
    let s = proportional(100, &d);
    assert_eq!(s.values().sum::<u64>(), 100);
    assert_eq!(s["a"], 34);
    let idle = targets(&[("a", 0), ("b", 0)]);
    assert_eq!(proportional(7, &idle).values().sum::<u64>(), 7);
}

#[derive(Debug, Clone)]
enum Op {
    Plan(Vec<u64>),
    AckAll,
    AckOne(usize),
    RaiseAll,
    Reclaim(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::collection::vec(0u64..200, 3).prop_map(Op::Plan),
        Just(Op::AckAll),
        (0usize..3).prop_map(Op::AckOne),
        Just(Op::RaiseAll),
        (0usize..3).prop_map(Op::Reclaim),
    ]
}

const NODES: [&str; 3] = ["a", "b", "c"];

proptest! {
    /// Whatever the order of plans, acks, raises and reclaims, Σ committed ≤ rate, and each
    /// node's actual share (the last order it applied) ≤ its committed share.
    #[test]
    fn the_sum_never_exceeds_the_rate(rate in 1u64..300, ops in prop::collection::vec(op(), 1..60)) {
        let mut l = ShareLedger::new(rate);
        let mut actual: BTreeMap<String, u64> = BTreeMap::new();
        let mut pending: Vec<ShareOrder> = Vec::new();
        let mut raises: Vec<(String, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Plan(t) => {
                    let t: BTreeMap<String, u64> =
                        NODES.iter().zip(t).map(|(n, s)| ((*n).to_owned(), s)).collect();
                    let plan = l.plan(&t);
                    for o in &plan.lowers {
                        actual.insert(o.node.clone(), o.share);
                    }
                    pending.extend(plan.lowers);
                    raises = plan.raises;
                }
                Op::AckAll => {
                    for o in pending.drain(..) {
                        l.ack(&o.node, o.epoch);
                    }
                }
                Op::AckOne(i) => {
                    if i < pending.len() {
                        let o = pending.remove(i);
                        l.ack(&o.node, o.epoch);
                    }
                }
                Op::RaiseAll => {
                    for (n, s) in std::mem::take(&mut raises) {
                        if let Ok(o) = l.raise(&n, s) {
                            actual.insert(o.node, o.share);
                        }
                    }
                }
                Op::Reclaim(i) => {
                    let n = NODES[i];
                    l.reclaim(n);
                    actual.remove(n);
                    pending.retain(|o| o.node != n);
                }
            }
            prop_assert!(l.committed_total() <= rate);
            for (n, s) in &actual {
                prop_assert!(*s <= l.committed(n), "{} uses {} > committed {}", n, s, l.committed(n));
            }
            prop_assert!(actual.values().sum::<u64>() <= rate);
        }
    }
}
