//! A user shard: the supervisor of the users of one arbiter.
//!
//! It behaves as a `DynamicSupervisor` of temporary children specialised for users: it
//! spawns them on its own arbiter, sees every exit exactly once through the user's task,
//! never restarts them, and stops them in parallel (stop request, then abort after the
//! removal grace).
//!
//! Its bookkeeping is the roster ([`super::roster`]), shared with its users' tasks. Grace
//! timers belong to the run that armed them: a timer of an earlier run never aborts users
//! of the next (the shard's run epoch changes with every run).

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture};

use super::life::{Delta, Event, Life};
use super::policy::stripe;
use super::pool::NoSuchUser;
use super::roster::{Handle, Queue, ShardShared};
use super::slot::UserFactory;
use super::{ShardCounters, UserId};

/// Users spawned per turn of the arbiter: spawning yields between chunks, so a big add does
/// not hold the shard for seconds (a stop in between cancels the rest). Measured: 2 048 made
/// a million-user start ~25 % slower than no chunking; 32 768 is on par or better.
const SPAWN_CHUNK: u64 = 32_768;

/// Ids accepted but not spawned yet: `next, next + step, … ≤ last`.
#[derive(Clone, Copy)]
struct Pending {
    next: u64,
    last: u64,
    step: u64,
}

impl Pending {
    fn count(&self) -> u64 {
        (self.last - self.next) / self.step + 1
    }
}

/// The shard actor of one arbiter.
pub(crate) struct UserShard {
    shared: Rc<ShardShared>,
    factory: Option<Arc<dyn UserFactory>>,
    grace: Duration,
    /// Accepted users (already counted as waiting) still to spawn, in id order.
    pending: VecDeque<Pending>,
    spawning: bool,
    /// Bumped whenever the run changes: a grace timer armed in one run never aborts the
    /// users of the next (they may be under forced stop too, for less than the grace).
    epoch: u64,
}

impl UserShard {
    pub(crate) fn new(index: u64, counters: Arc<ShardCounters>, grace: Duration) -> Self {
        Self {
            shared: Rc::new(ShardShared {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                counters,
                users: Queue::default(),
                running: Queue::default(),
            }),
            factory: None,
            grace,
            pending: VecDeque::new(),
            spawning: false,
            epoch: 0,
        }
    }

    /// Spawns up to `budget` pending users, in id order.
    fn spawn_pending(&mut self, mut budget: u64) {
        let Some(factory) = self.factory.clone() else {
            self.cancel_pending();
            return;
        };
        while budget > 0 {
            let Some(p) = self.pending.front_mut() else {
                break;
            };
            let available = p.count();
            let n = available.min(budget);
            self.shared
                .users
                .items
                .borrow_mut()
                .reserve(usize::try_from(n).unwrap_or(0));
            for k in 0..n {
                let user = factory.spawn(UserId(p.next + k * p.step), &self.shared);
                self.shared.users.push(user);
            }
            budget -= n;
            if n == available {
                self.pending.pop_front();
            } else {
                // n < available, so the next id is at most `last`.
                p.next += n * p.step;
            }
        }
    }

    /// Spawns one chunk, then yields to the arbiter and goes on while users are pending.
    fn spawn_chunk(&mut self, ctx: &mut Context<Self>) {
        self.spawn_pending(SPAWN_CHUNK);
        if self.pending.is_empty() {
            self.spawning = false;
            return;
        }
        let next = tokio::task::yield_now()
            .into_actor(self)
            .map(|_, act: &mut Self, ctx| act.spawn_chunk(ctx));
        ctx.spawn(next);
    }

    /// Cancels user `id` if it was accepted but not spawned yet (its range is split); true
    /// if it was.
    fn cancel_pending_id(&mut self, id: u64) -> bool {
        let Some(i) = self
            .pending
            .iter()
            .position(|p| (p.next..=p.last).contains(&id) && (id - p.next) % p.step == 0)
        else {
            return false;
        };
        let p = self.pending[i];
        let before = (id > p.next).then(|| Pending {
            last: id - p.step,
            ..p
        });
        let after = (id < p.last).then(|| Pending {
            next: id + p.step,
            ..p
        });
        self.pending.remove(i);
        // Re-inserted in id order at the same place.
        for part in [after, before].into_iter().flatten() {
            self.pending.insert(i, part);
        }
        self.shared.counters.apply(Delta::CANCELLED, 1);
        true
    }

    /// Accepted users that were never spawned end as cancelled.
    fn cancel_pending(&mut self) {
        for p in self.pending.drain(..) {
            self.shared.counters.apply(Delta::CANCELLED, p.count());
        }
    }

    /// Aborts the listed users after the grace if they are still running.
    fn abort_later(&self, users: Vec<Handle>, ctx: &mut Context<Self>) {
        if users.is_empty() {
            return;
        }
        ctx.run_later(self.grace, move |_, _| {
            for u in users {
                u.slot().abort();
            }
        });
    }
}

impl Actor for UserShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_millis(100), |act, _| act.shared.compact());
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.abandon();
    }
}

impl UserShard {
    /// Cancels users not yet spawned and aborts the others: they are counted as cancelled
    /// (waiting) or killed (running), never left unsupervised. Idempotent.
    fn abandon(&mut self) {
        self.cancel_pending();
        if let Ok(users) = self.shared.users.items.try_borrow() {
            for u in users.iter() {
                u.slot().abort();
            }
        }
    }
}

impl Drop for UserShard {
    /// A shard that dies without `stopped` running (a kill, a panic) takes its users along.
    fn drop(&mut self) {
        self.abandon();
    }
}

/// Sets (or clears) the run whose users this shard spawns.
pub(crate) struct ShardRun(pub(crate) Option<Arc<dyn UserFactory>>);

impl Message for ShardRun {
    type Result = ();
}

impl Handler<ShardRun> for UserShard {
    type Result = ();
    fn handle(&mut self, msg: ShardRun, _: &mut Self::Context) {
        self.factory = msg.0;
        self.epoch += 1;
    }
}

/// Spawn this shard's users among ids `first..=last` (see [`super::policy::stripe`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpawnUsers {
    /// First id of the range.
    pub(crate) first: u64,
    /// Last id of the range (inclusive).
    pub(crate) last: u64,
    /// Number of shards.
    pub(crate) shards: usize,
}

impl Message for SpawnUsers {
    type Result = u64;
}

impl Handler<SpawnUsers> for UserShard {
    type Result = u64;

    fn handle(&mut self, msg: SpawnUsers, ctx: &mut Self::Context) -> u64 {
        if self.factory.is_none() {
            return 0;
        }
        self.shared.compact();
        let index = self.shared.index as usize;
        let Some((next, step)) = stripe(msg.first, msg.last, index, msg.shards) else {
            return 0;
        };
        let pending = Pending {
            next,
            last: msg.last,
            step,
        };
        let count = pending.count();
        // Counted as waiting from now on; spawned chunk by chunk.
        self.shared.counters.apply(Delta::ACCEPTED, count);
        self.pending.push_back(pending);
        if !self.spawning {
            self.spawning = true;
            self.spawn_chunk(ctx);
        }
        count
    }
}

/// The oldest running users eligible for removal: `(start sequence, id)`, oldest first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidates {
    /// At most this many.
    pub(crate) n: u64,
    /// Forced removal (users not yet forced) or soft (users not yet asked).
    pub(crate) force: bool,
}

impl Message for Candidates {
    type Result = Vec<(u64, u64)>;
}

impl Handler<Candidates> for UserShard {
    type Result = Vec<(u64, u64)>;

    fn handle(&mut self, msg: Candidates, _: &mut Self::Context) -> Self::Result {
        self.shared.compact();
        self.shared
            .running
            .items
            .borrow()
            .iter()
            .map(|h| h.slot())
            .filter(|s| eligible(s.life(), msg.force))
            .take(usize::try_from(msg.n).unwrap_or(usize::MAX))
            .map(|s| (s.seq.get(), s.id))
            .collect()
    }
}

/// Marks the listed users for removal; returns how many were newly selected.
#[derive(Debug, Clone)]
pub(crate) struct MarkForRemoval {
    /// User ids of this shard.
    pub(crate) ids: Vec<u64>,
    /// Abort after the grace if they have not ended.
    pub(crate) force: bool,
}

impl Message for MarkForRemoval {
    type Result = u64;
}

impl Handler<MarkForRemoval> for UserShard {
    type Result = u64;

    fn handle(&mut self, msg: MarkForRemoval, ctx: &mut Self::Context) -> u64 {
        // The ids come from `Candidates`: running users, so nothing pending is among them.
        let mut marked = 0;
        let mut forced = Vec::new();
        for id in msg.ids {
            let Some(u) = self.shared.find(id) else {
                continue;
            };
            let slot = u.slot();
            if !eligible(slot.life(), msg.force) {
                continue;
            }
            self.shared.ask(&*u);
            if msg.force {
                slot.step(&Event::Force);
                forced.push(u);
            }
            marked += 1;
        }
        self.abort_later(forced, ctx);
        marked
    }
}

/// Whether a user can be picked by a removal: running and not yet forced (forced removal)
/// or not yet asked (soft removal).
fn eligible(life: Life, force: bool) -> bool {
    life.is_running()
        && !(if force {
            life.is_forced()
        } else {
            life.is_asked()
        })
}

/// Ends every user: waiting ones are cancelled at once, running ones get a forced stop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopAll;

impl Message for StopAll {
    type Result = ();
}

impl Handler<StopAll> for UserShard {
    type Result = ();

    fn handle(&mut self, _: StopAll, ctx: &mut Self::Context) {
        self.cancel_pending();
        self.shared.compact();
        let mut any = false;
        for u in self.shared.users.items.borrow().iter() {
            let slot = u.slot();
            match slot.life() {
                Life::Ended => {}
                Life::Waiting { .. } => slot.abort(),
                life if !life.is_forced() => {
                    self.shared.ask(&**u);
                    slot.step(&Event::Force);
                    any = true;
                }
                _ => {}
            }
        }
        // One timer for all: after the grace, every user still under forced removal goes.
        if any {
            let epoch = self.epoch;
            ctx.run_later(self.grace, move |act, _| {
                if act.epoch != epoch {
                    return;
                }
                for u in act.shared.users.items.borrow().iter() {
                    let slot = u.slot();
                    if slot.life().is_forced() {
                        slot.abort();
                    }
                }
            });
        }
    }
}

/// Stops one user: a waiting user is cancelled; a running one asked (and, forced, aborted
/// after the grace). Fails if the user is not on this shard (never added, or ended).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopUser {
    /// The user.
    pub(crate) id: u64,
    /// Forced stop.
    pub(crate) force: bool,
}

impl Message for StopUser {
    type Result = Result<(), NoSuchUser>;
}

impl Handler<StopUser> for UserShard {
    type Result = Result<(), NoSuchUser>;

    fn handle(&mut self, msg: StopUser, ctx: &mut Self::Context) -> Self::Result {
        if self.cancel_pending_id(msg.id) {
            return Ok(());
        }
        let u = self.shared.find(msg.id).ok_or(NoSuchUser(msg.id))?;
        let slot = u.slot();
        if !slot.life().is_running() {
            slot.abort();
            return Ok(());
        }
        self.shared.ask(&*u);
        if msg.force && !slot.life().is_forced() {
            slot.step(&Event::Force);
            self.abort_later(vec![u], ctx);
        }
        Ok(())
    }
}
