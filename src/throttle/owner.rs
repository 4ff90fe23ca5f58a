//! The owner actor of one throttle: it serialises every state change (rate change, gradual
//! steps on timers, pause, resume, stop) and answers `info`. Requests never go through it.
//!
//! **Supervision.** Each owner is a `Transient` child of the registry's `throttles`
//! DynamicSupervisor (see [`Throttles`](super::Throttles), "Supervision"). The owner keeps no
//! state that is not also in the throttle's shared core (which the registry holds: the last
//! configuration, the pause flag, the queues), except a running gradual plan. When an owner
//! panics, the supervisor calls the child's start function again, which creates a new owner
//! for the same core and re-applies the last configuration, so the throttle comes back as it
//! was; the plan is cancelled (reported) and waiting requests fail with `Stopped`, as SPEC 6.3
//! says. `stop` ends the owner normally (no restart).

use std::sync::Arc;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, SpawnHandle};
use tokio::time::Instant;

use super::core::Core;
use super::gradual::GradualSchedule;
use super::{GradualInfo, ThrottleConfig, ThrottleError, ThrottleInfo};
use crate::Value;

/// How often the owner looks for inactive shards.
const INACTIVITY_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// The actor that owns a throttle's state changes.
#[derive(Debug)]
pub struct Owner {
    core: Arc<Core>,
    plan: Option<Plan>,
}

#[derive(Debug)]
struct Plan {
    schedule: GradualSchedule,
    started: Instant,
    step: u64,
    timer: Option<SpawnHandle>,
}

impl Owner {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core, plan: None }
    }

    fn state_update(&self, reason: &'static str) {
        let config = self.core.config();
        self.core.process(
            "debug",
            "state update",
            Some((
                "state",
                serde_json::json!({
                    "reason": reason,
                    "rate": config.limit().to_string(),
                    "interval": config.interval_ms(),
                    "paused": self.core.is_paused(),
                }),
            )),
        );
    }

    fn apply_step(&mut self, ctx: &mut Context<Self>) {
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        let s = plan.schedule;
        let config = ThrottleConfig::rate_per(s.rate_at(plan.step), s.interval);
        let last = plan.step >= s.step_count;
        if last {
            self.plan = None;
            self.core.set_plan_running(false);
        } else {
            plan.step += 1;
            let due = plan.started + s.offset_of(plan.step);
            let delay = due.saturating_duration_since(Instant::now());
            plan.timer = Some(ctx.run_later(delay, |act, ctx| act.apply_step(ctx)));
        }
        self.core.configure(config);
        self.core.emit_rate(config, Some("gradual change"));
        self.state_update("gradual step");
    }
}

impl Actor for Owner {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.state_update("start");
        ctx.run_interval(INACTIVITY_CHECK, |act, _| act.core.check_inactive());
    }
}

/// Change the rate (`change_rate`, `unlock`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), ThrottleError>")]
pub(crate) struct ChangeRate(pub(crate) ThrottleConfig);

impl Handler<ChangeRate> for Owner {
    type Result = Result<(), ThrottleError>;

    fn handle(&mut self, ChangeRate(config): ChangeRate, _: &mut Context<Self>) -> Self::Result {
        if config == self.core.config() {
            return Ok(());
        }
        if self.plan.is_some() {
            return Err(ThrottleError::GradualChangeInProgress);
        }
        self.core.configure(config);
        self.core.emit_rate(config, None);
        self.state_update("change");
        Ok(())
    }
}

/// Start a gradual change.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), ThrottleError>")]
pub(crate) struct Gradual(pub(crate) GradualSchedule);

impl Handler<Gradual> for Owner {
    type Result = Result<(), ThrottleError>;

    fn handle(&mut self, Gradual(schedule): Gradual, ctx: &mut Context<Self>) -> Self::Result {
        if self.plan.is_some() {
            return Err(ThrottleError::GradualChangeInProgress);
        }
        self.core.set_plan_running(true);
        self.plan = Some(Plan {
            schedule,
            started: Instant::now(),
            step: 0,
            timer: None,
        });
        self.apply_step(ctx);
        Ok(())
    }
}

/// Pause (true) or resume (false).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub(crate) struct SetPaused(pub(crate) bool);

impl Handler<SetPaused> for Owner {
    type Result = ();

    fn handle(&mut self, SetPaused(paused): SetPaused, _: &mut Context<Self>) {
        if self.core.is_paused() != paused {
            self.core.set_paused(paused);
            self.state_update(if paused { "pause" } else { "resume" });
        }
    }
}

/// Stop: fail every waiter, cancel the plan, stop the owner.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Stop;

impl Handler<Stop> for Owner {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        if let Some(Plan { timer: Some(t), .. }) = self.plan.take() {
            ctx.cancel_future(t);
        }
        stop_core(&self.core);
        ctx.stop();
    }
}

/// Stop the owner without touching the throttle (it has been replaced): it exits normally,
/// so its supervisor does not restart it, and its plan (if any) takes no further step.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Cancel;

impl Handler<Cancel> for Owner {
    type Result = ();

    fn handle(&mut self, _: Cancel, ctx: &mut Context<Self>) {
        if let Some(Plan { timer: Some(t), .. }) = self.plan.take() {
            ctx.cancel_future(t);
        }
        ctx.stop();
    }
}

/// Make the owner panic (tests of supervision only; see
/// [`Throttles::crash_owner_for_test`](super::Throttles::crash_owner_for_test)).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Crash;

impl Handler<Crash> for Owner {
    type Result = ();

    fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!(
            "throttle {:?}: owner crash requested for a test",
            &*self.core.name
        );
    }
}

/// Stops `core` and reports discarded sends.
pub(crate) fn stop_core(core: &Core) {
    let dropped = core.stop();
    if dropped > 0 {
        core.process(
            "warning",
            "pending requests dropped",
            Some(("n", Value::from(dropped))),
        );
    }
}

/// Describe the throttle.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ThrottleInfo")]
pub(crate) struct Info;

impl Handler<Info> for Owner {
    type Result = actix::MessageResult<Info>;

    fn handle(&mut self, _: Info, _: &mut Context<Self>) -> Self::Result {
        let config = self.core.config();
        let gradual = self.plan.as_ref().map(|p| GradualInfo {
            step: p.step.saturating_sub(1),
            steps: p.schedule.step_count,
            next_at: p.started + p.schedule.offset_of(p.step),
        });
        actix::MessageResult(ThrottleInfo {
            rate: config.limit(),
            interval: config.interval(),
            paused: self.core.is_paused(),
            gradual,
            waiting: self.core.waiting(),
            in_flight: self.core.in_flight(),
            granted: self.core.granted(),
            missed: self.core.missed(),
        })
    }
}
