//! The rate schedule of SPEC 6.4 as plain data and pure functions, apart from any actor.
//!
//! Time is a `u64` of nanoseconds on the throttle's own clock. A [`Schedule`] holds one
//! finite-rate configuration `(r, I)`:
//!
//! * **Allowance.** `A(t) = ⌊(t − epoch)·r / I⌋ + 1` permits since the epoch (0 before it);
//!   the granted count never exceeds `A(t)`, so grants follow an even schedule with spacing
//!   `δ = I / r` (at high rates, batches of what accrued since the last tick).
//! * **Banking (G2).** When nobody was waiting, unused allowance is forfeited down to
//!   `b = max(1, ⌈r·g / I⌉)` permits (one tick `g` = 1 ms) and counted as *missed*; while
//!   requests wait, allowance missed by a late timer is kept for at most `H` = 10 ms.
//! * **Due times.** Permit `k` (0-based since the epoch) is due at `epoch + ⌈k·I / r⌉`.
//! * **Window bound (G1).** A sliding log of the grants of the last `I` refuses any grant that
//!   would put more than `r` grants in a half-open window of length `I`.
//! * **Changes.** [`Schedule::reconfigure`] starts a new epoch no earlier than the last grant
//!   plus `I / r_new`, and keeps the log, so a window spanning the change holds at most
//!   `max(r_old, r_new)`.
//! * **Held batches.** [`Schedule::record_held`] records a batch a caller hands out one by
//!   one until a deadline: it enters the log at the deadline, so G1 holds for the hand-out
//!   times; what is not handed out goes back with [`Schedule::give_back`].
//!
//! [`split`] divides an amount into shares proportional to weights that sum exactly to it.

mod split;

use std::collections::VecDeque;
use std::time::Duration;

pub use split::{split, split_from};

/// The timer tick `g`: 1 ms.
pub const TICK: Duration = Duration::from_millis(1);
/// How much allowance missed by a late timer may be caught up, `H`: 10 ms.
pub const CATCH_UP: Duration = Duration::from_millis(10);

const TICK_NS: u128 = 1_000_000;
const CATCH_UP_NS: u128 = 10_000_000;

/// The allowance model and grant log of one finite-rate configuration.
///
/// ```
/// use std::time::Duration;
/// use amoc::throttle::schedule::Schedule;
/// let mut s = Schedule::new(10, Duration::from_secs(1), 0);
/// assert_eq!(s.claim(0, 100, true), 1); // the first grant is immediate
/// assert_eq!(s.claim(50_000_000, 100, false), 0); // spacing is 100 ms
/// assert_eq!(s.next_at(50_000_000), Some(100_000_000));
/// assert_eq!(s.claim(100_000_000, 100, false), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Schedule {
    rate: u64,
    interval_ns: u64,
    epoch: u64,
    granted: u64,
    bank: u64,
    catch_up: u64,
    log: VecDeque<(u64, u64)>,
    in_window: u64,
    last_grant: Option<u64>,
    total: u64,
    missed: u64,
    generation: u64,
}

fn ceil_div(a: u128, b: u128) -> u128 {
    if b == 0 {
        return u128::MAX;
    }
    a / b + u128::from(a % b != 0)
}

fn sat_u64(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

impl Schedule {
    /// A schedule of `rate` per `interval` (interval at least 1 ns; rate 0 grants nothing)
    /// whose epoch is `now`.
    pub fn new(rate: u64, interval: Duration, now: u64) -> Self {
        let mut s = Self {
            rate: 0,
            interval_ns: 1,
            epoch: now,
            granted: 0,
            bank: 1,
            catch_up: 1,
            log: VecDeque::new(),
            in_window: 0,
            last_grant: None,
            total: 0,
            missed: 0,
            generation: 0,
        };
        s.set(rate, interval, now);
        s
    }

    fn set(&mut self, rate: u64, interval: Duration, epoch: u64) {
        self.rate = rate;
        self.interval_ns = sat_u64(interval.as_nanos()).max(1);
        let i = u128::from(self.interval_ns);
        let r = u128::from(rate);
        self.bank = sat_u64(ceil_div(r * TICK_NS, i)).max(1);
        self.catch_up = sat_u64(ceil_div(r * CATCH_UP_NS, i)).max(self.bank);
        self.epoch = epoch;
        self.granted = 0;
    }

    /// Applies a new `(rate, interval)` at `now`: a new epoch no earlier than the last grant
    /// plus `interval / rate` (a held batch counts as granted until `now`: the caller stops
    /// handing it out at the change); the grant log is kept. Starts a new
    /// [`generation`](Self::generation).
    pub fn reconfigure(&mut self, rate: u64, interval: Duration, now: u64) {
        let i = interval.as_nanos().max(1);
        let epoch = match (self.last_grant, rate) {
            (Some(last), r) if r > 0 => {
                let spacing = sat_u64(ceil_div(i, u128::from(r)));
                now.max(last.min(now).saturating_add(spacing))
            }
            _ => now,
        };
        self.set(rate, interval, epoch);
        self.generation += 1;
    }

    /// How many times [`reconfigure`](Self::reconfigure) was called: a held batch is valid
    /// only in the generation it was recorded in.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The rate per interval.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The interval in nanoseconds.
    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    /// `b`: how many permits an idle throttle banks (one tick's worth, at least 1).
    pub fn bank(&self) -> u64 {
        self.bank
    }

    /// Grants made since this schedule was created (all configurations).
    pub fn total_granted(&self) -> u64 {
        self.total
    }

    /// Allowance forfeited because no request was waiting when it accrued (beyond the bank),
    /// since this schedule was created: what the callers missed.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// [`missed`](Self::missed) as it stands at `t`: with `idle` (no request waiting), what
    /// accrued beyond the bank since the last claim counts too.
    pub fn missed_at(&self, t: u64, idle: bool) -> u64 {
        if !idle || self.rate == 0 {
            return self.missed;
        }
        let floor = self.allowance(t).saturating_sub(self.bank);
        self.missed
            .saturating_add(floor.saturating_sub(self.granted))
    }

    /// Permits due by `t` and not yet granted (after the last forfeit).
    pub fn pending_at(&self, t: u64) -> u64 {
        self.allowance(t).saturating_sub(self.granted)
    }

    /// When the next permit's slot in the even schedule is (was) due: the epoch plus
    /// `⌈granted·I / r⌉`.
    pub fn due_of_next(&self) -> u64 {
        if self.rate == 0 {
            return u64::MAX;
        }
        let wait = ceil_div(
            u128::from(self.granted) * u128::from(self.interval_ns),
            u128::from(self.rate),
        );
        sat_u64(u128::from(self.epoch) + wait)
    }

    /// `A(t)`: the permits allowed since the epoch.
    pub fn allowance(&self, t: u64) -> u64 {
        if t < self.epoch {
            return 0;
        }
        let elapsed = u128::from(t - self.epoch);
        sat_u64(elapsed * u128::from(self.rate) / u128::from(self.interval_ns)).saturating_add(1)
    }

    fn expire(&mut self, t: u64) {
        while let Some(&(at, n)) = self.log.front() {
            if at.saturating_add(self.interval_ns) <= t {
                self.in_window -= n;
                self.log.pop_front();
            } else {
                break;
            }
        }
    }

    /// How many permits may be granted at `t`. `idle`: no request was waiting before this
    /// one, so unused allowance beyond one tick's worth is forfeited; otherwise beyond `H`.
    pub fn available(&mut self, t: u64, idle: bool) -> u64 {
        if self.rate == 0 {
            return 0;
        }
        self.expire(t);
        let a = self.allowance(t);
        let cap = if idle { self.bank } else { self.catch_up };
        let floor = a.saturating_sub(cap);
        if floor > self.granted {
            if idle {
                self.missed = self.missed.saturating_add(floor - self.granted);
            }
            self.granted = floor;
        }
        let by_allowance = a.saturating_sub(self.granted);
        let by_window = self.rate.saturating_sub(self.in_window);
        by_allowance.min(by_window)
    }

    /// Records `n` grants at `t` (callers grant at most [`available`](Self::available)).
    ///
    /// Above 4 096 per interval the log keeps grants in buckets of `I / 4096`, rounded up: a
    /// grant logged later than it was made stays in the window longer, so G1 still holds,
    /// the log stays short at a million grants per interval, and the window frees up at most
    /// `I / 4096` late. Lower rates are logged exactly.
    pub fn record(&mut self, t: u64, n: u64) {
        self.log_grants(t, n);
    }

    /// Records `n` grants decided at `t` whose permits the caller hands out one by one until
    /// `until` (at most), never later and never after a change: they enter the window log at
    /// `until` (a grant logged later than it was made only stays in the window longer, so
    /// G1 holds for the hand-out times). Returns the key of the log entry that holds them,
    /// for [`give_back`](Self::give_back).
    ///
    /// ```
    /// use std::time::Duration;
    /// use amoc::throttle::schedule::Schedule;
    /// let mut s = Schedule::new(1000, Duration::from_secs(1), 0);
    /// let n = s.available(5_000_000, false).min(4); // 5 ms of a rate of 1 000/s, capped at 4
    /// let key = s.record_held(5_000_000, 6_000_000, n);
    /// assert_eq!((n, s.available(5_000_000, false)), (4, 2));
    /// s.give_back(key, 3, s.generation()); // only one was handed out
    /// assert_eq!(s.available(5_000_000, false), 5);
    /// ```
    pub fn record_held(&mut self, t: u64, until: u64, n: u64) -> u64 {
        self.log_grants(until.max(t), n)
    }

    /// Takes back `n` permits of a batch recorded with [`record_held`](Self::record_held)
    /// under `generation` that were never handed out: they leave the window log and, if the
    /// configuration is still the same, become available again (within the catch-up and
    /// idle caps, applied at the next [`available`](Self::available)).
    pub fn give_back(&mut self, key: u64, n: u64, generation: u64) {
        self.total = self.total.saturating_sub(n);
        if generation == self.generation {
            self.granted = self.granted.saturating_sub(n);
        }
        // Keys are strictly increasing: a later grant is merged into the last entry.
        if let Ok(i) = self.log.binary_search_by_key(&key, |e| e.0) {
            let m = n.min(self.log[i].1);
            self.log[i].1 -= m;
            self.in_window -= m;
        }
    }

    /// Counts `n` grants and logs them at `t` (rounded up to the log's bucket); returns the
    /// key of the entry that holds them.
    fn log_grants(&mut self, t: u64, n: u64) -> u64 {
        if n == 0 {
            return t;
        }
        self.granted = self.granted.saturating_add(n);
        self.in_window = self.in_window.saturating_add(n);
        self.total = self.total.saturating_add(n);
        let bucket = if self.rate < 4096 {
            1
        } else {
            (self.interval_ns >> 12).max(1)
        };
        let at = t.div_ceil(bucket).saturating_mul(bucket).max(t);
        let key = match self.log.back_mut() {
            Some((last, m)) if *last >= at => {
                *m += n;
                *last
            }
            _ => {
                self.log.push_back((at, n));
                at
            }
        };
        self.last_grant = Some(self.last_grant.map_or(t, |l| l.max(t)));
        key
    }

    /// Grants up to `want` permits at `t` and returns how many.
    pub fn claim(&mut self, t: u64, want: u64, idle: bool) -> u64 {
        let n = self.available(t, idle).min(want);
        self.record(t, n);
        n
    }

    /// The earliest time `≥ t` at which a permit could be available, `None` if never (rate 0).
    pub fn next_at(&self, t: u64) -> Option<u64> {
        if self.rate == 0 {
            return None;
        }
        let by_allowance = if self.granted == 0 {
            self.epoch
        } else {
            let wait = ceil_div(
                u128::from(self.granted) * u128::from(self.interval_ns),
                u128::from(self.rate),
            );
            sat_u64(u128::from(self.epoch) + wait)
        };
        let mut by_window = t;
        if self.in_window >= self.rate {
            // The window frees up when enough of the oldest entries leave it.
            let mut left = self.in_window;
            for &(at, n) in &self.log {
                left -= n.min(left);
                if at.saturating_add(self.interval_ns) > t && left < self.rate {
                    by_window = at.saturating_add(self.interval_ns);
                    break;
                }
            }
        }
        Some(t.max(by_allowance).max(by_window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn even_spacing_and_bank() {
        let mut s = Schedule::new(10, Duration::from_secs(1), 0);
        assert_eq!(s.claim(0, 5, true), 1);
        assert_eq!(s.claim(99 * MS, 5, false), 0);
        assert_eq!(s.claim(100 * MS, 5, false), 1);
        // Idle for 10 s: only one permit is banked.
        assert_eq!(s.claim(10_000 * MS, 5, true), 1);
        assert_eq!(s.claim(10_001 * MS, 5, false), 0);
    }

    #[test]
    fn reconfigure_keeps_spacing() {
        let mut s = Schedule::new(1, Duration::from_secs(60), 0);
        assert_eq!(s.claim(0, 1, true), 1);
        s.reconfigure(60_000, Duration::from_secs(60), 10 * MS);
        assert_eq!(s.claim(10 * MS, 100, false), 1);
        assert_eq!(s.claim(20 * MS, 100, false), 10);
    }

    #[test]
    fn a_held_batch_stays_in_the_window_until_its_hold_ends_plus_the_interval() {
        let mut s = Schedule::new(4000, Duration::from_secs(1), 0);
        assert!(s.available(10 * MS, false) >= 4);
        let hold = MS;
        s.record_held(10 * MS, 10 * MS + hold, 4);
        // A decrease makes the window bind: 4 per second, and 4 were (maybe) handed out as
        // late as 11 ms.
        s.reconfigure(4, Duration::from_secs(1), 10 * MS);
        assert_eq!(s.available(1_010 * MS, false), 0);
        assert_eq!(s.available(1_011 * MS - 1, false), 0);
        assert!(s.available(1_011 * MS, false) >= 1);
    }

    #[test]
    fn rate_zero_never() {
        let mut s = Schedule::new(0, Duration::from_secs(60), 0);
        assert_eq!(s.claim(0, 1, true), 0);
        assert_eq!(s.next_at(0), None);
    }

    #[test]
    fn window_blocks_after_decrease() {
        let mut s = Schedule::new(1000, Duration::from_secs(1), 0);
        let mut t = 0;
        let mut n = 0;
        while t < 1000 * MS {
            n += s.claim(t, u64::MAX, false);
            t += MS;
        }
        assert!(n >= 999, "{n}");
        s.reconfigure(10, Duration::from_secs(1), t);
        assert_eq!(s.claim(t, 10, false), 0);
        let next = s.next_at(t).unwrap();
        assert!(next > t);
    }
}
