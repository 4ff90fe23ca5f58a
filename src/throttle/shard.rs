//! Per-arbiter shards: each arbiter (thread) that uses a throttle gets its own FIFO queue
//! and its own ticker task, so waiting requests are served from local state; the only shared
//! steps are one ledger claim (or one atomic update in concurrency mode) per tick.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::core::{Core, CONCURRENCY, PAUSED, RATE, STOPPED, UNLIMITED};
use super::ledger::Credit;
use super::schedule::TICK;
use super::{Permit, ThrottleError};

/// How long a ticker with nothing to do sleeps before re-checking (changes wake it earlier).
const IDLE_RECHECK: Duration = Duration::from_millis(50);

/// How many throttles' shards each thread remembers.
const SHARD_CACHE: usize = 32;

thread_local! {
    /// This thread's shards of the throttles it used last, by core id: a request finds its
    /// shard without the core's map (shared by every thread) or the thread's handle.
    static LOCAL: RefCell<Vec<(u64, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's shard of core `core_id`, from the thread's cache or, on a miss,
/// from `find` (which must not call this).
pub(crate) fn with_cached<R>(
    core_id: u64,
    f: impl FnOnce(&Arc<Shard>) -> R,
    find: impl FnOnce() -> Arc<Shard>,
) -> R {
    let hit = LOCAL.with(|c| {
        let c = c.borrow();
        c.iter()
            .find(|(id, _)| *id == core_id)
            .map(|(_, s)| s.clone())
    });
    let shard = match hit {
        Some(s) => s,
        None => {
            let s = find();
            LOCAL.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() >= SHARD_CACHE {
                    c.remove(0);
                }
                c.push((core_id, s.clone()));
            });
            s
        }
    };
    f(&shard)
}

/// A queued request.
pub(crate) enum Waiter {
    /// A `wait` (or `run`) caller.
    Wait(oneshot::Sender<Result<Permit, ThrottleError>>),
    /// A `send`: delivers its message when granted.
    Deliver(Box<dyn FnOnce(Permit) + Send>),
}

impl Waiter {
    pub(crate) fn is_gone(&self) -> bool {
        matches!(self, Waiter::Wait(tx) if tx.is_closed())
    }

    pub(crate) fn grant(self, permit: Permit) {
        match self {
            Waiter::Wait(tx) => {
                let _ = tx.send(Ok(permit));
            }
            Waiter::Deliver(f) => f(permit),
        }
    }
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Waiter::Wait(_) => "Wait",
            Waiter::Deliver(_) => "Deliver",
        })
    }
}

#[derive(Debug, Default)]
struct Queue {
    /// Waiting requests with their arrival times.
    waiters: VecDeque<(Instant, Waiter)>,
    ticker: bool,
    idle_tick: bool,
    last_request: Option<Instant>,
    inactive_reported: bool,
    /// Permits claimed ahead for requests that pass at once.
    credit: Credit,
}

/// One arbiter's part of a throttle.
#[derive(Debug)]
pub(crate) struct Shard {
    idx: usize,
    queue: Mutex<Queue>,
}

enum Step {
    Done,
    /// Demand, not allowance, limited this tick: tick again as soon as the granted requests
    /// have had a chance to come back.
    Again,
    Until(Instant),
}

impl Shard {
    pub(crate) fn new(idx: usize) -> Self {
        Self {
            idx,
            queue: Mutex::new(Queue::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        crate::sync::lock(&self.queue)
    }

    /// Queues `waiter` (FIFO) and makes sure this shard's ticker runs.
    pub(crate) fn enqueue(
        self: &Arc<Self>,
        core: &Arc<Core>,
        waiter: Waiter,
    ) -> Result<(), ThrottleError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ThrottleError::NoRuntime)?;
        let mut q = self.lock();
        if core.state() == STOPPED {
            return Err(ThrottleError::Stopped);
        }
        if q.waiters.is_empty() {
            core.busy_shards.fetch_add(1, Ordering::AcqRel);
        }
        let now = Instant::now();
        q.waiters.push_back((now, waiter));
        q.last_request = Some(now);
        q.inactive_reported = false;
        if !q.ticker {
            q.ticker = true;
            drop(q);
            runtime.spawn(ticker(core.clone(), self.clone()));
        }
        core.queued.notify_one();
        Ok(())
    }

    /// The arrival of the oldest request queued here (withdrawn ones are dropped first).
    pub(crate) fn oldest(&self, core: &Core) -> Option<Instant> {
        let mut q = self.lock();
        let busy = !q.waiters.is_empty();
        while q.waiters.front().is_some_and(|(_, w)| w.is_gone()) {
            q.waiters.pop_front();
        }
        if busy && q.waiters.is_empty() {
            core.busy_shards.fetch_sub(1, Ordering::AcqRel);
        }
        q.waiters.front().map(|(t, _)| *t)
    }

    /// Takes the oldest request queued here if it is still the one that arrived at `at`.
    pub(crate) fn take_oldest(&self, core: &Core, at: Instant) -> Option<Waiter> {
        let mut q = self.lock();
        if q.waiters.front().map(|(t, _)| *t) != Some(at) {
            return None;
        }
        let w = q.waiters.pop_front().map(|(_, w)| w);
        if q.waiters.is_empty() {
            core.busy_shards.fetch_sub(1, Ordering::AcqRel);
        }
        w
    }

    /// A permit at once for a request arriving while nothing is queued here, if the ledger
    /// has allowance available now (G4); `None`: the request must queue.
    pub(crate) fn try_pass(&self, core: &Core) -> Option<Permit> {
        let mut q = self.lock();
        if !q.waiters.is_empty() {
            return None;
        }
        let now = Instant::now();
        q.last_request = Some(now);
        q.inactive_reported = false;
        core.try_pass(self.idx, &mut q.credit, now)
    }

    /// Requests queued here.
    pub(crate) fn len(&self) -> usize {
        self.lock().waiters.len()
    }

    pub(crate) fn idx(&self) -> usize {
        self.idx
    }

    /// True once per idle period: nothing waits and the last request is `idle_after` old.
    pub(crate) fn newly_inactive(&self, now: Instant, idle_after: Duration) -> bool {
        let mut q = self.lock();
        let idle = q.waiters.is_empty()
            && q.last_request
                .is_some_and(|t| now.saturating_duration_since(t) >= idle_after);
        if idle && !q.inactive_reported {
            q.inactive_reported = true;
            return true;
        }
        false
    }

    /// Fails every waiting request with `Stopped`; returns how many sends were discarded.
    pub(crate) fn fail_all(&self, core: &Core) -> u64 {
        let drained: Vec<Waiter> = {
            let mut q = self.lock();
            if !q.waiters.is_empty() {
                core.busy_shards.fetch_sub(1, Ordering::AcqRel);
            }
            q.waiters.drain(..).map(|(_, w)| w).collect()
        };
        let mut sends = 0;
        for w in drained {
            match w {
                Waiter::Wait(tx) => {
                    let _ = tx.send(Err(ThrottleError::Stopped));
                }
                Waiter::Deliver(_) => sends += 1,
            }
        }
        sends
    }

    /// One tick: grants what the mode allows now, FIFO, and says when to tick again.
    fn tick(&self, core: &Arc<Core>) -> Step {
        let now = Instant::now();
        let mut q = self.lock();
        let state = core.state();
        if state == STOPPED || (q.waiters.is_empty() && q.idle_tick) {
            q.ticker = false;
            drop(q);
            core.clear_demand(self.idx);
            return Step::Done;
        }
        if q.waiters.is_empty() {
            // Stay one more tick, so a steady stream of requests does not respawn tickers.
            q.idle_tick = true;
            core.clear_demand(self.idx);
            return Step::Until(now + TICK);
        }
        q.idle_tick = false;
        // Withdrawn requests (dropped `wait` futures) at the head do not take a permit.
        while q.waiters.front().is_some_and(|(_, w)| w.is_gone()) {
            q.waiters.pop_front();
        }
        if q.waiters.is_empty() {
            core.busy_shards.fetch_sub(1, Ordering::AcqRel);
        }
        let want = q.waiters.len() as u64;
        if state & PAUSED != 0 || want == 0 {
            return Step::Until(now + if want == 0 { TICK } else { IDLE_RECHECK });
        }
        let mut granted_at = now;
        let mut claim = None;
        let (n, next, slots) = match state {
            UNLIMITED => (want, None, false),
            CONCURRENCY => (core.acquire_slots(want), None, true),
            RATE => {
                let (c, at) = core.claim(self.idx, want, &mut q.credit);
                granted_at = at;
                claim = Some(c);
                let wait = c
                    .next
                    .map(|t| Duration::from_nanos(t.saturating_sub(core.ns_of(at))));
                (c.n, wait, false)
            }
            _ => (0, None, false),
        };
        let mut batch = Vec::with_capacity(n as usize);
        while (batch.len() as u64) < n {
            match q.waiters.pop_front() {
                Some((_, w)) if w.is_gone() => {}
                Some(w) => batch.push(w),
                None => break,
            }
        }
        let left = q.waiters.len() as u64;
        if left == 0 {
            core.busy_shards.fetch_sub(1, Ordering::AcqRel);
        }
        drop(q);
        if slots {
            // Slots taken for requests withdrawn meanwhile go back.
            for _ in batch.len() as u64..n {
                core.release_slot();
            }
        }
        core.count_grants(batch.len() as u64);
        let now_ns = core.ns_of(granted_at);
        for (i, (arrived, w)) in batch.into_iter().enumerate() {
            let slot = slots.then(|| core.clone());
            let due = match claim {
                Some(c) => core.instant_at(c.due(i as u64, now_ns)).max(arrived),
                None => arrived,
            };
            w.grant(Permit::new(granted_at, due, slot));
        }
        let again = now + TICK;
        if left == 0 {
            return if state == RATE && n > 0 && n == want {
                Step::Again
            } else {
                Step::Until(again)
            };
        }
        match (state, next) {
            (RATE, Some(wait)) => Step::Until(again.max(granted_at + wait)),
            (RATE, None) | (CONCURRENCY, _) => Step::Until(now + IDLE_RECHECK),
            _ => Step::Until(again),
        }
    }
}

/// The ticker of one shard: ticks while requests wait, sleeping until the next permit is
/// due or the throttle changes (rate change, pause, resume, stop, a freed slot).
async fn ticker(core: Arc<Core>, shard: Arc<Shard>) {
    loop {
        let notified = core.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match shard.tick(&core) {
            Step::Done => return,
            Step::Again => tokio::task::yield_now().await,
            Step::Until(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = &mut notified => {}
                }
            }
        }
    }
}
