//! Users: one actor per simulated user, spread over per-arbiter shards.
//!
//! A user is an actix actor hosting its scenario's `start` future (the actor itself, generic
//! over the scenario, lives in [`crate::scenario`] beside
//! [`UserContext`](crate::scenario::UserContext); this module is
//! type-independent and never names a scenario). It is spawned by the shard
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
//! These states and their counter changes are one pure transition function (`life.rs`,
//! property-tested); the shard and the user's task only apply it.
//!
//! Stop requests: a soft stop queues [`Received::StopRequested`] in the user's inbox and marks
//! the user asked; the scenario decides when to return, and may ignore it. A forced stop does the
//! same, then aborts the user if it is still running after the removal grace.
//!
//! Messages: a user's mailbox holds at most [`CAPACITY`] messages. [`UserRef::try_send`]
//! never waits and gives the message back with [`SendError::Full`] when there is no room;
//! [`UserRef::send`] waits for room (woken, not polling), in the order senders started
//! waiting. Both give it back with [`SendError::UserGone`] once the user has ended. Messages
//! are received in the order they were queued, and none is dropped while the user lives.
//!
//! Counters live in per-shard atomics ([`UserCounts`]), so reading them costs O(shards) and
//! never waits on a user; a user is counted running only between registration and its end,
//! so no counter can underflow.
//!
//! The boundary with the controller: the controller decides when (its state machine, ids,
//! admission) and hands this module a run; `Users` (crate-private) owns the shards, which
//! register with it when they (re)start, and carries out add, remove, stop-one and stop-all
//! over them. [`shard_of`] is the one id → shard function. [`UserCounters::wait_until`]
//! awaits a condition on the counters without polling.

mod counters;
pub(crate) mod inbox;
mod life;
pub(crate) mod policy;
mod pool;
mod roster;
mod shard;
mod slot;
mod user_ref;

use std::fmt;

pub use counters::{ShardCounters, UserCounters, UserCounts};
pub use inbox::{Received, CAPACITY};
pub(crate) use life::Event;
pub use policy::shard_of;
pub use pool::NoSuchUser;
pub(crate) use pool::Users;
pub(crate) use roster::ShardShared;
pub(crate) use shard::UserShard;
pub(crate) use slot::{UserCell, UserFactory, UserHandle};
pub use user_ref::UserRef;

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
