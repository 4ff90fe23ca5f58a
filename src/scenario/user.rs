//! The user actor: hosts one user's scenario future. It lives beside the `Scenario` trait
//! because it is generic over it; the shards (in [`crate::users`]) spawn it through the
//! type-erased [`UserFactory`] and only ever see its [`UserCell`].
//!
//! Each user is an actix actor run as its own tokio task on its shard's arbiter. The task is
//! a small hand-written future around the actor's context ([`UserTask`]) that reports the
//! user's end to its shard exactly once: completed, panicked, or cancelled (aborted, or
//! dropped with its arbiter). The user's body ([`super::body`]) is the only future spawned
//! into the actor's context; nothing else is allocated per user but the shared [`UserCell`].

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use actix::dev::ContextFut;
use actix::WrapFuture;
use actix::{Actor, ActorContext, ActorFutureExt, AsyncContext, Context};

use super::{RunContext, Scenario};
use crate::task::TaskExit;
use crate::user_rate::Gate;
use crate::users::{ShardShared, UserCell, UserFactory, UserHandle, UserId};

/// Everything the users of one run share (one allocation per run).
pub(crate) struct RunData<S: Scenario> {
    pub(crate) scenario: Arc<S>,
    pub(crate) state: Arc<S::State>,
    pub(crate) context: RunContext,
    pub(crate) state_debug: Arc<str>,
    pub(crate) gate: Option<Gate>,
    /// Run-wide start sequence: defines "oldest started".
    pub(crate) sequence: AtomicU64,
}

/// The factory the controller hands to shards.
pub(crate) struct ArcFactory<S: Scenario>(pub(crate) Arc<RunData<S>>);

impl<S: Scenario> UserFactory for ArcFactory<S> {
    fn spawn(&self, id: UserId, shard: &Rc<ShardShared>) -> Rc<dyn UserHandle> {
        let cell = Rc::new(UserCell::new(id.0, shard.index()));
        let actor = UserActor {
            cell: cell.clone(),
            run: Some((self.0.clone(), shard.clone())),
        };
        let task = UserTask {
            fut: Some(Context::new().into_future(actor)),
            cell: cell.clone(),
            shard: shard.clone(),
            reported: false,
        };
        let handle = tokio::task::spawn_local(task);
        cell.slot.set_abort(handle.abort_handle());
        cell
    }
}

pub(crate) struct UserActor<S: Scenario> {
    pub(crate) cell: Rc<UserCell<S::Message>>,
    /// Taken when the actor starts.
    run: Option<(Arc<RunData<S>>, Rc<ShardShared>)>,
}

impl<S: Scenario> Actor for UserActor<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some((run, shard)) = self.run.take() else {
            ctx.stop();
            return;
        };
        let user = super::UserContext {
            run,
            cell: self.cell.clone(),
        };
        let body = super::body::life(user, shard);
        ctx.spawn(body.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }
}

/// A user's tokio task: the actor's context, and its exit reported to the shard exactly once
/// (from `poll` when it completes or panics, from `drop` when it is aborted or dropped).
/// The context is dropped and the mailbox closed before the exit is reported, so once a user
/// is counted ended, sending to it fails with `UserGone`.
struct UserTask<S: Scenario> {
    fut: Option<ContextFut<UserActor<S>, Context<UserActor<S>>>>,
    cell: Rc<UserCell<S::Message>>,
    shard: Rc<ShardShared>,
    reported: bool,
}

impl<S: Scenario> UserTask<S> {
    fn report(&mut self, exit: TaskExit) {
        self.fut = None;
        if !self.reported {
            self.reported = true;
            self.cell.clear();
            self.shard.user_exited(&self.cell.slot, exit);
        }
    }
}

impl<S: Scenario> Future for UserTask<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.reported {
            return Poll::Ready(());
        }
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(());
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(fut).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => {
                this.report(TaskExit::Completed);
                Poll::Ready(())
            }
            Err(payload) => {
                this.report(TaskExit::Panicked(crate::task::panic_message(&*payload)));
                Poll::Ready(())
            }
        }
    }
}

impl<S: Scenario> Drop for UserTask<S> {
    fn drop(&mut self) {
        self.report(TaskExit::Cancelled);
    }
}
