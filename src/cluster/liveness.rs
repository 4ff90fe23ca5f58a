//! Who is alive: heartbeats counted by the master (per worker) and by each worker (of its
//! master). Pure: time comes in as ticks and instants.
//!
//! * The master ticks once per heartbeat period; a worker that sent no heartbeat during
//!   `limit` consecutive ticks is lost (default 5: lost 5–6 periods after its last one).
//! * A worker holds a lease on its master: renewed by each master heartbeat, lapsed `length`
//!   after the last one, measured on the worker's own monotonic clock (no clock sync).

use std::time::Duration;

use tokio::time::Instant;

/// The master's count of one worker's heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    missed: u32,
    heard: bool,
    limit: u32,
}

/// What a tick found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Heard from recently enough.
    Alive,
    /// Silent for `limit` ticks: lost.
    Lost,
}

impl Liveness {
    /// A worker just admitted (counts as heard), lost after `limit` silent ticks (at least 1).
    pub fn new(limit: u32) -> Self {
        Self {
            missed: 0,
            heard: true,
            limit: limit.max(1),
        }
    }

    /// A heartbeat arrived.
    pub fn on_heartbeat(&mut self) {
        self.heard = true;
    }

    /// A heartbeat period ended.
    pub fn on_tick(&mut self) -> Verdict {
        if std::mem::take(&mut self.heard) {
            self.missed = 0;
        } else {
            self.missed += 1;
        }
        if self.missed >= self.limit {
            Verdict::Lost
        } else {
            Verdict::Alive
        }
    }
}

/// A worker's lease on its master (and the throttle shares the master gave it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    until: Instant,
    length: Duration,
}

impl Lease {
    /// A lease taken at `now`, lapsing `length` later unless renewed.
    pub fn new(now: Instant, length: Duration) -> Self {
        Self {
            until: now + length,
            length,
        }
    }

    /// The master was heard at `now`.
    pub fn renew(&mut self, now: Instant) {
        self.until = self.until.max(now + self.length);
    }

    /// Whether the lease still holds at `now`.
    pub fn holds(&self, now: Instant) -> bool {
        now < self.until
    }

    /// When it lapses (unless renewed).
    pub fn until(&self) -> Instant {
        self.until
    }
}

/// When the master may reuse the share of a node last renewed at `last_renewal`: after the
/// node's lease (`lease`), one throttle interval and a margin, so a node that is alive but cut
/// off has stopped granting before anyone else grants its share.
pub fn reclaim_at(
    last_renewal: Instant,
    lease: Duration,
    interval: Duration,
    margin: Duration,
) -> Instant {
    last_renewal + lease + interval + margin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_lost_after_limit_silent_ticks() {
        let mut l = Liveness::new(5);
        for _ in 0..4 {
            assert_eq!(l.on_tick(), Verdict::Alive);
        }
        assert_eq!(l.on_tick(), Verdict::Alive, "admission counts as heard");
        assert_eq!(l.on_tick(), Verdict::Lost);
    }

    #[test]
    fn a_heartbeat_resets_the_count() {
        let mut l = Liveness::new(3);
        l.on_tick();
        l.on_tick();
        l.on_heartbeat();
        assert_eq!(l.on_tick(), Verdict::Alive);
        assert_eq!(l.on_tick(), Verdict::Alive);
        assert_eq!(l.on_tick(), Verdict::Alive);
        assert_eq!(l.on_tick(), Verdict::Lost);
    }

    #[test]
    fn a_lease_lapses_length_after_the_last_renewal() {
        let t0 = Instant::now();
        let mut lease = Lease::new(t0, Duration::from_secs(5));
        assert!(lease.holds(t0 + Duration::from_millis(4999)));
        lease.renew(t0 + Duration::from_secs(3));
        assert!(lease.holds(t0 + Duration::from_millis(7999)));
        assert!(!lease.holds(t0 + Duration::from_secs(8)));
        // An older renewal never shortens it.
        lease.renew(t0);
        assert_eq!(lease.until(), t0 + Duration::from_secs(8));
    }

    #[test]
    fn a_lost_share_is_reused_only_after_the_lease_lapsed_on_the_node() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let at = reclaim_at(t0, 5 * s, s, Duration::from_millis(500));
        let node_lease = Lease::new(t0, 5 * s);
        assert!(!node_lease.holds(at));
        assert_eq!(at - node_lease.until(), Duration::from_millis(1500));
    }
}
