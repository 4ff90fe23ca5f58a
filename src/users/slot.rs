//! The per-user record a shard keeps: a compact, type-independent [`Slot`] inside the same
//! allocation as the user's inbox ([`UserCell`]).
//!
//! A user costs its shard one `Rc` in each of two queues and nothing else: the slot carries the
//! id, the start sequence, the lifecycle state ([`Life`]) and the abort handle, and is updated
//! in place by the user's task and its shard (same arbiter, so `Cell`s, no locks). When the user ends, its abort handle,
//! queued messages and wakers are released at once; the slot itself goes when the shard next
//! compacts its queues.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::inbox::Inbox;
use super::life::{Delta, Event, Life};
use super::roster::ShardShared;
use super::UserId;
use crate::task::AbortHandle;

/// The type-independent state of one user.
pub(crate) struct Slot {
    pub(crate) id: u64,
    /// Run-wide start sequence (0 until registered): defines "oldest started".
    pub(crate) seq: Cell<u64>,
    life: Cell<Life>,
    /// The shard (arbiter) this user runs on.
    pub(crate) shard: u32,
    abort: Cell<Option<AbortHandle>>,
}

impl Slot {
    pub(crate) fn new(id: u64, shard: u32) -> Self {
        Self {
            id,
            seq: Cell::new(0),
            life: Cell::new(Life::NEW),
            shard,
            abort: Cell::new(None),
        }
    }

    /// Where the user stands.
    pub(crate) fn life(&self) -> Life {
        self.life.get()
    }

    /// Applies `event` ([`Life::step`]); returns the counter changes to make.
    pub(crate) fn step(&self, event: &Event) -> Delta {
        let (next, delta) = self.life.get().step(event);
        self.life.set(next);
        delta
    }

    pub(crate) fn set_abort(&self, handle: AbortHandle) {
        self.abort.set(Some(handle));
    }

    /// Aborts the user's task (no effect once it ended).
    pub(crate) fn abort(&self) {
        if let Some(h) = self.abort.take() {
            h.abort();
            self.abort.set(Some(h));
        }
    }

    /// Forgets the abort handle (it keeps the task's memory alive).
    pub(crate) fn release(&self) {
        drop(self.abort.take());
    }
}

/// Spawns users of one run on a shard, without the shard knowing the scenario type.
pub(crate) trait UserFactory: Send + Sync {
    /// Starts user `id` on the current arbiter; the returned handle is the shard's record.
    fn spawn(&self, id: UserId, shard: &Rc<ShardShared>) -> Rc<dyn UserHandle>;
}

/// A user as its shard sees it, whatever its scenario's message type.
pub(crate) trait UserHandle {
    fn slot(&self) -> &Slot;
    /// Queues the stop request (once); true if it is new.
    fn request_stop(&self) -> bool;
    /// Drops queued messages and wakers (the user has ended).
    fn clear(&self);
}

/// One allocation per user: its slot and its inbox.
pub(crate) struct UserCell<M> {
    pub(crate) slot: Slot,
    pub(crate) inbox: RefCell<Inbox<M>>,
}

impl<M> UserCell<M> {
    pub(crate) fn new(id: u64, shard: u32) -> Self {
        Self {
            slot: Slot::new(id, shard),
            inbox: RefCell::new(Inbox::new()),
        }
    }
}

impl<M> UserHandle for UserCell<M> {
    fn slot(&self) -> &Slot {
        &self.slot
    }

    fn request_stop(&self) -> bool {
        match self.inbox.try_borrow_mut() {
            Ok(mut inbox) => inbox.request_stop(),
            Err(_) => false,
        }
    }

    fn clear(&self) {
        if let Ok(mut inbox) = self.inbox.try_borrow_mut() {
            inbox.clear();
        }
    }
}
