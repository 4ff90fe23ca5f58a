//! The supervisor actor shell shared by static and dynamic supervisors.
//!
//! The policy state (a [`Core`]) is moved into one future at a time, run with `ctx.wait`,
//! so the mailbox is not served while children are being stopped or started (as an OTP
//! supervisor is busy during a restart), and handed back when done.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use actix::{
    Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Context, Handler, Message, Recipient,
    WrapFuture,
};
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use tokio::sync::oneshot;

use super::child::wait_exit;
use super::{
    ChildContext, ChildError, ChildHandle, ChildStarter, ExitReason, Start, StartError, StartFn,
    StopRequest, SupervisorStartError,
};
use crate::task::panic_message;

/// A child's task ended (sent by the watcher of that task).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct ChildExited {
    pub(crate) key: u64,
    pub(crate) reason: ExitReason,
}

/// What the actor does after a policy step.
#[derive(Debug)]
pub(crate) enum Outcome {
    Continue,
    /// A restart failed: retry the child with this token later, through the mailbox.
    Retry(u64),
    /// The children are stopped: exit with this reason.
    Exit(ExitReason),
}

/// The policy state of a supervisor.
pub(crate) trait Core: Sized + 'static {
    type Cmd: Send + 'static;
    fn attach(&mut self, me: Recipient<ChildExited>);
    fn init(&mut self) -> impl Future<Output = Result<(), SupervisorStartError>>;
    fn on_exit(&mut self, key: u64, reason: ExitReason) -> impl Future<Output = Outcome>;
    fn on_retry(&mut self, token: u64) -> impl Future<Output = Outcome>;
    fn shutdown(&mut self) -> impl Future<Output = ()>;
    fn command(&mut self, cmd: Self::Cmd) -> impl Future<Output = Outcome>;
}

/// Retry a failed restart.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Retry(u64);

/// A management call.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Call<T>(pub(crate) T);

pub(crate) struct Runner<C: Core> {
    core: Option<Box<C>>,
    me: ChildContext,
    started: Option<oneshot::Sender<Result<(), SupervisorStartError>>>,
    stopping: bool,
}

impl<C: Core> Runner<C> {
    fn run<R: 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        op: impl for<'a> FnOnce(&'a mut C) -> LocalBoxFuture<'a, R> + 'static,
        then: impl FnOnce(&mut Self, R, &mut Context<Self>) + 'static,
    ) {
        let Some(mut core) = self.core.take() else {
            return;
        };
        let fut = async move {
            let r = op(&mut core).await;
            (core, r)
        };
        ctx.wait(fut.into_actor(self).map(move |(core, r), act, ctx| {
            act.core = Some(core);
            then(act, r, ctx);
        }));
    }

    fn apply(&mut self, outcome: Outcome, ctx: &mut Context<Self>) {
        match outcome {
            Outcome::Continue => {}
            Outcome::Retry(token) => {
                // through the mailbox, after a yield: management calls and shutdown are
                // served between attempts, and a failing loop never starves the arbiter
                let me = ctx.address();
                tokio::task::spawn_local(async move {
                    tokio::task::yield_now().await;
                    me.do_send(Retry(token));
                });
            }
            Outcome::Exit(reason) => self.exit(reason, ctx),
        }
    }

    fn exit(&mut self, reason: ExitReason, ctx: &mut Context<Self>) {
        self.stopping = true;
        self.me.record(reason);
        ctx.stop();
    }

    pub(crate) fn begin_stop(&mut self, reason: ExitReason, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.run(
            ctx,
            |c| c.shutdown().boxed_local(),
            move |act, (), ctx| act.exit(reason, ctx),
        );
    }
}

impl<C: Core> Actor for Runner<C> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let me = ctx.address().recipient();
        if let Some(core) = self.core.as_mut() {
            core.attach(me);
        }
        self.run(
            ctx,
            |c| c.init().boxed_local(),
            |act, res, ctx| {
                let failed = res.is_err();
                if let Some(tx) = act.started.take() {
                    let _ = tx.send(res);
                }
                if failed {
                    act.exit(ExitReason::Normal, ctx);
                }
            },
        );
    }
}

impl<C: Core> Handler<ChildExited> for Runner<C> {
    type Result = ();

    fn handle(&mut self, msg: ChildExited, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        self.run(
            ctx,
            move |c| c.on_exit(msg.key, msg.reason).boxed_local(),
            Self::apply,
        );
    }
}

impl<C: Core> Handler<Retry> for Runner<C> {
    type Result = ();

    fn handle(&mut self, msg: Retry, ctx: &mut Context<Self>) {
        if !self.stopping {
            self.run(ctx, move |c| c.on_retry(msg.0).boxed_local(), Self::apply);
        }
    }
}

impl<C: Core> Handler<StopRequest> for Runner<C> {
    type Result = ();

    fn handle(&mut self, msg: StopRequest, ctx: &mut Context<Self>) {
        self.begin_stop(msg.0, ctx);
    }
}

impl<C: Core> Handler<Call<C::Cmd>> for Runner<C> {
    type Result = ();

    fn handle(&mut self, msg: Call<C::Cmd>, ctx: &mut Context<Self>) {
        self.run(ctx, move |c| c.command(msg.0).boxed_local(), Self::apply);
    }
}

/// Spawns a supervisor actor on the current arbiter and waits until its children started.
pub(crate) async fn launch<C: Core>(
    starter: &ChildStarter,
    core: C,
) -> Result<(Addr<Runner<C>>, ChildHandle), SupervisorStartError> {
    let (tx, rx) = oneshot::channel();
    let (addr, handle) = starter.spawn_local_trapping(
        move |me| Runner {
            core: Some(Box::new(core)),
            me,
            started: Some(tx),
            stopping: false,
        },
        |act: &mut Runner<C>, ctx, reason| act.begin_stop(reason, ctx),
    );
    match rx.await {
        Ok(Ok(())) => Ok((addr, handle)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(SupervisorStartError::SupervisorGone),
    }
}

/// Calls a start function; a panic (while building or running its future) is an error.
pub(crate) async fn run_start<A>(start: &StartFn<A>, args: A) -> Result<Start, StartError> {
    let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| {
        start.call(ChildStarter::new(), args)
    })) {
        Ok(fut) => fut,
        Err(p) => return Err(StartError(format!("panicked: {}", panic_message(&*p)))),
    };
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(p) => Err(StartError(format!("panicked: {}", panic_message(&*p)))),
    }
}

/// Watches a child's task on the supervisor's arbiter and reports its end once.
pub(crate) fn watch_child(me: &Option<Recipient<ChildExited>>, key: u64, handle: &ChildHandle) {
    let Some(me) = me.clone() else { return };
    let rx = handle.exit_rx();
    tokio::task::spawn_local(async move {
        let reason = wait_exit(rx).await;
        me.do_send(ChildExited { key, reason });
    });
}

/// A process-wide unique supervisor instance id (for [`ChildRef`](super::ChildRef)s).
pub(crate) fn next_sup_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Sends a call and waits for its reply; a gone supervisor gives `None`.
/// A call answered with a `Result`: a supervisor that is gone answers `SupervisorGone`.
pub(crate) async fn try_call<C: Core, T>(
    addr: &Addr<Runner<C>>,
    make: impl FnOnce(oneshot::Sender<Result<T, ChildError>>) -> C::Cmd,
) -> Result<T, ChildError> {
    call(addr, make)
        .await
        .unwrap_or(Err(ChildError::SupervisorGone))
}

/// A call answered with a plain value: `SupervisorGone` if the supervisor is gone.
pub(crate) async fn query<C: Core, T>(
    addr: &Addr<Runner<C>>,
    make: impl FnOnce(oneshot::Sender<T>) -> C::Cmd,
) -> Result<T, ChildError> {
    call(addr, make).await.ok_or(ChildError::SupervisorGone)
}

pub(crate) async fn call<C: Core, T>(
    addr: &Addr<Runner<C>>,
    make: impl FnOnce(oneshot::Sender<T>) -> C::Cmd,
) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    addr.do_send(Call(make(tx)));
    rx.await.ok()
}
