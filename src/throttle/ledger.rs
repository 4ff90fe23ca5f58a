//! The rate ledger every shard of a throttle claims from, and the striped grant counter.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::schedule::{split_from, Schedule};

const STRIPES: usize = 16;

/// A counter striped over cache lines, so that threads counting grants do not contend.
#[derive(Debug, Default)]
pub(crate) struct StripedCounter {
    stripes: [Padded; STRIPES],
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

impl StripedCounter {
    pub(crate) fn add(&self, n: u64) {
        let i = STRIPE.with(|s| *s);
        self.stripes[i].0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sum(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .fold(0u64, u64::wrapping_add)
    }
}

/// The rate ledger: the pure schedule plus each shard's demand, used to split what is
/// available among the shards that wait.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) schedule: Option<Schedule>,
    demand: Vec<u64>,
    turn: usize,
}

impl Ledger {
    /// Grants up to `want` to shard `idx` at `now`; returns the count and when to try again.
    pub(crate) fn claim(&mut self, now: u64, idx: usize, want: u64) -> (u64, Option<u64>) {
        if self.demand.len() <= idx {
            self.demand.resize(idx + 1, 0);
        }
        let idle = self.demand.iter().all(|&d| d == 0);
        self.demand[idx] = want;
        let Some(s) = self.schedule.as_mut() else {
            return (0, None);
        };
        let avail = s.available(now, idle);
        let others = self
            .demand
            .iter()
            .enumerate()
            .any(|(i, &d)| i != idx && d > 0);
        let share = if others && avail > 0 {
            self.turn = self.turn.wrapping_add(1);
            split_from(avail, &self.demand, self.turn)[idx]
        } else {
            avail
        };
        let n = share.min(want);
        s.record(now, n);
        (n, s.next_at(now))
    }

    pub(crate) fn set_demand(&mut self, idx: usize, d: u64) {
        if let Some(x) = self.demand.get_mut(idx) {
            *x = d;
        }
    }
}
