//! The rate ledger every shard of a throttle claims from, and the striped grant counter.
//!
//! **Sharing among shards.** When several shards wait, what is available at a claim is
//! divided in proportion to their waiting requests ([`split_from`], ties rotating with every
//! grant, over the shards that wait). A share is a priority, not a reservation: what a shard
//! has not claimed within [`GRACE`] of becoming due goes to whichever shard claims next. So a
//! permit is never left unclaimed while a shard waits for it (at low rates a tick's share
//! rounds to 0 for all shards but one; the permit then waits at most `GRACE` for that shard,
//! far less than the catch-up horizon `H` after which allowance is forfeited).
//!
//! **Credit (G4 without a shared lock per request).** A request that finds allowance while
//! no other shard waits claims up to a small batch (at most one tick's worth, [`MAX_BATCH`])
//! for its shard: the first permit is its own, the rest is [`Credit`] that later requests
//! on that shard take without touching the ledger, until [`HOLD`] after the claim or a
//! change of configuration. The batch enters the window log at the end of the hold (so G1
//! holds for the hand-out times), and what is left when the credit lapses is given back.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::schedule::{split_from, Schedule, TICK};

const TICK_NS: u64 = TICK.as_nanos() as u64;

const STRIPES: usize = 16;

/// How long a permit is held for the shard whose share it is before any shard may take it.
pub(crate) const GRACE: u64 = 2_000_000;

/// The most permits a request with allowance to spare claims for its shard.
pub(crate) const MAX_BATCH: u64 = 64;

/// How long a shard may hand out the credit it claimed: 1/1024 of the interval (a batch
/// logged that much late costs at most that share of the rate), at most one tick.
pub(crate) const HOLD: u64 = TICK_NS;

/// Shorter holds than this are not worth a batch (intervals under about 51 ms).
const MIN_HOLD: u64 = 50_000;

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

/// What a claim got: `n` permits, the first of them due at `first_due` and the others every
/// `interval_ns / rate` after it, and when a permit could be available again (`None`: not
/// before a change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) n: u64,
    pub(crate) first_due: u64,
    pub(crate) next: Option<u64>,
    /// Allowance newly counted as missed (forfeited while idle) by this claim.
    pub(crate) missed: u64,
    rate: u64,
    interval_ns: u64,
    /// For a held batch ([`Ledger::try_pass`]): until when it may be handed out, its log
    /// key and the configuration generation.
    held_until: Option<u64>,
    key: u64,
    generation: u64,
}

impl Claim {
    /// No permit, and none before `next` (a node whose cluster lease lapsed asks again then).
    pub(crate) fn nothing(next: u64) -> Claim {
        Claim {
            n: 0,
            first_due: next,
            next: Some(next),
            missed: 0,
            rate: 0,
            interval_ns: 0,
            held_until: None,
            key: 0,
            generation: 0,
        }
    }
}

/// Permits a shard claimed ahead ([`Ledger::try_pass`]): handed out one by one while the
/// configuration is the one they were claimed under, until `until`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Credit {
    left: u64,
    until: u64,
    key: u64,
    generation: u64,
}

impl Credit {
    /// The credit a claim leaves after its first permit (none unless it was a batch).
    pub(crate) fn of(c: &Claim) -> Self {
        match c.held_until {
            Some(until) => Self {
                left: c.n.saturating_sub(1),
                until,
                key: c.key,
                generation: c.generation,
            },
            None => Self::default(),
        }
    }

    /// Takes one permit at `now` under configuration `generation`, if the credit holds one.
    pub(crate) fn take(&mut self, now: u64, generation: u64) -> bool {
        let ok = self.left > 0 && now < self.until && generation == self.generation;
        self.left -= u64::from(ok);
        ok
    }

    /// Permits left to give back.
    pub(crate) fn left(&self) -> u64 {
        self.left
    }
}

impl Claim {
    /// When the `i`-th permit of this claim was due (never after the claim).
    pub(crate) fn due(&self, i: u64, now: u64) -> u64 {
        let rate = self.rate.max(1);
        let off = match i.checked_mul(self.interval_ns) {
            Some(p) => p / rate,
            None => {
                let q = u128::from(i) * u128::from(self.interval_ns) / u128::from(rate);
                u64::try_from(q).unwrap_or(u64::MAX)
            }
        };
        self.first_due.saturating_add(off).min(now)
    }
}

/// The rate ledger: the pure schedule plus each shard's demand, used to share what is
/// available among the shards that wait.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) schedule: Option<Schedule>,
    demand: Vec<u64>,
    /// The last time a request was known to wait (on any shard).
    waited_at: Option<u64>,
}

/// The idle rule: nothing waits now and nothing has waited for a tick or more.
fn idle_at(demand: &[u64], waited_at: Option<u64>, now: u64) -> bool {
    demand.iter().all(|&d| d == 0) && waited_at.map_or(true, |t| now.saturating_sub(t) >= TICK_NS)
}

impl Ledger {
    /// A tick of shard `idx` with `want` requests waiting: grants up to `want` at `now`.
    pub(crate) fn claim(&mut self, now: u64, idx: usize, want: u64) -> Claim {
        self.grant(now, idx, want, want, 0)
    }

    /// A request arriving at shard `idx` while nothing waits there: grants it at once if
    /// allowance is available (G4). If no other shard waits, up to `batch` permits (at most
    /// one tick's worth) are claimed: the others are the shard's [`Credit`] for the hold
    /// (see [`HOLD`]). If none is available, the shard's demand is recorded as one waiter,
    /// since the request will queue.
    pub(crate) fn try_pass(&mut self, now: u64, idx: usize, batch: u64) -> Claim {
        self.set_demand(now, idx, 0);
        let alone = self.demand.iter().all(|&d| d == 0);
        let (want, hold) = match self.schedule.as_ref() {
            Some(s) if alone => {
                let hold = (s.interval_ns() >> 10).min(HOLD);
                if hold >= MIN_HOLD {
                    (batch.min(s.bank()).max(1), hold)
                } else {
                    (1, 0)
                }
            }
            _ => (1, 0),
        };
        let c = self.grant(now, idx, want, 0, hold);
        if c.n == 0 {
            self.set_demand(now, idx, 1);
        }
        c
    }

    /// Takes back the permits `credit` still holds (it lapsed, or its shard queues).
    pub(crate) fn give_back(&mut self, credit: &mut Credit) {
        if credit.left > 0 {
            if let Some(s) = self.schedule.as_mut() {
                s.give_back(credit.key, credit.left, credit.generation);
            }
        }
        *credit = Credit::default();
    }

    /// Allowance missed so far (forfeited while no request waited), as it stands at `now`.
    pub(crate) fn missed(&self, now: u64) -> u64 {
        let idle = idle_at(&self.demand, self.waited_at, now);
        self.schedule.as_ref().map_or(0, |s| s.missed_at(now, idle))
    }

    /// Records at `now` that shard `idx` has `d` requests waiting.
    pub(crate) fn set_demand(&mut self, now: u64, idx: usize, d: u64) {
        if self.demand.len() <= idx {
            self.demand.resize(idx + 1, 0);
        }
        if d > 0 || self.demand.iter().any(|&d| d > 0) {
            self.waited_at = Some(now);
        }
        self.demand[idx] = d;
    }

    /// Grants up to `want` to shard `idx` (which keeps `queued` waiting); a batch of more
    /// than one with `hold > 0` is held until `now + hold` (see [`Credit`]).
    fn grant(&mut self, now: u64, idx: usize, want: u64, queued: u64, hold: u64) -> Claim {
        if self.demand.len() <= idx {
            self.demand.resize(idx + 1, 0);
        }
        // Idle: no request has waited for a tick or more (G2 then banks one tick's worth;
        // what accrued while requests waited is kept up to `H`).
        let idle = idle_at(&self.demand, self.waited_at, now);
        if self.demand.iter().any(|&d| d > 0) {
            self.waited_at = Some(now);
        }
        self.demand[idx] = queued;
        let Some(s) = self.schedule.as_mut() else {
            return Claim {
                n: 0,
                first_due: now,
                next: None,
                missed: 0,
                rate: 0,
                interval_ns: 1,
                held_until: None,
                key: now,
                generation: 0,
            };
        };
        let missed_before = s.missed();
        // Due time of the oldest slot not granted, before a late timer's or an idle period's
        // forfeit moves it: a request that waited through them was due then.
        let oldest_due = s.due_of_next();
        let avail = s.available(now, idle);
        let missed = s.missed() - missed_before;
        let others = self
            .demand
            .iter()
            .enumerate()
            .any(|(i, &d)| i != idx && d > 0);
        let n = if avail == 0 {
            0
        } else if !others {
            avail.min(want)
        } else {
            let mut weights = self.demand.clone();
            weights[idx] = want;
            let waiting = weights.iter().filter(|&&w| w > 0).count() as u64;
            // Rotate ties over the shards that wait, one step per grant.
            let k = (s.total_granted() % waiting.max(1)) as usize;
            let first = weights
                .iter()
                .enumerate()
                .filter(|(_, &w)| w > 0)
                .nth(k)
                .map_or(0, |(i, _)| i);
            let share = split_from(avail, &weights, first)[idx];
            let stale = s.pending_at(now.saturating_sub(GRACE)).min(avail);
            share.max(stale).min(want)
        };
        let first_due = oldest_due.min(now);
        let held_until = (n > 1 && hold > 0).then(|| now.saturating_add(hold));
        let key = match held_until {
            Some(until) => s.record_held(now, until, n),
            None => {
                s.record(now, n);
                now
            }
        };
        self.demand[idx] = queued.saturating_sub(n);
        Claim {
            n,
            first_due,
            next: s.next_at(now),
            missed,
            rate: s.rate(),
            interval_ns: s.interval_ns(),
            held_until,
            key,
            generation: s.generation(),
        }
    }
}

#[cfg(test)]
mod credit_props;
#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MS: u64 = 1_000_000;

    fn ledger(rate: u64) -> Ledger {
        Ledger {
            schedule: Some(Schedule::new(rate, Duration::from_secs(1), 0)),
            ..Ledger::default()
        }
    }

    #[test]
    fn a_crowd_after_idleness_gets_one_ticks_batch() {
        let mut l = ledger(100_000); // b = 100
        assert_eq!(l.claim(0, 0, 1).n, 1);
        l.set_demand(0, 0, 0);
        assert_eq!(l.claim(10 * MS, 0, 1_000).n, 100);
        // A(10 ms) = 1 001: one granted, 100 banked, 900 missed.
        assert_eq!(l.schedule.as_ref().map(Schedule::missed), Some(900));
    }

    #[test]
    fn allowance_accrued_while_waiting_is_kept_across_a_short_gap() {
        let mut l = ledger(100_000);
        assert_eq!(l.try_pass(0, 0, 1).n, 1);
        // A request waits from 0 to 5 ms; its shard empties at 5 ms (one grant)...
        assert_eq!(l.try_pass(0, 0, 1).n, 0);
        assert_eq!(l.claim(5 * MS, 0, 1).n, 1);
        l.set_demand(5 * MS, 0, 0);
        // ... and users coming back at once find what accrued meanwhile.
        let mut n = 0;
        while l.try_pass(5 * MS, 0, 1).n == 1 {
            n += 1;
        }
        assert_eq!(n, 499);
    }

    #[test]
    fn a_share_is_held_for_its_shard_only_for_the_grace() {
        let mut l = ledger(10); // one permit every 100 ms
        assert_eq!(l.claim(0, 0, 5).n, 1);
        l.set_demand(0, 1, 5);
        // At 100 ms one permit is due; shard 0 just got one, so the tie favours shard 1.
        assert_eq!(l.claim(100 * MS, 0, 5).n, 0);
        // Shard 1 did not come within the grace: shard 0 takes it.
        let c = l.claim(100 * MS + GRACE, 0, 5);
        assert_eq!((c.n, c.first_due), (1, 100 * MS));
    }

    #[test]
    fn a_lone_request_passes_at_once_and_a_second_queues() {
        let mut l = ledger(10);
        assert_eq!(l.try_pass(0, 0, 1).n, 1);
        let c = l.try_pass(MS, 0, 1);
        assert_eq!((c.n, c.next), (0, Some(100 * MS)));
        // It is recorded as waiting: the throttle is not idle.
        assert_eq!(l.claim(100 * MS, 0, 1).n, 1);
    }
}
