//! Property tests of the ledger with demand on several shards (issue 11): a simulation of
//! shard tickers as `shard.rs` runs them (tick every 1 ms or when the next permit is due,
//! rounded up to the timer's 1 ms resolution, plus jitter; again at once when demand, not
//! allowance, limited the tick), with waiters arriving on and leaving 2–8 shards.

use proptest::prelude::*;

use super::Ledger;
use crate::throttle::schedule::Schedule;

const MS: u64 = 1_000_000;

/// One shard: `users` waiters during each of its spans (they re-queue at once when granted);
/// its timer fires `phase` ns after each whole millisecond.
#[derive(Debug, Clone)]
struct ShardPlan {
    users: u64,
    phase: u64,
    spans: Vec<(u64, u64)>,
}

impl ShardPlan {
    fn waiting(&self, t: u64) -> u64 {
        if self.spans.iter().any(|&(a, b)| a <= t && t < b) {
            self.users
        } else {
            0
        }
    }

    fn next_start(&self, t: u64) -> Option<u64> {
        self.spans.iter().map(|s| s.0).filter(|&a| a > t).min()
    }
}

/// Runs the shards until `end`; returns the grants `(time, count)` in time order.
fn simulate(
    rate: u64,
    interval_ms: u64,
    plans: &[ShardPlan],
    jitter: &[u64],
    end: u64,
) -> Vec<(u64, u64)> {
    let mut ledger = Ledger::default();
    let interval = std::time::Duration::from_millis(interval_ms);
    ledger.schedule = Some(Schedule::new(rate, interval, 0));
    // Each shard's next tick; a stopped ticker restarts when its next span begins.
    let mut next: Vec<Option<u64>> = plans
        .iter()
        .map(|p| p.spans.iter().map(|s| s.0).min())
        .collect();
    let mut grants: Vec<(u64, u64)> = Vec::new();
    let mut k = 0usize;
    while let Some((i, now)) = next
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|t| (i, t)))
        .min_by_key(|&(i, t)| (t, i))
    {
        if now >= end {
            break;
        }
        let q = plans[i].waiting(now);
        if q == 0 {
            ledger.set_demand(now, i, 0);
            next[i] = plans[i].next_start(now);
            continue;
        }
        let c = ledger.claim(now, i, q);
        let mut n = c.n;
        if n == q {
            // All served: they come back at once, and pass while allowance is available
            // (G4); the first that finds none queues (and the others behind it).
            while n < 100_000 && ledger.try_pass(now, i, 1).n == 1 {
                n += 1;
            }
        }
        if n > 0 {
            match grants.last_mut() {
                Some((at, m)) if *at == now => *m += n,
                _ => grants.push((now, n)),
            }
        }
        k += 1;
        let j = jitter[k % jitter.len()];
        next[i] = Some(if c.n == q {
            // Demand-limited: the ticker runs again at once.
            now + 1_000
        } else {
            let target = (now + MS).max(c.next.unwrap_or(now + 50 * MS));
            let phase = plans[i].phase;
            target.saturating_sub(phase).div_ceil(MS) * MS + phase + j
        });
    }
    grants
}

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

/// Waiters per shard: often the same on every shard (as with users spread evenly).
fn users() -> impl Strategy<Value = u64> {
    prop_oneof![Just(500u64), Just(1), 1u64..=600]
}

/// 2–8 shards; shard 0 waits throughout (continuous demand), the others arrive and leave.
fn plans(end: u64) -> impl Strategy<Value = Vec<ShardPlan>> {
    let spans = proptest::collection::vec((0..end, 1..end), 0..4).prop_map(move |spans| {
        let mut v: Vec<(u64, u64)> = spans
            .into_iter()
            .map(|(a, len)| (a, (a + len).min(end)))
            .collect();
        v.sort_unstable();
        v
    });
    let other = (users(), 0..MS, prop_oneof![Just(vec![(0, end)]), spans]).prop_map(
        |(users, phase, spans)| ShardPlan {
            users,
            phase,
            spans,
        },
    );
    (users(), 0..MS, proptest::collection::vec(other, 1..8)).prop_map(
        move |(users, phase, others)| {
            let mut v = vec![ShardPlan {
                users,
                phase,
                spans: vec![(0, end)],
            }];
            v.extend(others);
            v
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// G1 and G3 with waiters on several shards: never more than `r` in a window, and at
    /// least 99 % of `r` per interval while requests wait continuously.
    #[test]
    fn several_shards_hold_the_rate(
        rate in prop_oneof![1u64..=300, 300u64..=5_000],
        plans in plans(3_000 * MS),
        jitter in proptest::collection::vec(0u64..50_000, 1..16),
    ) {
        let end = 3_000 * MS;
        let grants = simulate(rate, 1000, &plans, &jitter, end);
        prop_assert!(max_window(&grants, 1000 * MS) <= rate);
        let got: u64 = grants.iter().map(|g| g.1).sum();
        let want = 0.99 * 3.0 * rate as f64;
        prop_assert!(got as f64 >= want, "got {} of {} over 3 s", got, 3 * rate);
    }
}
