//! The user actor: hosts one user's scenario future and feeds its inbox.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture,
};
use futures::future::LocalBoxFuture;

use super::context::UserContext;
use super::inbox::{Inbox, StopTarget};
use super::shard::ShardShared;
use super::UserId;
use crate::scenario::{RunContext, Scenario, ScenarioError};
use crate::task::{self, AbortHandle};
use crate::telemetry::{names, Metadata};
use crate::Value;

/// Mailbox capacity of a user.
pub(crate) const MAILBOX_CAPACITY: usize = 1024;

/// A message for a user's inbox.
#[derive(Debug)]
pub struct Deliver<M>(pub M);

impl<M: Send + 'static> Message for Deliver<M> {
    type Result = ();
}

/// Waits for permission to start a user (the user-rate throttle); `Err` cancels the user.
pub(crate) type Gate = Arc<dyn Fn() -> LocalBoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Everything the users of one run share (one allocation per run).
pub(crate) struct RunData<S: Scenario> {
    pub(crate) scenario: Arc<S>,
    pub(crate) state: Arc<S::State>,
    pub(crate) context: RunContext,
    pub(crate) state_debug: Arc<str>,
    pub(crate) gate: Option<Gate>,
    /// Run-wide start sequence: defines "oldest started".
    pub(crate) sequence: Arc<AtomicU64>,
}

/// Spawns users of one run on a shard, without the shard knowing the scenario type.
pub(crate) trait UserFactory: Send + Sync {
    fn spawn(&self, id: UserId, shard: &Rc<ShardShared>) -> (Rc<dyn StopTarget>, AbortHandle);
}

/// The factory the controller hands to shards.
pub(crate) struct ArcFactory<S: Scenario>(pub(crate) Arc<RunData<S>>);

impl<S: Scenario> UserFactory for ArcFactory<S> {
    fn spawn(&self, id: UserId, shard: &Rc<ShardShared>) -> (Rc<dyn StopTarget>, AbortHandle) {
        let inbox = Rc::new(RefCell::new(Inbox::new()));
        let actor = UserActor {
            inbox: inbox.clone(),
            start: Some((id, self.0.clone(), shard.clone())),
        };
        let on_exit_shard = shard.clone();
        let (_, abort) = task::spawn_local(actor, move |exit| on_exit_shard.user_exited(id, exit));
        (inbox, abort)
    }
}

pub(crate) struct UserActor<S: Scenario> {
    inbox: Rc<RefCell<Inbox<S::Message>>>,
    start: Option<(UserId, Arc<RunData<S>>, Rc<ShardShared>)>,
}

impl<S: Scenario> Actor for UserActor<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        let Some((id, run, shard)) = self.start.take() else {
            ctx.stop();
            return;
        };
        let user = UserContext {
            id,
            run: run.clone(),
            inbox: self.inbox.clone(),
            addr: ctx.address(),
        };
        let fut = user_main(id, run, shard, user);
        ctx.spawn(fut.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }
}

impl<S: Scenario> Handler<Deliver<S::Message>> for UserActor<S> {
    type Result = ();

    fn handle(&mut self, msg: Deliver<S::Message>, _: &mut Self::Context) {
        self.inbox.borrow_mut().push(msg.0);
    }
}

/// One user's whole life after spawning: permit, registration, `start` in its span.
async fn user_main<S: Scenario>(
    id: UserId,
    run: Arc<RunData<S>>,
    shard: Rc<ShardShared>,
    user: UserContext<S>,
) {
    if let Some(gate) = &run.gate {
        if let Err(reason) = gate().await {
            tracing::debug!(user_id = id.0, %reason, "user cancelled while waiting");
            return;
        }
    }
    shard.register_running(id, run.sequence.fetch_add(1, Ordering::Relaxed));
    let telemetry = run.context.telemetry().clone();
    let meta_run = run.clone();
    let start_metadata = move || {
        crate::metadata! {
            "scenario" => S::NAME,
            "state" => Value::from(&*meta_run.state_debug),
            "user_id" => id.0,
        }
    };
    let stop_metadata = start_metadata.clone();
    let scenario = run.scenario.clone();
    let live = telemetry.clone();
    let result: Result<(), ScenarioError> = telemetry
        .try_span_with(&names::SCENARIO_START, start_metadata, async move {
            scenario.start(user).await?;
            let md = if live.is_live() {
                let mut md = stop_metadata();
                md.insert("return", "()");
                md
            } else {
                Metadata::new()
            };
            Ok(((), md))
        })
        .await;
    shard.record_outcome(id, result.is_ok());
    if let Err(e) = result {
        tracing::debug!(user_id = id.0, error = %e, "user crashed");
    }
}
