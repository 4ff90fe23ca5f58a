//! [`Users`]: the users' side of the controller–users boundary.
//!
//! The controller decides *when* (its state machine, ids, admission); `Users` decides *how*:
//! it knows the shards, hands them the run, spreads an add over them, picks the users a
//! removal stops and finds the shard of one user. Shards register themselves when they
//! (re)start, and a restarted shard gets the current run at once, so nothing outside this
//! module keeps shard addresses or the run's user factory.
//!
//! Guarantees: every call reaches the shards through their mailboxes, in call order per
//! shard. A shard that is down (restarting) misses the call: its users died with it and are
//! counted killed or cancelled by the shard's drop.

use std::sync::{Arc, Mutex, MutexGuard};

use actix::Addr;

use super::policy::{oldest_first, shard_of};
use super::shard::{Candidates, MarkForRemoval, ShardRun, SpawnUsers, StopAll, StopUser};
use super::slot::UserFactory;
use super::{UserCounters, UserShard};

/// The shards' addresses and the current run, changed together.
#[derive(Default)]
struct Book {
    shards: Vec<Addr<UserShard>>,
    run: Option<Arc<dyn UserFactory>>,
}

/// The handle to every user shard. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Users {
    book: Arc<Mutex<Book>>,
    counters: UserCounters,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("shards", &self.shards().len())
            .finish()
    }
}

/// The user is not on its shard: never added, or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no running or waiting user {0}")]
pub struct NoSuchUser(pub u64);

impl Users {
    pub(crate) fn new(counters: UserCounters) -> Self {
        Self {
            book: Arc::default(),
            counters,
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        crate::sync::lock(&self.book)
    }

    fn shards(&self) -> Vec<Addr<UserShard>> {
        self.book().shards.clone()
    }

    /// Shard `index` (re)started at `addr`: it replaces the old address and gets the current
    /// run, if any (under the same lock as [`begin`](Self::begin), so it never misses one).
    pub(crate) fn register(&self, index: usize, addr: Addr<UserShard>) {
        let mut book = self.book();
        match book.shards.get_mut(index) {
            Some(slot) => *slot = addr.clone(),
            None => book.shards.push(addr.clone()),
        }
        if let Some(run) = book.run.clone() {
            addr.do_send(ShardRun(Some(run)));
        }
    }

    /// Every shard spawns the users of `run` from now on.
    pub(crate) async fn begin(&self, run: Arc<dyn UserFactory>) {
        self.counters.reset();
        let shards = {
            let mut book = self.book();
            book.run = Some(run.clone());
            book.shards.clone()
        };
        for shard in &shards {
            let _ = shard.send(ShardRun(Some(run.clone()))).await;
        }
    }

    /// The run is over: shards forget it.
    pub(crate) async fn end(&self) {
        let shards = {
            let mut book = self.book();
            book.run = None;
            book.shards.clone()
        };
        for shard in &shards {
            let _ = shard.send(ShardRun(None)).await;
        }
    }

    /// Each shard spawns its share of `first..=last` (returns before the users exist).
    pub(crate) fn add(&self, first: u64, last: u64) {
        let shards = self.shards();
        for shard in &shards {
            shard.do_send(SpawnUsers {
                first,
                last,
                shards: shards.len(),
            });
        }
    }

    /// Asks the `count` oldest-started running users (over all shards) to stop, forced or
    /// not; returns how many were newly selected.
    pub(crate) async fn remove(&self, count: u64, force: bool) -> u64 {
        let shards = self.shards();
        let mut candidates = Vec::with_capacity(shards.len());
        for shard in &shards {
            let list = shard.send(Candidates { n: count, force }).await;
            candidates.push(list.unwrap_or_default());
        }
        let mut removed = 0;
        for (index, ids) in oldest_first(candidates, count) {
            if let Ok(n) = shards[index].send(MarkForRemoval { ids, force }).await {
                removed += n;
            }
        }
        removed
    }

    /// Stops user `id` on its shard.
    pub(crate) async fn stop_user(&self, id: u64, force: bool) -> Result<(), NoSuchUser> {
        let shards = self.shards();
        let shard = shards
            .get(shard_of(id, shards.len()))
            .ok_or(NoSuchUser(id))?;
        match shard.send(StopUser { id, force }).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(NoSuchUser(id)),
        }
    }

    /// Every shard cancels its waiting users and force-stops its running ones, at once.
    pub(crate) async fn stop_all(&self) {
        let shards = self.shards();
        futures::future::join_all(shards.iter().map(|s| s.send(StopAll))).await;
    }
}
