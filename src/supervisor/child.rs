//! Starting a child as an owned task, and the references a supervisor hands out.

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use actix::{Actor, ActorFutureExt, Addr, AsyncContext, Context, WrapFuture};
use actix_rt::ArbiterHandle;
use tokio::sync::{oneshot, watch};

use super::{ChildContext, ExitReason, StartError};
use crate::task::{self, AbortHandle, TaskExit};

type ExitRx = watch::Receiver<Option<ExitReason>>;

/// Handed to a start function: spawns the child actor as a task the supervisor will own.
///
/// Use exactly one `spawn_*` call per start and return its [`ChildHandle`] in
/// [`Start::Started`](super::Start::Started). The `make` closures get the child's
/// [`ChildContext`], which the actor may keep to record its exit reason.
///
/// If a start function spawns an actor but does not return its handle (it fails after
/// spawning), that actor is not supervised by anyone: spawn last, after anything that may fail.
///
/// A supervised actor does not stop when all its addresses are dropped (the pending stop
/// request keeps it alive, as an Erlang process is): it ends with `ctx.stop()`,
/// [`ChildContext::stop_with`], a stop request, a panic or an abort.
#[derive(Debug, Clone, Default)]
pub struct ChildStarter {
    _private: (),
}

/// The running task of a child: what a start function returns to the supervisor.
pub struct ChildHandle {
    abort: AbortHandle,
    stop: Option<oneshot::Sender<ExitReason>>,
    exit: ExitRx,
    addr: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for ChildHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHandle")
            .field("exit", &*self.exit.borrow())
            .finish_non_exhaustive()
    }
}

type OnStop<A> = Box<dyn FnOnce(&mut A, &mut Context<A>, ExitReason)>;
type OnStopSend<A> = Box<dyn FnOnce(&mut A, &mut Context<A>, ExitReason) + Send>;

fn spawn_here<A>(
    make: impl FnOnce(ChildContext) -> A,
    on_stop: Option<OnStop<A>>,
) -> (Addr<A>, ChildHandle)
where
    A: Actor<Context = Context<A>>,
{
    let cx = ChildContext::new();
    let (stop_tx, stop_rx) = oneshot::channel::<ExitReason>();
    let (exit_tx, exit_rx) = watch::channel(None);
    let actor = make(cx.clone());
    let mut ctx = Context::<A>::new();
    let stop_cx = cx.clone();
    ctx.spawn(stop_rx.into_actor(&actor).map(move |res, act, ctx| {
        if let Ok(reason) = res {
            match on_stop {
                Some(f) => f(act, ctx, reason),
                None => stop_cx.stop_with(ctx, reason),
            }
        }
    }));
    let (addr, abort) = task::spawn_context(ctx, actor, move |exit| {
        let reason = match exit {
            TaskExit::Completed => cx.take().unwrap_or(ExitReason::Normal),
            TaskExit::Panicked(msg) => ExitReason::Panicked(msg),
            TaskExit::Cancelled => ExitReason::Killed,
        };
        exit_tx.send_replace(Some(reason));
    });
    let handle = ChildHandle {
        abort,
        stop: Some(stop_tx),
        exit: exit_rx,
        addr: Some(Arc::new(addr.clone())),
    };
    (addr, handle)
}

async fn spawn_there<A, M>(
    arbiter: &ArbiterHandle,
    make: M,
    on_stop: Option<OnStopSend<A>>,
) -> Result<(Addr<A>, ChildHandle), StartError>
where
    A: Actor<Context = Context<A>>,
    M: FnOnce(ChildContext) -> A + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let sent = arbiter.spawn(async move {
        let on_stop = on_stop.map(|f| f as OnStop<A>);
        let _ = tx.send(spawn_here(make, on_stop));
    });
    if !sent {
        return Err(task::ArbiterGone.into());
    }
    rx.await.map_err(|_| task::ArbiterGone.into())
}

impl ChildStarter {
    /// A starter (supervisors make one per start; useful on its own in tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns the actor built by `make` on the current arbiter; a stop request stops it at
    /// once with the requested reason.
    pub fn spawn_local<A>(&self, make: impl FnOnce(ChildContext) -> A) -> (Addr<A>, ChildHandle)
    where
        A: Actor<Context = Context<A>>,
    {
        spawn_here(make, None)
    }

    /// Like [`spawn_local`](Self::spawn_local), but a stop request calls `on_stop` inside
    /// the actor instead (OTP's trapped exit): it may stop late, or not at all.
    pub fn spawn_local_trapping<A, S>(
        &self,
        make: impl FnOnce(ChildContext) -> A,
        on_stop: S,
    ) -> (Addr<A>, ChildHandle)
    where
        A: Actor<Context = Context<A>>,
        S: FnOnce(&mut A, &mut Context<A>, ExitReason) + 'static,
    {
        spawn_here(make, Some(Box::new(on_stop)))
    }

    /// Builds the actor with `make` on `arbiter` and spawns it there; a stop request stops
    /// it at once.
    ///
    /// ```
    /// # use amoc::supervisor::*;
    /// # struct Worker;
    /// # impl actix::Actor for Worker { type Context = actix::Context<Self>; }
    /// # #[actix_rt::main] async fn main() {
    /// let arbiter = actix_rt::Arbiter::new();
    /// let on = arbiter.handle();
    /// let spec = ChildSpec::new("remote", move |starter| {
    ///     let on = on.clone();
    ///     async move {
    ///         let (_addr, handle) = starter.spawn_on(&on, |_cx| Worker).await?;
    ///         Ok(Start::Started(handle, None))
    ///     }
    /// });
    /// let sup = Supervisor::start(move || Init::Supervise(SupFlags::default(), vec![spec]))
    ///     .await
    ///     .unwrap()
    ///     .running()
    ///     .unwrap();
    /// assert_eq!(sup.stop().await, ExitReason::Shutdown);
    /// arbiter.stop();
    /// # }
    /// ```
    pub async fn spawn_on<A, M>(
        &self,
        arbiter: &ArbiterHandle,
        make: M,
    ) -> Result<(Addr<A>, ChildHandle), StartError>
    where
        A: Actor<Context = Context<A>>,
        M: FnOnce(ChildContext) -> A + Send + 'static,
    {
        spawn_there(arbiter, make, None).await
    }

    /// [`spawn_on`](Self::spawn_on) with a stop callback, as in
    /// [`spawn_local_trapping`](Self::spawn_local_trapping).
    pub async fn spawn_on_trapping<A, M, S>(
        &self,
        arbiter: &ArbiterHandle,
        make: M,
        on_stop: S,
    ) -> Result<(Addr<A>, ChildHandle), StartError>
    where
        A: Actor<Context = Context<A>>,
        M: FnOnce(ChildContext) -> A + Send + 'static,
        S: FnOnce(&mut A, &mut Context<A>, ExitReason) + Send + 'static,
    {
        spawn_there(arbiter, make, Some(Box::new(on_stop))).await
    }
}

impl ChildHandle {
    /// Sends the stop request (once; later calls do nothing).
    pub(crate) fn request_stop(&mut self, reason: ExitReason) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(reason);
        }
    }

    /// Aborts the task.
    pub(crate) fn abort(&self) {
        self.abort.abort();
    }

    /// A receiver of the exit reason (None until the task ends).
    pub(crate) fn exit_rx(&self) -> ExitRx {
        self.exit.clone()
    }

    /// Makes the reference the supervisor hands out for this child.
    pub(crate) fn child_ref(&self, sup: u64, key: u64) -> ChildRef {
        ChildRef {
            sup,
            key,
            addr: self.addr.clone(),
            abort: self.abort.clone(),
            exit: self.exit.clone(),
        }
    }
}

/// Waits for the exit reason on `rx`; a task that vanished without a notice counts as killed.
pub(crate) async fn wait_exit(mut rx: ExitRx) -> ExitReason {
    let seen = match rx.wait_for(Option::is_some).await {
        Ok(r) => r.clone(),
        Err(_) => None,
    };
    seen.or_else(|| rx.borrow().clone())
        .unwrap_or(ExitReason::Killed)
}

/// A reference to one running child (OTP's child pid): equal only to itself, never reused.
#[derive(Clone)]
pub struct ChildRef {
    sup: u64,
    key: u64,
    addr: Option<Arc<dyn Any + Send + Sync>>,
    abort: AbortHandle,
    exit: ExitRx,
}

impl ChildRef {
    /// The child actor's address, if it is an `A` (as started by a [`ChildStarter`]).
    pub fn addr<A: Actor>(&self) -> Option<Addr<A>> {
        self.addr.as_ref()?.downcast_ref::<Addr<A>>().cloned()
    }

    /// Aborts the child's task, like OTP's `exit(Pid, kill)`: its supervisor sees `Killed`.
    pub fn kill(&self) {
        self.abort.abort();
    }

    /// The exit reason, if the child has ended.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.exit.borrow().clone()
    }

    /// Waits until the child ends and returns its exit reason.
    pub async fn wait(&self) -> ExitReason {
        wait_exit(self.exit.clone()).await
    }

    pub(crate) fn exit_rx(&self) -> ExitRx {
        self.exit.clone()
    }

    pub(crate) fn key(&self) -> u64 {
        self.key
    }

    pub(crate) fn sup(&self) -> u64 {
        self.sup
    }
}

impl PartialEq for ChildRef {
    fn eq(&self, other: &Self) -> bool {
        self.sup == other.sup && self.key == other.key
    }
}

impl Eq for ChildRef {}

impl Hash for ChildRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.sup, self.key).hash(state);
    }
}

impl fmt::Debug for ChildRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildRef<{}.{}>", self.sup, self.key)
    }
}
