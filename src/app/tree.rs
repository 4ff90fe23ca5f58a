//! The app's supervision tree (SPEC section 1):
//!
//! ```text
//! amoc (rest_for_one, 1 restart per 5 s)
//! ├── telemetry     TelemetryActor (registry outside the actor; flushes queues when stopped)
//! ├── config        ConfigActor (table outside the actor)
//! ├── throttles     dynamic supervisor: one owner actor per named throttle (transient)
//! ├── coordinators  dynamic supervisor: one actor per named coordinator (transient)
//! ├── users         one_for_one, 3 restarts per 10 s: one UserShard per arbiter
//! └── controller    ControllerActor (run record outside the actor; ends the run when stopped)
//! ```
//!
//! The `Throttles` and `Coordinators` handles talk to their dynamic supervisors directly; when
//! the root restarts one, the handle adopts the new instance (the old one's throttles or
//! coordinators are gone with it, as in OTP).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{ActorFutureExt, AsyncContext, WrapFuture};
use actix_rt::ArbiterHandle;
use tokio::sync::mpsc;

use super::BuildError;
use crate::config::{Config, ConfigActor};
use crate::controller::{ControllerActor, ControllerLoop, Request};
use crate::coordinator::Coordinators;
use crate::supervisor::{
    ChildContext, ChildKind, ChildSpec, ExitReason, Init, Shutdown, Start, Strategy, SupFlags,
    Supervisor, SupervisorRef,
};
use crate::telemetry::{Telemetry, TelemetryActor, SHUTDOWN_FLUSH_TIMEOUT};
use crate::throttle::Throttles;
use crate::users::{ShardCounters, UserShard, Users};

/// Everything the tree's start functions need; cloned into each of them.
pub(super) struct Tree {
    pub(super) telemetry: Telemetry,
    pub(super) report_period: Duration,
    pub(super) config: Config,
    pub(super) throttles: Throttles,
    pub(super) coordinators: Coordinators,
    pub(super) arbiters: Vec<ArbiterHandle>,
    pub(super) counters: Vec<Arc<ShardCounters>>,
    pub(super) removal_grace: Duration,
    pub(super) controller: ControllerLoop,
    pub(super) inbox: Arc<Mutex<mpsc::UnboundedSender<Request>>>,
}

impl Tree {
    pub(super) async fn start(self) -> Result<SupervisorRef, BuildError> {
        let specs = vec![
            telemetry_spec(self.telemetry, self.report_period),
            config_spec(self.config),
            throttles_spec(self.throttles),
            coordinators_spec(self.coordinators),
            users_spec(
                self.arbiters,
                self.counters,
                self.removal_grace,
                self.controller.users.clone(),
            ),
            controller_spec(self.controller, self.inbox, self.removal_grace),
        ];
        let flags = SupFlags::new(Strategy::RestForOne).intensity(1, Duration::from_secs(5));
        let started = Supervisor::start(move || Init::Supervise(flags, specs))
            .await
            .map_err(BuildError::Start)?;
        started.running().ok_or(BuildError::Ignored)
    }
}

fn telemetry_spec(telemetry: Telemetry, period: Duration) -> ChildSpec {
    ChildSpec::new("telemetry", move |starter| {
        let telemetry = telemetry.clone();
        async move {
            let cx_slot: Rc<RefCell<ChildContext>> = Rc::default();
            let keep = cx_slot.clone();
            let (_, handle) = starter.spawn_local_trapping(
                move |cx| {
                    *keep.borrow_mut() = cx;
                    TelemetryActor::new(telemetry, period)
                },
                move |act: &mut TelemetryActor, ctx, _reason| {
                    // Deliver what is queued before stopping, so a run's last events arrive.
                    let t = act.telemetry().clone();
                    let cx = cx_slot.borrow().clone();
                    ctx.wait(
                        async move {
                            t.flush(SHUTDOWN_FLUSH_TIMEOUT).await;
                        }
                        .into_actor(act)
                        .map(move |(), _, ctx| cx.stop_with(ctx, ExitReason::Shutdown)),
                    );
                },
            );
            Ok(Start::Started(handle, None))
        }
    })
    .with_shutdown(Shutdown::Timeout(
        SHUTDOWN_FLUSH_TIMEOUT + Duration::from_secs(1),
    ))
}

fn config_spec(config: Config) -> ChildSpec {
    ChildSpec::new("config", move |starter| {
        let config = config.clone();
        async move {
            let (_, handle) = starter.spawn_local(move |_| ConfigActor::new(config));
            Ok(Start::Started(handle, None))
        }
    })
}

fn throttles_spec(throttles: Throttles) -> ChildSpec {
    ChildSpec::new("throttles", move |starter| {
        let throttles = throttles.clone();
        async move { throttles.start_supervisor_under(&starter).await }
    })
    .with_kind(ChildKind::Supervisor)
}

fn coordinators_spec(coordinators: Coordinators) -> ChildSpec {
    ChildSpec::new("coordinators", move |starter| {
        let coordinators = coordinators.clone();
        async move { coordinators.start_supervisor_under(&starter).await }
    })
    .with_kind(ChildKind::Supervisor)
}

fn users_spec(
    arbiters: Vec<ArbiterHandle>,
    counters: Vec<Arc<ShardCounters>>,
    grace: Duration,
    users: Users,
) -> ChildSpec {
    let shards: Vec<ChildSpec> = arbiters
        .into_iter()
        .zip(counters)
        .enumerate()
        .map(|(i, (arbiter, counters))| shard_spec(i, arbiter, counters, grace, users.clone()))
        .collect();
    Supervisor::child_spec("users", move || {
        let flags = SupFlags::new(Strategy::OneForOne).intensity(3, Duration::from_secs(10));
        Init::Supervise(flags, shards.clone())
    })
}

fn shard_spec(
    index: usize,
    arbiter: ArbiterHandle,
    counters: Arc<ShardCounters>,
    grace: Duration,
    users: Users,
) -> ChildSpec {
    ChildSpec::new(format!("shard_{index}"), move |starter| {
        let (arbiter, counters, users) = (arbiter.clone(), counters.clone(), users.clone());
        async move {
            let (addr, handle) = starter
                .spawn_on(&arbiter, move |_| {
                    UserShard::new(index as u64, counters, grace)
                })
                .await?;
            // A restarted shard serves the current run (its old users were killed with it).
            users.register(index, addr);
            Ok(Start::Started(handle, None))
        }
    })
}

fn controller_spec(
    controller: ControllerLoop,
    inbox: Arc<Mutex<mpsc::UnboundedSender<Request>>>,
    grace: Duration,
) -> ChildSpec {
    ChildSpec::new("controller", move |starter| {
        let (controller, inbox) = (controller.clone(), inbox.clone());
        async move {
            let (tx, rx) = mpsc::unbounded_channel();
            *crate::sync::lock(&inbox) = tx.clone();
            let (_, handle) = starter.spawn_local_trapping(
                move |cx| ControllerActor::new(cx, controller, tx, rx),
                |act: &mut ControllerActor, ctx, _reason| act.shut_down(ctx),
            );
            Ok(Start::Started(handle, None))
        }
    })
    .with_shutdown(Shutdown::Timeout(grace + Duration::from_secs(30)))
}
