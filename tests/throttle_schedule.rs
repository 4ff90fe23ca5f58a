//! The pure schedule (SPEC 6.4): G1 window bound, G2 bank, G3 accuracy, and case 12
//! (`schedule_is_precise`).

use std::time::Duration;

use amoc::throttle::schedule::{split, split_from, Schedule};
use proptest::prelude::*;

const MS: u64 = 1_000_000;

/// Largest sum of batch sizes in any half-open window of `window` ns.
fn max_window(grants: &[(u64, u64)], window: u64) -> u64 {
    let (mut lo, mut sum, mut best) = (0, 0, 0);
    for hi in 0..grants.len() {
        sum += grants[hi].1;
        while grants[hi].0 - grants[lo].0 >= window {
            sum -= grants[lo].1;
            lo += 1;
        }
        best = best.max(sum);
    }
    best
}

/// Continuous demand from 0 to `until`: a claim every tick (plus `late` ns) or when the next
/// permit is due, whichever is later. Returns the batches.
fn continuous(s: &mut Schedule, until: u64, late: impl Fn(u64) -> u64) -> Vec<(u64, u64)> {
    let mut grants = Vec::new();
    let mut t = 0;
    let mut step = 0;
    while t <= until {
        let n = s.claim(t, u64::MAX, step == 0);
        if n > 0 {
            grants.push((t, n));
        }
        step += 1;
        let Some(next) = s.next_at(t) else { break };
        t = (t + MS + late(step)).max(next);
    }
    grants
}

fn achieved(grants: &[(u64, u64)]) -> u64 {
    grants.iter().map(|g| g.1).sum()
}

#[test]
fn schedule_is_precise() {
    let minute = Duration::from_secs(60);
    let i = 60_000 * MS;
    for r in 1..=1_000_000u64 {
        for weights in [&[1u64, 1][..], &[3, 5, 7], &[0, 1, 0, 9]] {
            assert_eq!(split(r, weights).iter().sum::<u64>(), r, "r={r}");
        }
        let s = Schedule::new(r, minute, 0);
        assert_eq!(s.allowance(i), r + 1);
        assert_eq!(s.allowance(2 * i - 1), 2 * r);
    }
    // The model under continuous demand, over two intervals.
    let mut rates: Vec<u64> = (1..=300).collect();
    rates.extend([
        999, 1000, 1001, 59_999, 60_000, 60_001, 123_457, 999_999, 1_000_000,
    ]);
    for r in rates {
        let mut s = Schedule::new(r, minute, 0);
        let g = continuous(&mut s, 2 * i, |_| 0);
        let got = achieved(&g);
        assert!(got as f64 >= 0.99 * (2 * r) as f64, "r={r} got={got}");
        assert!(max_window(&g, i) <= r, "r={r}");
    }
}

#[test]
fn extremes_of_the_range() {
    // One per hour.
    let hour = 3_600_000 * MS;
    let mut s = Schedule::new(1, Duration::from_secs(3600), 0);
    let g = continuous(&mut s, 3 * hour, |_| 0);
    assert_eq!(max_window(&g, hour), 1);
    assert!(achieved(&g) >= 3);
    // Five million per second with late timers.
    let mut s = Schedule::new(5_000_000, Duration::from_secs(1), 0);
    let g = continuous(&mut s, 3_000 * MS, |k| (k * 7919 % 5) * MS);
    assert!(max_window(&g, 1000 * MS) <= 5_000_000);
    assert!(
        achieved(&g) as f64 >= 0.99 * 15_000_000.0,
        "{}",
        achieved(&g)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// G1: random rates and random demand never put more than `r` grants in a window.
    #[test]
    fn no_window_above_rate(
        r in prop_oneof![1u64..=10, 1u64..=100_000, Just(5_000_000u64)],
        interval_ms in prop_oneof![1u64..=10, 10u64..=2_000, Just(3_600_000u64)],
        demand in proptest::collection::vec((0u64..2_000, 0u64..20), 1..400),
    ) {
        let interval = interval_ms * MS;
        let mut s = Schedule::new(r, Duration::from_millis(interval_ms), 0);
        let mut t = 0;
        let mut waiting = 0u64;
        let mut grants = Vec::new();
        for (want, gap_ms) in demand {
            let idle = waiting == 0;
            waiting += want;
            let n = s.claim(t, waiting, idle);
            waiting -= n;
            if n > 0 {
                grants.push((t, n));
            }
            t += gap_ms * MS / 4 + 1;
        }
        prop_assert!(max_window(&grants, interval) <= r);
    }

    /// G3: continuous demand reaches 99 % of the rate (minus one batch) over several intervals.
    #[test]
    fn continuous_demand_reaches_the_rate(
        r in prop_oneof![1u64..=1000, 1000u64..=10_000_000],
        interval_ms in prop_oneof![Just(1000u64), 100u64..=5000],
    ) {
        let interval = interval_ms * MS;
        let span = 3 * interval;
        let mut s = Schedule::new(r, Duration::from_millis(interval_ms), 0);
        let g = continuous(&mut s, span, |k| k % 3 * MS / 2);
        prop_assert!(max_window(&g, interval) <= r);
        let target = 0.99 * 3.0 * r as f64 - s.bank() as f64;
        prop_assert!(achieved(&g) as f64 >= target, "got {} want {}", achieved(&g), target);
    }

    /// The split sums exactly, whatever the weights and the rotation.
    #[test]
    fn split_is_exact(total in any::<u64>(), weights in proptest::collection::vec(any::<u64>(), 1..8), first in 0usize..8) {
        let shares = split_from(total, &weights, first);
        prop_assert_eq!(shares.iter().map(|&s| u128::from(s)).sum::<u128>(), u128::from(total));
        if weights.iter().any(|&w| w > 0) {
            for (s, w) in shares.iter().zip(&weights) {
                if *w == 0 { prop_assert_eq!(*s, 0); }
            }
        }
    }
}

#[test]
fn a_change_spaces_the_first_grant() {
    let mut s = Schedule::new(100, Duration::from_secs(1), 0);
    assert_eq!(s.claim(0, 1, true), 1);
    s.reconfigure(2, Duration::from_secs(1), MS);
    assert_eq!(s.claim(MS, 1, false), 0);
    assert_eq!(s.next_at(MS), Some(500 * MS));
    assert_eq!(s.claim(500 * MS, 5, false), 1);
}
