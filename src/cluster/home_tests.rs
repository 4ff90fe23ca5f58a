use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::cluster::leases::ClusterThrottle;

const S: Duration = Duration::from_secs(1);

#[test]
fn low_rates_go_home_and_high_rates_are_leased() {
    // 20/s over 3 nodes: one permit per node every 150 ms.
    assert!(wants_home(20, S, 3, false));
    // 1 200/min (the default user_rate) over 2 nodes: 100 ms.
    assert!(wants_home(1200, 60 * S, 2, false));
    // 10 000/s over 3 nodes: 0.3 ms; 1 000 000/s: 3 µs.
    assert!(!wants_home(10_000, S, 3, false));
    assert!(!wants_home(1_000_000, S, 3, false));
    // Exactly 10 ms is not above it; rate 0 is home.
    assert!(!wants_home(300, S, 3, false));
    assert!(wants_home(0, S, 3, false));
    // A concurrency limit (interval 0) is never home, not even at 0.
    assert!(!wants_home(0, Duration::ZERO, 3, true));
    assert!(!wants_home(1, Duration::ZERO, 3, false));
}

#[test]
fn between_the_thresholds_a_rate_stays_where_it_is() {
    // 3 nodes at 400/s: 7.5 ms per node.
    assert!(!wants_home(400, S, 3, false));
    assert!(wants_home(400, S, 3, true));
    // Under 5 ms it leaves home; over 10 ms it goes.
    assert!(!wants_home(700, S, 3, true));
    assert!(wants_home(250, S, 3, false));
    // No node up: no change.
    assert!(wants_home(1_000_000, S, 0, true));
    assert!(!wants_home(1, S, 0, false));
}

#[test]
fn the_guard_is_a_hundredth_of_the_interval_up_to_10_ms() {
    assert_eq!(guard(S), Duration::from_millis(10));
    assert_eq!(guard(60 * S), Duration::from_millis(10));
    assert_eq!(guard(Duration::from_millis(500)), Duration::from_millis(5));
    assert_eq!(guard(Duration::from_millis(99)), Duration::ZERO);
    assert_eq!(
        home_config(20, S),
        ThrottleConfig::rate_per(20, Duration::from_millis(1010))
    );
}

#[test]
fn the_master_grants_only_once_every_share_was_acknowledged_at_0() {
    let t0 = Instant::now();
    let (p, sw) = Placement::Leased.step(20, S, 3, 12, t0);
    assert_eq!((p, sw), (Placement::Homing, None));
    assert!(p.parked() && !p.granting());
    let (p, sw) = p.step(20, S, 3, 4, t0 + S);
    assert_eq!((p, sw), (Placement::Homing, None));
    let (p, sw) = p.step(20, S, 3, 0, t0 + 2 * S);
    assert_eq!((p, sw), (Placement::Home, Some(Switch::Start)));
    assert!(p.granting());
    // A new throttle (nothing committed) is home at once.
    let (p, sw) = Placement::Leased.step(20, S, 3, 0, t0);
    assert_eq!((p, sw), (Placement::Home, Some(Switch::Start)));
}

#[test]
fn nodes_get_shares_only_one_interval_and_the_guard_after_the_master_stopped() {
    let t0 = Instant::now();
    let (p, sw) = Placement::Home.step(10_000, S, 3, 0, t0);
    let until = t0 + S + guard(S);
    assert_eq!((p, sw), (Placement::Leaving { until }, Some(Switch::Stop)));
    assert!(p.parked() && !p.granting());
    let (p, sw) = p.step(10_000, S, 3, 0, until - Duration::from_millis(1));
    assert_eq!((p, sw), (Placement::Leaving { until }, None));
    assert_eq!(p.step(10_000, S, 3, 0, until), (Placement::Leased, None));
    // Back to a low rate while leaving: home again, but only after `until`.
    let (p, _) = Placement::Home.step(10_000, S, 3, 0, t0);
    assert_eq!(p.step(20, S, 3, 0, t0 + S).1, None);
    assert_eq!(
        p.step(20, S, 3, 0, until),
        (Placement::Home, Some(Switch::Start))
    );
}

#[derive(Debug, Clone)]
enum Op {
    Rate(u64),
    Nodes(usize),
    Advance(u64),
    /// Node i acknowledges its pending order.
    Ack(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..2_000).prop_map(Op::Rate),
        (1usize..=4).prop_map(Op::Nodes),
        (1u64..1_500).prop_map(Op::Advance),
        (0usize..4).prop_map(Op::Ack),
    ]
}

proptest! {
    /// Any sequence of rate changes, node counts, acks and time: the master grants only
    /// while no node may use a share, and no node gets a share within one interval and the
    /// guard of the master's last grant; Start and Stop alternate.
    #[test]
    fn switches_never_let_the_master_and_the_nodes_grant_in_one_window(
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let interval = S;
        let names = ["a", "b", "c", "d"];
        let mut t = ClusterThrottle::new(20, interval);
        let mut place = Placement::Leased;
        let mut nodes = 3usize;
        let mut now = Instant::now();
        let mut stopped_at: Option<Instant> = None;
        for op in ops {
            match op {
                Op::Rate(r) => t.set_rate(r),
                Op::Nodes(n) => nodes = n,
                Op::Advance(ms) => now += Duration::from_millis(ms),
                Op::Ack(i) => {
                    if let Some(o) = t.ledger().order(names[i]) {
                        t.ack(names[i], o.epoch);
                    }
                }
            }
            let up: BTreeSet<String> = names[..nodes].iter().map(|n| n.to_string()).collect();
            let committed = t.ledger().committed_total();
            let (next, switch) = place.step(t.rate(), interval, up.len(), committed, now);
            match switch {
                Some(Switch::Start) => {
                    prop_assert!(!place.granting());
                    prop_assert_eq!(committed, 0, "the master grants while nodes may");
                    if let Some(s) = stopped_at {
                        prop_assert!(now >= s + interval + guard(interval));
                    }
                }
                Some(Switch::Stop) => {
                    prop_assert!(place.granting());
                    stopped_at = Some(now);
                }
                None => prop_assert_eq!(next.granting(), place.granting()),
            }
            place = next;
            t.park(place.parked());
            t.rebalance(&up);
            if place.granting() {
                prop_assert_eq!(t.ledger().committed_total(), 0);
            }
            if t.ledger().committed_total() > 0 {
                if let Some(s) = stopped_at {
                    prop_assert!(now >= s + interval + guard(interval), "a share too early");
                }
            }
            prop_assert!(t.ledger().committed_total() <= t.rate().max(committed));
        }
    }

    /// At a fixed rate and node count the placement settles: one more step changes nothing.
    #[test]
    fn a_steady_rate_does_not_flap(rate in 1u64..5_000, nodes in 1usize..8) {
        let now = Instant::now();
        let mut p = Placement::Leased;
        for _ in 0..3 {
            p = p.step(rate, S, nodes, 0, now + 2 * S).0;
        }
        let again = p.step(rate, S, nodes, 0, now + 4 * S);
        prop_assert_eq!(again, (p, None));
    }
}
