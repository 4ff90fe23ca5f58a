//! Owned actor tasks: spawn an actix actor so that whoever spawned it sees its end.
//!
//! actix runs an actor as a future on an arbiter and tells nobody when that future ends, or
//! why. Supervision (OTP's monitor) and telemetry's handler-failure detection both need that
//! fact, exactly once, whatever the cause. So instead of `Actor::start`, the actor's context
//! is turned into a future and spawned as one tokio task on the target arbiter, which reports
//! a [`TaskExit`] exactly once (the `on_exit` callback, run on that arbiter):
//!
//! * the future completed (the actor stopped: `ctx.stop()`, all addresses dropped) →
//!   [`TaskExit::Completed`];
//! * a handler panicked → [`TaskExit::Panicked`] with the panic message; only that actor's
//!   task ends, the arbiter and its other actors go on;
//! * the task was aborted through its [`AbortHandle`], or dropped with its arbiter →
//!   [`TaskExit::Cancelled`] (reported from the drop path, so `on_exit` must not spawn).
//!
//! An abort takes effect at the actor's next `.await` point: code that never yields cannot be
//! interrupted.

use std::any::Any;
use std::fmt;

use std::panic::AssertUnwindSafe;

use actix::{Actor, Addr, AsyncContext, Context};
use actix_rt::ArbiterHandle;
use futures::FutureExt;
use tokio::sync::oneshot;
pub use tokio::task::AbortHandle;

/// How an owned actor task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskExit {
    /// The actor's future completed: the actor stopped by itself.
    Completed,
    /// A handler panicked; the payload rendered as text.
    Panicked(String),
    /// The task was aborted.
    Cancelled,
}

/// Spawning an actor on an arbiter failed: the arbiter is no longer running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("arbiter is not running")]
pub struct ArbiterGone;

/// Renders a panic payload as text (`&str` and `String` payloads; anything else is named).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Starts `actor` on the current arbiter as an owned task; `on_exit` runs once, on this
/// arbiter, when the task ends.
///
/// Must be called from inside an actix arbiter (a `System`, an `Arbiter`, or
/// `#[actix_rt::test]`): it uses `tokio::task::spawn_local`.
pub fn spawn_local<A, F>(actor: A, on_exit: F) -> (Addr<A>, AbortHandle)
where
    A: Actor<Context = Context<A>>,
    F: FnOnce(TaskExit) + 'static,
{
    spawn_context(Context::new(), actor, on_exit)
}

/// Like [`spawn_local`], with a context prepared by the caller (for instance with futures
/// already spawned into it with `AsyncContext::spawn`).
pub fn spawn_context<A, F>(ctx: Context<A>, actor: A, on_exit: F) -> (Addr<A>, AbortHandle)
where
    A: Actor<Context = Context<A>>,
    F: FnOnce(TaskExit) + 'static,
{
    let addr = ctx.address();
    let fut = ctx.into_future(actor);
    // One task per actor: the exit is reported from inside it (completion or panic), or by a
    // guard when the task is aborted and its future dropped — even before its first poll,
    // which is why the guard is built here and moved in.
    let guard = ExitGuard(Some(on_exit));
    let handle = tokio::task::spawn_local(async move {
        let mut guard = guard;
        let exit = match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(()) => TaskExit::Completed,
            Err(payload) => TaskExit::Panicked(panic_message(&*payload)),
        };
        guard.report(exit);
    });
    (addr, handle.abort_handle())
}

/// Reports `Cancelled` if the task is dropped before it reported its own exit.
struct ExitGuard<F: FnOnce(TaskExit)>(Option<F>);

impl<F: FnOnce(TaskExit)> ExitGuard<F> {
    fn report(&mut self, exit: TaskExit) {
        if let Some(f) = self.0.take() {
            f(exit);
        }
    }
}

impl<F: FnOnce(TaskExit)> Drop for ExitGuard<F> {
    fn drop(&mut self) {
        self.report(TaskExit::Cancelled);
    }
}

/// Builds an actor with `make` on `arbiter` and starts it there as an owned task (see
/// [`spawn_local`]); resolves once the actor exists.
pub async fn spawn_on<A, M, F>(
    arbiter: &ArbiterHandle,
    make: M,
    on_exit: F,
) -> Result<(Addr<A>, AbortHandle), ArbiterGone>
where
    A: Actor<Context = Context<A>>,
    M: FnOnce() -> A + Send + 'static,
    F: FnOnce(TaskExit) + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let sent = arbiter.spawn(async move {
        let started = spawn_local(make(), on_exit);
        let _ = tx.send(started);
    });
    if !sent {
        return Err(ArbiterGone);
    }
    rx.await.map_err(|_| ArbiterGone)
}

impl fmt::Display for TaskExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskExit::Completed => f.write_str("completed"),
            TaskExit::Panicked(msg) => write!(f, "panicked: {msg}"),
            TaskExit::Cancelled => f.write_str("cancelled"),
        }
    }
}
