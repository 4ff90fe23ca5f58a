//! Users: one actor per simulated user, spread over per-arbiter shards.
//!
//! A user is an actix actor hosting its scenario's `start` future. It is spawned by the shard
//! that owns its id (shard index `(id − 1) mod shard_count`, one shard per arbiter), so the
//! load uses every core and no mailbox serves every user. Its life:
//!
//! 1. **Waiting** for a permit of the run's user-rate gate (skipped when the rate is
//!    unlimited). A waiting user can be cancelled; it then ends without running `start` and
//!    without span events (counted `cancelled`).
//! 2. **Running**: it registers (a run-wide start sequence number defines "oldest started")
//!    and runs `start` inside the span `[amoc, scenario, start]`.
//! 3. **Ends**, never restarted (users are temporary children of their shard): `Ok` → `ended`;
//!    `Err` or a panic → `crashed` (span `exception`, kind `error` / `panic`); aborted after a
//!    forced stop → `killed` (span `exception`, kind `exit`). A crash affects no other user.
//!
//! Stop requests: a soft stop queues [`Received::StopRequested`] in the user's inbox and sets
//! its flag; the scenario decides when to return, and may ignore it. A forced stop does the
//! same, then aborts the user if it is still running after the removal grace.
//!
//! Counters live in per-shard atomics ([`UserCounts`]), so reading them costs O(shards) and
//! never waits on a user; a user is counted running only between registration and its end,
//! so no counter can underflow.

pub(crate) mod actor;
mod context;
mod inbox;
mod life;
mod shard;
mod slot;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

pub use actor::Deliver;
pub use context::{UserContext, UserRef};
pub use inbox::Received;
pub use shard::{Candidates, MarkForRemoval, SpawnUsers, StopAll, StopUser};
pub(crate) use shard::{ShardRun, UserShard};

/// A user's id: from 1 in each run, allocated in increasing order, never reused in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Sending to a user failed; the message is given back.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError<M> {
    /// The user's mailbox is full (only from `try_send`).
    #[error("user mailbox is full")]
    Full(M),
    /// The user has ended.
    #[error("user is gone")]
    UserGone(M),
}

/// Counts of users by state, summed over shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UserCounts {
    /// Waiting for a user-rate permit.
    pub waiting: u64,
    /// Running `start`.
    pub running: u64,
    /// Running and asked to stop.
    pub stopping: u64,
    /// Ended normally.
    pub ended: u64,
    /// Ended with an error or a panic.
    pub crashed: u64,
    /// Aborted while running (forced removal or stop).
    pub killed: u64,
    /// Cancelled while waiting.
    pub cancelled: u64,
}

/// One shard's counters, written by its arbiter, read by anyone.
#[derive(Debug, Default)]
pub struct ShardCounters {
    pub(crate) waiting: AtomicU64,
    pub(crate) running: AtomicU64,
    pub(crate) stopping: AtomicU64,
    pub(crate) ended: AtomicU64,
    pub(crate) crashed: AtomicU64,
    pub(crate) killed: AtomicU64,
    pub(crate) cancelled: AtomicU64,
}

impl ShardCounters {
    /// A consistent-enough reading (each counter read once).
    pub fn read(&self) -> UserCounts {
        let r = |a: &AtomicU64| a.load(Ordering::Acquire);
        UserCounts {
            waiting: r(&self.waiting),
            running: r(&self.running),
            stopping: r(&self.stopping),
            ended: r(&self.ended),
            crashed: r(&self.crashed),
            killed: r(&self.killed),
            cancelled: r(&self.cancelled),
        }
    }

    pub(crate) fn reset(&self) {
        for a in [
            &self.waiting,
            &self.running,
            &self.stopping,
            &self.ended,
            &self.crashed,
            &self.killed,
            &self.cancelled,
        ] {
            a.store(0, Ordering::Release);
        }
    }
}

impl std::ops::Add for UserCounts {
    type Output = UserCounts;
    fn add(self, o: UserCounts) -> UserCounts {
        UserCounts {
            waiting: self.waiting + o.waiting,
            running: self.running + o.running,
            stopping: self.stopping + o.stopping,
            ended: self.ended + o.ended,
            crashed: self.crashed + o.crashed,
            killed: self.killed + o.killed,
            cancelled: self.cancelled + o.cancelled,
        }
    }
}

/// Decrements without wrapping below zero (a broken invariant is logged, not propagated).
pub(crate) fn decrement(a: &AtomicU64, what: &str) {
    let res = a.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1));
    if res.is_err() {
        tracing::error!(counter = what, "user counter would go below zero");
    }
}
