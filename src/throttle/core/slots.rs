//! A throttle's concurrency slots and its cluster lease gate: what a leased throttle checks
//! where it grants, so that a lapsed lease stops grants even before the cluster agent sets
//! the share to 0.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::time::Instant;

use super::Core;
use crate::throttle::leasing::LeaseClock;

impl Core {
    /// Makes the grants of this throttle depend on the node's cluster lease (`Some`), or not.
    pub(crate) fn set_lease(&self, clock: Option<&Arc<LeaseClock>>) {
        match clock {
            Some(c) => {
                let _ = self.lease.set(c.clone());
                self.leased.store(true, Ordering::Release);
                // Waiters of a lapsed lease ask again.
                self.changed.notify_waiters();
            }
            None => self.leased.store(false, Ordering::Release),
        }
    }

    /// Whether this throttle is leased and the node's lease has lapsed at `now`: it then
    /// grants nothing, whatever share it holds. Checked on the grant path itself because a
    /// woken node (SIGSTOPped, then continued) runs its throttles' timers before its cluster
    /// agent sees the lapse.
    pub(crate) fn lease_lapsed(&self, now: Instant) -> bool {
        self.leased.load(Ordering::Acquire) && self.lease.get().is_some_and(|c| !c.valid_at(now))
    }

    /// Takes up to `want` concurrency slots; returns how many. Slots above a limit lowered
    /// meanwhile go back unused (cluster slot quotas are acknowledged on that).
    pub(crate) fn acquire_slots(&self, want: u64) -> u64 {
        if self.lease_lapsed(Instant::now()) {
            return 0;
        }
        let (sc, mut got, mut total) = (Ordering::SeqCst, 0, 0);
        let limit = self.conc_limit.load(sc);
        let _ = self.in_flight.fetch_update(sc, sc, |cur| {
            got = limit.saturating_sub(cur).min(want);
            total = cur + got;
            (got > 0).then_some(total)
        });
        let excess = got.min(total.saturating_sub(self.conc_limit.load(sc)));
        if excess > 0 {
            self.in_flight.fetch_sub(excess, sc);
            self.changed.notify_waiters();
        }
        got - excess
    }

    pub(crate) fn release_slot(&self) {
        let prev = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1));
        if prev.is_err() {
            let why = "throttle has invalid in_flight";
            self.process("error", why, Some(("n", 0.into())));
        }
        if self.busy_shards.load(Ordering::Acquire) > 0 {
            self.changed.notify_waiters();
        }
    }

    pub(crate) fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }
}
