//! The coordinator actor: drains its command stream, groups users, runs actions.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, SpawnHandle, StreamHandler};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::grouping::{Fired, Grouping};
use super::plan::{Action, EventKind, PlanItem};
use super::Name;
use crate::telemetry::{monotonic_time, names, Telemetry};
use crate::{measurements, metadata};

/// What a coordinator is asked to do; adds, resets and stops share one ordered stream, so a
/// caller's adds are handled before its later reset or stop.
pub(crate) enum Command<D> {
    Add(Arc<D>),
    Reset(oneshot::Sender<()>),
    Stop(oneshot::Sender<()>),
}

pub(crate) struct CoordinatorActor<D> {
    name: Name,
    plan: Vec<PlanItem<D>>,
    grouping: Grouping<D>,
    timeout: Option<Duration>,
    telemetry: Telemetry,
    last_add: Option<Instant>,
    timer: Option<SpawnHandle>,
    fired: Vec<Fired<D>>,
    /// Called once the coordinator has stopped (frees the name).
    on_stop: Option<Box<dyn FnOnce() + Send>>,
}

impl<D: Send + Sync + 'static> CoordinatorActor<D> {
    pub(crate) fn new(
        name: Name,
        plan: Vec<PlanItem<D>>,
        timeout: Option<Duration>,
        telemetry: Telemetry,
        on_stop: Box<dyn FnOnce() + Send>,
    ) -> Self {
        let seed =
            u64::try_from(monotonic_time()).unwrap_or(1) ^ (Arc::as_ptr(&name) as *const u8 as u64);
        Self {
            grouping: Grouping::new(&plan, seed),
            name,
            plan,
            timeout,
            telemetry,
            last_add: None,
            timer: None,
            fired: Vec::new(),
            on_stop: Some(on_stop),
        }
    }

    fn emit(&self, name: &'static crate::telemetry::EventName) {
        let coordinator = self.name.to_string();
        self.telemetry.execute_with(name, || {
            (
                measurements! { "count" => 1u64 },
                metadata! { "name" => coordinator, "monotonic_time" => monotonic_time() },
            )
        });
    }

    /// Runs the actions of every fired group, in order.
    fn run_fired(&mut self) {
        let fired = std::mem::take(&mut self.fired);
        for f in &fired {
            let coordinator = self.name.to_string();
            self.telemetry
                .execute_with(&names::COORDINATOR_EXECUTE, || {
                    let configured = match f.configured {
                        Some(n) => crate::Value::from(n),
                        None => crate::Value::from("all"),
                    };
                    (
                        measurements! { "count" => f.event.count },
                        metadata! {
                            "event" => f.event.kind.as_str(),
                            "configured" => configured,
                            "name" => coordinator,
                            "monotonic_time" => monotonic_time(),
                        },
                    )
                });
            for action in &self.plan[f.item].actions {
                let result = catch_unwind(AssertUnwindSafe(|| run_action(action, f)));
                if let Err(panic) = result {
                    tracing::error!(
                        coordinator = %self.name,
                        item = f.item,
                        reason = %crate::task::panic_message(&*panic),
                        "coordinator action panicked"
                    );
                }
            }
        }
        self.fired = fired;
        self.fired.clear();
    }

    fn flush(&mut self, kind: EventKind) {
        self.grouping.flush(kind, &mut self.fired);
        self.run_fired();
    }

    fn disarm(&mut self, ctx: &mut Context<Self>) {
        self.last_add = None;
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
    }

    /// Arms the timeout check for `at`, unless one is pending (it re-checks `last_add`).
    fn arm(&mut self, ctx: &mut Context<Self>, after: Duration) {
        if self.timer.is_none() {
            self.timer = Some(ctx.run_later(after, |act, ctx| {
                act.timer = None;
                act.check_timeout(ctx);
            }));
        }
    }

    fn check_timeout(&mut self, ctx: &mut Context<Self>) {
        let (Some(last), Some(timeout)) = (self.last_add, self.timeout) else {
            return;
        };
        let due = last + timeout;
        let now = Instant::now();
        if now >= due {
            self.last_add = None;
            self.emit(&names::COORDINATOR_TIMEOUT);
            self.flush(EventKind::Timeout);
        } else {
            self.arm(ctx, due - now);
        }
    }
}

fn run_action<D>(action: &Action<D>, f: &Fired<D>) {
    let e = f.event;
    match action {
        Action::Group(g) => g(e),
        Action::Users(g) => g(e, &f.group),
        Action::EachUser(g) => f.group.iter().for_each(|d| g(e, d)),
        Action::Pairs(g) => match f.group.as_slice() {
            [] => g(e, None, None),
            [a] => g(e, Some(a), None),
            group => {
                for (i, a) in group.iter().enumerate() {
                    for b in &group[i + 1..] {
                        g(e, Some(a), Some(b));
                    }
                }
            }
        },
    }
}

impl<D: Send + Sync + 'static> Actor for CoordinatorActor<D> {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(f) = self.on_stop.take() {
            f();
        }
    }
}

impl<D: Send + Sync + 'static> StreamHandler<Command<D>> for CoordinatorActor<D> {
    fn handle(&mut self, cmd: Command<D>, ctx: &mut Self::Context) {
        match cmd {
            Command::Add(data) => {
                self.grouping.add(&data, &mut self.fired);
                if !self.fired.is_empty() {
                    self.run_fired();
                }
                if let Some(timeout) = self.timeout {
                    self.last_add = Some(Instant::now());
                    self.arm(ctx, timeout);
                }
            }
            Command::Reset(done) => {
                self.disarm(ctx);
                self.emit(&names::COORDINATOR_RESET);
                self.flush(EventKind::Reset);
                let _ = done.send(());
            }
            Command::Stop(done) => {
                self.disarm(ctx);
                self.flush(EventKind::Stop);
                if let Some(f) = self.on_stop.take() {
                    f();
                }
                self.emit(&names::COORDINATOR_STOP);
                let _ = done.send(());
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
