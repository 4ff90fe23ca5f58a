//! A user shard: the supervisor of the users of one arbiter.
//!
//! It behaves as a `DynamicSupervisor` of temporary children specialised for users: it
//! spawns them on its own arbiter, sees every exit exactly once through the owned task, never
//! restarts them, and stops them in parallel (stop request, then abort after the removal
//! grace). Its bookkeeping is shared with the user tasks of its arbiter through an `Rc`, so
//! registering and ending a user costs no message.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler, Message};

use super::actor::UserFactory;
use super::inbox::StopTarget;
use super::{decrement, ShardCounters, UserId};
use crate::task::{AbortHandle, TaskExit};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
}

struct Entry {
    stop: Rc<dyn StopTarget>,
    abort: AbortHandle,
    phase: Phase,
    seq: u64,
    asked: bool,
    forced: bool,
    ok: Option<bool>,
}

#[derive(Default)]
struct State {
    users: HashMap<u64, Entry>,
    /// Running users by start sequence: the removal order.
    running: BTreeMap<u64, u64>,
}

/// The part of a shard that its users' tasks update directly.
pub(crate) struct ShardShared {
    counters: Arc<ShardCounters>,
    state: RefCell<State>,
    /// Exits seen while `state` was borrowed, applied at the next chance.
    deferred: RefCell<Vec<(UserId, TaskExit)>>,
}

impl ShardShared {
    pub(crate) fn register_running(&self, id: UserId, seq: u64) {
        self.apply_deferred();
        let mut st = self.state.borrow_mut();
        if let Some(e) = st.users.get_mut(&id.0) {
            e.phase = Phase::Running;
            e.seq = seq;
            let asked = e.asked;
            st.running.insert(seq, id.0);
            decrement(&self.counters.waiting, "waiting");
            self.counters.running.fetch_add(1, Ordering::AcqRel);
            if asked {
                self.counters.stopping.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    pub(crate) fn record_outcome(&self, id: UserId, ok: bool) {
        if let Ok(mut st) = self.state.try_borrow_mut() {
            if let Some(e) = st.users.get_mut(&id.0) {
                e.ok = Some(ok);
            }
        }
    }

    /// Called exactly once per user, when its task ends (possibly from a drop path).
    pub(crate) fn user_exited(&self, id: UserId, exit: TaskExit) {
        match self.state.try_borrow_mut() {
            Ok(mut st) => self.exit_locked(&mut st, id, exit),
            Err(_) => self.deferred.borrow_mut().push((id, exit)),
        }
    }

    fn apply_deferred(&self) {
        let pending = std::mem::take(&mut *self.deferred.borrow_mut());
        if pending.is_empty() {
            return;
        }
        let mut st = self.state.borrow_mut();
        for (id, exit) in pending {
            self.exit_locked(&mut st, id, exit);
        }
    }

    fn exit_locked(&self, st: &mut State, id: UserId, exit: TaskExit) {
        let Some(e) = st.users.remove(&id.0) else {
            return;
        };
        let c = &self.counters;
        match e.phase {
            Phase::Waiting => {
                decrement(&c.waiting, "waiting");
                c.cancelled.fetch_add(1, Ordering::AcqRel);
            }
            Phase::Running => {
                st.running.remove(&e.seq);
                decrement(&c.running, "running");
                if e.asked {
                    decrement(&c.stopping, "stopping");
                }
                let counter = match (exit, e.ok) {
                    (TaskExit::Cancelled, _) => &c.killed,
                    (TaskExit::Panicked(_), _) | (TaskExit::Completed, Some(false)) => &c.crashed,
                    (TaskExit::Completed, _) => &c.ended,
                };
                counter.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Asks a user to stop (once); returns whether it was running.
    fn ask(&self, e: &mut Entry) {
        if !e.asked {
            e.asked = true;
            e.stop.request_stop();
            if e.phase == Phase::Running {
                self.counters.stopping.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
}

/// The shard actor of one arbiter.
pub(crate) struct UserShard {
    index: u64,
    shared: Rc<ShardShared>,
    factory: Option<Arc<dyn UserFactory>>,
    grace: Duration,
}

impl UserShard {
    pub(crate) fn new(index: u64, counters: Arc<ShardCounters>, grace: Duration) -> Self {
        Self {
            index,
            shared: Rc::new(ShardShared {
                counters,
                state: RefCell::new(State::default()),
                deferred: RefCell::new(Vec::new()),
            }),
            factory: None,
            grace,
        }
    }

    /// Aborts the listed users after the grace if they are still under forced removal.
    fn abort_later(&self, ids: Vec<u64>, ctx: &mut Context<Self>) {
        if ids.is_empty() {
            return;
        }
        ctx.run_later(self.grace, move |act, _| {
            act.shared.apply_deferred();
            let st = act.shared.state.borrow();
            for id in ids {
                if let Some(e) = st.users.get(&id) {
                    if e.forced {
                        e.abort.abort();
                    }
                }
            }
        });
    }
}

impl Actor for UserShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_millis(100), |act, _| {
            act.shared.apply_deferred()
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        for e in self.shared.state.borrow().users.values() {
            e.abort.abort();
        }
    }
}

impl Drop for UserShard {
    /// A shard that dies (even by a panic) takes its users along: they are aborted and
    /// counted as killed (running) or cancelled (waiting), never left unsupervised.
    fn drop(&mut self) {
        if let Ok(st) = self.shared.state.try_borrow() {
            for e in st.users.values() {
                e.abort.abort();
            }
        }
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
    }
}

/// Spawn this shard's users among ids `first..=last` (ids with `(id − 1) mod shards == index`).
#[derive(Debug, Clone, Copy)]
pub struct SpawnUsers {
    /// First id of the range.
    pub first: u64,
    /// Last id of the range (inclusive).
    pub last: u64,
    /// Number of shards.
    pub shards: u64,
}

impl Message for SpawnUsers {
    type Result = u64;
}

impl Handler<SpawnUsers> for UserShard {
    type Result = u64;

    fn handle(&mut self, msg: SpawnUsers, _: &mut Self::Context) -> u64 {
        let Some(factory) = self.factory.clone() else {
            return 0;
        };
        self.shared.apply_deferred();
        let n = msg.shards.max(1);
        let offset = (self.index + n - (msg.first - 1) % n) % n;
        let mut spawned = 0;
        let mut id = msg.first + offset;
        while id <= msg.last {
            let (stop, abort) = factory.spawn(UserId(id), &self.shared);
            self.shared.counters.waiting.fetch_add(1, Ordering::AcqRel);
            self.shared.state.borrow_mut().users.insert(
                id,
                Entry {
                    stop,
                    abort,
                    phase: Phase::Waiting,
                    seq: 0,
                    asked: false,
                    forced: false,
                    ok: None,
                },
            );
            spawned += 1;
            id += n;
        }
        spawned
    }
}

/// The oldest running users eligible for removal: `(start sequence, id)`, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Candidates {
    /// At most this many.
    pub n: u64,
    /// Forced removal (users not yet forced) or soft (users not yet asked).
    pub force: bool,
}

impl Message for Candidates {
    type Result = Vec<(u64, u64)>;
}

impl Handler<Candidates> for UserShard {
    type Result = Vec<(u64, u64)>;

    fn handle(&mut self, msg: Candidates, _: &mut Self::Context) -> Self::Result {
        self.shared.apply_deferred();
        let st = self.shared.state.borrow();
        st.running
            .iter()
            .filter(|(_, id)| {
                st.users
                    .get(id)
                    .is_some_and(|e| if msg.force { !e.forced } else { !e.asked })
            })
            .take(usize::try_from(msg.n).unwrap_or(usize::MAX))
            .map(|(seq, id)| (*seq, *id))
            .collect()
    }
}

/// Marks the listed users for removal; returns how many were newly selected.
#[derive(Debug, Clone)]
pub struct MarkForRemoval {
    /// User ids of this shard.
    pub ids: Vec<u64>,
    /// Abort after the grace if they have not ended.
    pub force: bool,
}

impl Message for MarkForRemoval {
    type Result = u64;
}

impl Handler<MarkForRemoval> for UserShard {
    type Result = u64;

    fn handle(&mut self, msg: MarkForRemoval, ctx: &mut Self::Context) -> u64 {
        self.shared.apply_deferred();
        let mut marked = 0;
        let mut forced = Vec::new();
        {
            let mut st = self.shared.state.borrow_mut();
            for id in msg.ids {
                let Some(e) = st.users.get_mut(&id) else {
                    continue;
                };
                if e.phase != Phase::Running || (msg.force && e.forced) || (!msg.force && e.asked) {
                    continue;
                }
                self.shared.ask(e);
                if msg.force {
                    e.forced = true;
                    forced.push(id);
                }
                marked += 1;
            }
        }
        self.abort_later(forced, ctx);
        marked
    }
}

/// Ends every user: waiting ones are cancelled at once, running ones get a forced stop.
#[derive(Debug, Clone, Copy)]
pub struct StopAll;

impl Message for StopAll {
    type Result = ();
}

impl Handler<StopAll> for UserShard {
    type Result = ();

    fn handle(&mut self, _: StopAll, ctx: &mut Self::Context) {
        self.shared.apply_deferred();
        let mut forced = Vec::new();
        {
            let mut st = self.shared.state.borrow_mut();
            for (id, e) in st.users.iter_mut() {
                match e.phase {
                    Phase::Waiting => e.abort.abort(),
                    Phase::Running if !e.forced => {
                        self.shared.ask(e);
                        e.forced = true;
                        forced.push(*id);
                    }
                    Phase::Running => {}
                }
            }
        }
        self.abort_later(forced, ctx);
    }
}

/// Stops one user: a waiting user is cancelled; a running one asked (and, forced, aborted
/// after the grace). `Err(())` if the user is not on this shard (never added, or ended).
#[derive(Debug, Clone, Copy)]
pub struct StopUser {
    /// The user.
    pub id: u64,
    /// Forced stop.
    pub force: bool,
}

impl Message for StopUser {
    type Result = Result<(), ()>;
}

impl Handler<StopUser> for UserShard {
    type Result = Result<(), ()>;

    fn handle(&mut self, msg: StopUser, ctx: &mut Self::Context) -> Self::Result {
        self.shared.apply_deferred();
        let mut force_later = false;
        {
            let mut st = self.shared.state.borrow_mut();
            let e = st.users.get_mut(&msg.id).ok_or(())?;
            match e.phase {
                Phase::Waiting => e.abort.abort(),
                Phase::Running => {
                    self.shared.ask(e);
                    if msg.force && !e.forced {
                        e.forced = true;
                        force_later = true;
                    }
                }
            }
        }
        if force_later {
            self.abort_later(vec![msg.id], ctx);
        }
        Ok(())
    }
}
