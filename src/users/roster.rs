//! A shard's roster: the users of one arbiter in two queues of `Rc`s to their slots, shared
//! between the shard actor and its users' tasks, so that registering and ending a user
//! costs no message.
//!
//! `users` is in id order (ids are allocated in increasing order, so it stays sorted and is
//! searched by bisection); `running` is in start order (each shard registers its users in
//! increasing start sequence, so the oldest started are at the front). An ended user is a
//! tombstone until the queues are compacted, which happens once tombstones outnumber live
//! entries, so the queues stay within twice the number of live users.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use super::life::Event;
use super::slot::{Slot, UserHandle};
use super::ShardCounters;
use crate::task::TaskExit;

pub(super) type Handle = Rc<dyn UserHandle>;

/// Users in some order, with tombstones for those that ended.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) items: RefCell<VecDeque<Handle>>,
    pub(super) dead: Cell<usize>,
}

impl Queue {
    pub(super) fn push(&self, h: Handle) {
        self.items.borrow_mut().push_back(h);
    }

    /// Drops tombstones once they are at least half the queue.
    pub(super) fn compact(&self) {
        let mut items = self.items.borrow_mut();
        while items.front().is_some_and(|h| h.slot().life().is_ended()) {
            items.pop_front();
            self.dead.set(self.dead.get().saturating_sub(1));
        }
        if self.dead.get() > 0 && self.dead.get() * 2 >= items.len() {
            items.retain(|h| !h.slot().life().is_ended());
            self.dead.set(0);
            if items.capacity() > 4 * items.len().max(64) {
                items.shrink_to_fit();
            }
        }
    }
}

/// The part of a shard that its users' tasks update directly.
pub(crate) struct ShardShared {
    pub(super) index: u32,
    pub(super) counters: Arc<ShardCounters>,
    /// Every live user (and tombstones), by id.
    pub(super) users: Queue,
    /// Running users (and tombstones), oldest started first.
    pub(super) running: Queue,
}

impl ShardShared {
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    pub(crate) fn register_running(&self, user: Handle, seq: u64) {
        let slot = user.slot();
        slot.seq.set(seq);
        self.counters.apply(slot.step(&Event::Register), 1);
        self.running.push(user);
    }

    /// Called exactly once per user, when its task ends (possibly from a drop path): only
    /// cells and atomics are touched, never the queues.
    pub(crate) fn user_exited(&self, slot: &Slot, exit: TaskExit) {
        let life = slot.life();
        if life.is_ended() {
            return;
        }
        slot.release();
        self.users.dead.set(self.users.dead.get() + 1);
        if life.is_running() {
            self.running.dead.set(self.running.dead.get() + 1);
        }
        self.counters.apply(slot.step(&Event::Exit(exit)), 1);
    }

    /// Queues a stop request (once).
    pub(super) fn ask(&self, user: &dyn UserHandle) {
        let slot = user.slot();
        if !slot.life().is_asked() {
            user.request_stop();
            self.counters.apply(slot.step(&Event::Ask), 1);
        }
    }

    pub(super) fn compact(&self) {
        self.users.compact();
        self.running.compact();
    }

    /// The live user `id`, if it is on this shard.
    pub(super) fn find(&self, id: u64) -> Option<Handle> {
        let users = self.users.items.borrow();
        let i = users.binary_search_by_key(&id, |h| h.slot().id).ok()?;
        let h = &users[i];
        (!h.slot().life().is_ended()).then(|| h.clone())
    }
}
