//! The controller's actor: the supervised face of the controller task.
//!
//! The controller's requests are served by one task (see `run.rs`) so that long operations
//! (ending a run) never block the actor's context. The actor owns that task: if the task
//! ends (a bug made it panic), the actor stops with that reason and its supervisor restarts
//! it; a stop request from the supervisor first ends the run (users stopped, `terminate`
//! called), then stops the actor with reason `Shutdown`.

use std::panic::AssertUnwindSafe;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture};
use futures::FutureExt;
use tokio::sync::{mpsc, oneshot};

use super::run::{ControllerLoop, Request};
use crate::supervisor::{ChildContext, ExitReason};
use crate::task::{panic_message, AbortHandle};

pub(crate) struct ControllerActor {
    cx: ChildContext,
    tx: mpsc::UnboundedSender<Request>,
    task: Option<AbortHandle>,
    serve: Option<(ControllerLoop, mpsc::UnboundedReceiver<Request>)>,
}

impl ControllerActor {
    pub(crate) fn new(
        cx: ChildContext,
        controller: ControllerLoop,
        tx: mpsc::UnboundedSender<Request>,
        rx: mpsc::UnboundedReceiver<Request>,
    ) -> Self {
        Self {
            cx,
            tx,
            task: None,
            serve: Some((controller, rx)),
        }
    }

    /// Ends the run, then stops with `Shutdown` (the supervisor's stop request, trapped).
    pub(crate) fn shut_down(&mut self, ctx: &mut Context<Self>) {
        let (reply, done) = oneshot::channel();
        let _ = self.tx.send(Request::Shutdown { reply });
        ctx.wait(
            async move {
                let _ = done.await;
            }
            .into_actor(self)
            .map(|(), act, ctx| act.cx.stop_with(ctx, ExitReason::Shutdown)),
        );
    }
}

struct LoopEnded(ExitReason);

impl Message for LoopEnded {
    type Result = ();
}

impl Actor for ControllerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some((controller, rx)) = self.serve.take() else {
            return;
        };
        let me = ctx.address();
        let handle = tokio::task::spawn_local(async move {
            let reason = match AssertUnwindSafe(controller.serve(rx)).catch_unwind().await {
                Ok(()) => ExitReason::Normal,
                Err(panic) => ExitReason::Panicked(panic_message(&*panic)),
            };
            me.do_send(LoopEnded(reason));
        });
        self.task = Some(handle.abort_handle());
    }
}

impl Handler<LoopEnded> for ControllerActor {
    type Result = ();

    fn handle(&mut self, msg: LoopEnded, ctx: &mut Self::Context) {
        self.cx.stop_with(ctx, msg.0);
    }
}

impl Drop for ControllerActor {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
