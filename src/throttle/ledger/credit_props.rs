//! Property tests of shard credit (batches claimed ahead by requests that pass at once): a
//! simulation of requests arriving on 1–4 shards at random gaps, passing from their shard's
//! credit, refilling it from the ledger, or queueing for their shard's ticker (1 ms), with
//! rate changes at random times (which void every credit), for intervals from 10 ms (no
//! batches) to 1 s.

use proptest::prelude::*;

use super::{Credit, Ledger, MAX_BATCH};
use crate::throttle::schedule::Schedule;

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;

#[derive(Debug, Clone)]
struct Plan {
    shards: usize,
    /// Gaps between requests (cycled) and the shard each goes to (cycled).
    gaps: Vec<u64>,
    who: Vec<usize>,
    /// Rate changes `(at, rate)`, in time order.
    changes: Vec<(u64, u64)>,
}

/// Per shard: its credit, its queue and its next tick.
#[derive(Debug, Clone, Default)]
struct ShardSim {
    credit: Credit,
    queued: u64,
    next_tick: u64,
}

/// Runs `plan` at `rate` per `interval` (ns) until `end`; returns the hand-out times, the
/// ledger's grant total after every credit was given back, and how many hand-outs came
/// before the last change.
fn simulate(rate: u64, interval: u64, plan: &Plan, end: u64) -> (Vec<u64>, u64, usize) {
    let interval = std::time::Duration::from_nanos(interval);
    let mut ledger = Ledger {
        schedule: Some(Schedule::new(rate, interval, 0)),
        ..Ledger::default()
    };
    let mut shards = vec![ShardSim::default(); plan.shards];
    let mut out = Vec::new();
    let mut changes = plan.changes.iter().peekable();
    let (mut now, mut k, mut before_last) = (0u64, 0usize, 0usize);
    while now < end {
        while let Some(&&(_, r)) = changes.peek().filter(|c| c.0 <= now) {
            if let Some(s) = ledger.schedule.as_mut() {
                s.reconfigure(r, interval, now);
            }
            before_last = out.len();
            changes.next();
        }
        let generation = ledger.schedule.as_ref().map_or(0, Schedule::generation);
        // The tickers of shards with requests queued.
        for (i, s) in shards.iter_mut().enumerate() {
            if s.queued > 0 && s.next_tick <= now {
                ledger.give_back(&mut s.credit);
                let c = ledger.claim(now, i, s.queued);
                out.extend(std::iter::repeat(now).take(c.n as usize));
                s.queued -= c.n;
                s.next_tick = now + MS;
            }
        }
        // One request.
        let i = plan.who[k % plan.who.len()] % plan.shards;
        let s = &mut shards[i];
        if s.queued > 0 {
            s.queued += 1;
        } else if s.credit.take(now, generation) {
            out.push(now);
        } else {
            ledger.give_back(&mut s.credit);
            let c = ledger.try_pass(now, i, MAX_BATCH);
            if c.n > 0 {
                s.credit = Credit::of(&c);
                out.push(now);
            } else {
                s.queued = 1;
                s.next_tick = now;
            }
        }
        now += plan.gaps[k % plan.gaps.len()];
        k += 1;
    }
    for s in &mut shards {
        ledger.give_back(&mut s.credit);
    }
    let total = ledger.schedule.as_ref().map_or(0, Schedule::total_granted);
    (out, total, before_last)
}

fn max_window(times: &[u64], window: u64) -> u64 {
    let (mut lo, mut best) = (0, 0);
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= window {
            lo += 1;
        }
        best = best.max((hi - lo + 1) as u64);
    }
    best
}

fn plan(max_gap: u64, changes: bool) -> impl Strategy<Value = Plan> {
    let ch = if changes {
        proptest::collection::vec((0..2 * SECOND, 1u64..=20_000), 0..4).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        1usize..=4,
        proptest::collection::vec(0..=max_gap, 1..32),
        proptest::collection::vec(0usize..4, 1..16),
        ch,
    )
        .prop_map(|(shards, gaps, who, mut changes)| {
            changes.sort_unstable();
            Plan {
                shards,
                gaps,
                who,
                changes,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// G1 for the hand-out times of credit, with and without rate changes: at most `r` in
    /// any window of the interval (after the last change: the last rate; across changes:
    /// the largest), and no grant is left counted for credit that was given back.
    #[test]
    fn credit_never_exceeds_the_rate(
        rate in prop_oneof![1u64..=300, 300u64..=50_000, Just(1_000_000)],
        interval in prop_oneof![Just(SECOND), Just(100 * MS), Just(10 * MS)],
        plan in plan(400_000, true),
    ) {
        let end = 2 * SECOND + 500 * MS;
        let (out, total, before_last) = simulate(rate, interval, &plan, end);
        prop_assert_eq!(total, out.len() as u64);
        let top = plan.changes.iter().map(|c| c.1).chain([rate]).max().unwrap_or(rate);
        prop_assert!(max_window(&out, interval) <= top);
        let last = plan.changes.last().map_or(rate, |c| c.1);
        prop_assert!(max_window(&out[before_last..], interval) <= last);
    }

    /// G3 with credit: requests arriving at least twice as fast as the rate get at least
    /// 99 % of it (minus one tick's batch) over four intervals; credit that lapses does not
    /// eat into it.
    #[test]
    fn credit_keeps_the_rate_under_demand(
        rate in 100u64..=20_000,
        // (At 10 ms the window bound costs more than 1 % with per-tick batches, with or
        // without credit: a known limit, not this property's subject.)
        interval in prop_oneof![Just(SECOND), Just(100 * MS)],
        plan in plan(1, false),
    ) {
        let gap = (interval / (2 * rate)).max(1);
        let plan = Plan { gaps: plan.gaps.iter().map(|g| g * gap + gap / 2).collect(), ..plan };
        let (out, _, _) = simulate(rate, interval, &plan, 4 * interval);
        // One tick's batch, and one more for the last tick before the end of the run.
        let bank = (rate * MS).div_ceil(interval);
        prop_assert!(out.len() as f64 >= 0.99 * (4 * rate) as f64 - 2.0 * bank as f64 - 1.0,
            "{} of {}", out.len(), 4 * rate);
    }
}

#[test]
fn credit_given_back_is_available_again() {
    let mut l = Ledger {
        schedule: Some(Schedule::new(
            1_000_000,
            std::time::Duration::from_secs(1),
            0,
        )),
        ..Ledger::default()
    };
    // 5 ms at 1 M/s: plenty; one tick's worth is 1 000, the batch 64.
    let c = l.try_pass(5 * MS, 0, MAX_BATCH);
    assert_eq!(c.n, MAX_BATCH);
    let mut credit = Credit::of(&c);
    assert!(credit.take(5 * MS + 1, 0));
    // The credit lapses after the hold and is void after a change.
    let (mut late, mut changed) = (credit, credit);
    assert!(!late.take(5 * MS + super::HOLD, 0));
    assert!(!changed.take(5 * MS + 1, 1));
    assert_eq!(credit.left(), MAX_BATCH - 2);
    l.give_back(&mut credit);
    assert_eq!(credit.left(), 0);
    assert_eq!(l.schedule.as_ref().map(Schedule::total_granted), Some(2));
}
