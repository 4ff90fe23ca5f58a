//! User counters: per-shard atomics written by the shard's arbiter, summed on read, and a
//! change signal so that callers await a condition instead of polling.
//!
//! Reading costs O(shards) and never waits on a user. Every change of a shard's counters
//! bumps that shard's `watch` version, but only while somebody waits (one atomic read
//! otherwise), so a million users starting pay nothing for the signal nobody awaits.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use super::life::Delta;

/// Counts of users by state, summed over shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug)]
pub struct ShardCounters {
    pub(crate) waiting: AtomicU64,
    pub(crate) running: AtomicU64,
    pub(crate) stopping: AtomicU64,
    pub(crate) ended: AtomicU64,
    pub(crate) crashed: AtomicU64,
    pub(crate) killed: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    /// Bumped after changes while somebody waits (see [`UserCounters::wait_until`]).
    changed: watch::Sender<()>,
    /// A bump is out that no waiter has consumed yet: further changes need none.
    signalled: AtomicBool,
}

impl Default for ShardCounters {
    fn default() -> Self {
        Self {
            waiting: AtomicU64::new(0),
            running: AtomicU64::new(0),
            stopping: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            crashed: AtomicU64::new(0),
            killed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            changed: watch::Sender::new(()),
            signalled: AtomicBool::new(false),
        }
    }
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
        self.touch();
    }

    /// Signals a change to the waiters, if any. Called after the counters changed: the
    /// fence pairs with the one in [`UserCounters::wait_until`], so either the waiter reads
    /// the new values or this sees the waiter and wakes it.
    ///
    /// Bumps are coalesced: while one is out and unconsumed, changes only update the
    /// counters (a waiter clears the flag before it reads them), so a million users ending
    /// under a waiting controller cost a few bumps, not a million.
    pub(crate) fn touch(&self) {
        fence(Ordering::SeqCst);
        if self.changed.receiver_count() > 0 && !self.signalled.swap(true, Ordering::AcqRel) {
            self.changed.send_replace(());
        }
    }

    /// Makes the counter changes of `n` users' identical transitions ([`Life::step`]), then
    /// signals the waiters.
    ///
    /// [`Life::step`]: super::life::Life::step
    pub(crate) fn apply(&self, delta: Delta, n: u64) {
        if delta.is_none() || n == 0 {
            return;
        }
        for (counter, by, what) in [
            (&self.waiting, delta.waiting, "waiting"),
            (&self.running, delta.running, "running"),
            (&self.stopping, delta.stopping, "stopping"),
            (&self.ended, delta.ended, "ended"),
            (&self.crashed, delta.crashed, "crashed"),
            (&self.killed, delta.killed, "killed"),
            (&self.cancelled, delta.cancelled, "cancelled"),
        ] {
            let k = n.saturating_mul(u64::from(by.unsigned_abs()));
            match by.signum() {
                1 => {
                    counter.fetch_add(k, Ordering::AcqRel);
                }
                -1 => subtract(counter, k, what),
                _ => {}
            }
        }
        self.touch();
    }

    /// A waiter is about to read: the next change must bump again.
    fn consume(&self) {
        self.signalled.store(false, Ordering::SeqCst);
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

/// Subtracts `n` without wrapping below zero (a broken invariant is logged, not propagated).
fn subtract(a: &AtomicU64, n: u64, what: &str) {
    let res = a.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
        Some(v.saturating_sub(n))
    });
    if res.is_ok_and(|v| v < n) {
        tracing::error!(counter = what, "user counter would go below zero");
    }
}

/// Every shard's counters: summed on read, awaited on change. Cheap to clone.
#[derive(Debug, Clone)]
pub struct UserCounters(Arc<[Arc<ShardCounters>]>);

impl UserCounters {
    /// Counters for `shards` shards, all zero.
    pub(crate) fn new(shards: usize) -> Self {
        Self((0..shards).map(|_| Arc::default()).collect())
    }

    /// Each shard's counters, in shard order.
    pub(crate) fn shards(&self) -> &[Arc<ShardCounters>] {
        &self.0
    }

    /// The sum over shards (each counter read once; never waits).
    pub fn read(&self) -> UserCounts {
        self.0
            .iter()
            .map(|c| c.read())
            .fold(UserCounts::default(), |a, b| a + b)
    }

    /// Zeroes every counter (a new run).
    pub(crate) fn reset(&self) {
        for c in self.0.iter() {
            c.reset();
        }
    }

    /// Waits until `pred` holds for the summed counts, re-checking after every change;
    /// returns the counts that satisfied it.
    ///
    /// ```
    /// # use amoc::app::App;
    /// # actix_rt::System::new().block_on(async {
    /// let app = App::builder().shards(2).start().await.unwrap();
    /// let counts = app.controller().users().wait_until(|c| c.running == 0).await;
    /// assert_eq!(counts.running, 0);
    /// # app.shutdown().await;
    /// # });
    /// ```
    pub async fn wait_until(&self, mut pred: impl FnMut(&UserCounts) -> bool) -> UserCounts {
        let mut rxs: Vec<watch::Receiver<()>> =
            self.0.iter().map(|c| c.changed.subscribe()).collect();
        self.0.iter().for_each(|c| c.consume());
        fence(Ordering::SeqCst);
        if rxs.is_empty() {
            // No shard: the counts never change.
            let counts = self.read();
            return if pred(&counts) {
                counts
            } else {
                std::future::pending().await
            };
        }
        loop {
            let counts = self.read();
            if pred(&counts) {
                return counts;
            }
            let changes = rxs.iter_mut().map(|rx| Box::pin(rx.changed()));
            // The senders live as long as `self`: `changed` never fails here.
            let _ = futures::future::select_all(changes).await;
            self.0.iter().for_each(|c| c.consume());
            fence(Ordering::SeqCst);
        }
    }
}
