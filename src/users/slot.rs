//! The per-user record a shard keeps: a compact, type-independent [`Slot`] inside the same
//! allocation as the user's inbox ([`UserCell`]).
//!
//! A user costs its shard one `Rc` in each of two queues and nothing else: the slot carries the
//! id, the start sequence, the state bits and the abort handle, and is updated in place by the
//! user's own task (same arbiter, so `Cell`s, no locks). When the user ends, its abort handle,
//! queued messages and wakers are released at once; the slot itself goes when the shard next
//! compacts its queues.

use std::cell::{Cell, RefCell};

use super::inbox::Inbox;
use crate::task::AbortHandle;

/// Registered and running `start`.
pub(crate) const RUNNING: u8 = 1;
/// Ended (for whatever reason); a tombstone until the shard compacts.
pub(crate) const ENDED: u8 = 2;
/// A stop request was queued.
pub(crate) const ASKED: u8 = 4;
/// Under forced removal: aborted after the grace if still running.
pub(crate) const FORCED: u8 = 8;
/// `start` returned an error or panicked.
pub(crate) const FAILED: u8 = 16;

/// The type-independent state of one user.
pub(crate) struct Slot {
    pub(crate) id: u64,
    /// Run-wide start sequence (0 until registered): defines "oldest started".
    pub(crate) seq: Cell<u64>,
    flags: Cell<u8>,
    /// The shard (arbiter) this user runs on.
    pub(crate) shard: u32,
    abort: Cell<Option<AbortHandle>>,
}

impl Slot {
    pub(crate) fn new(id: u64, shard: u32) -> Self {
        Self {
            id,
            seq: Cell::new(0),
            flags: Cell::new(0),
            shard,
            abort: Cell::new(None),
        }
    }

    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags.get() & flag != 0
    }

    pub(crate) fn set(&self, flag: u8) {
        self.flags.set(self.flags.get() | flag);
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
