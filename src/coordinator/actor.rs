//! The coordinator actor: drains its mailbox in batches, groups users, runs actions.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, SpawnHandle, StreamHandler};
use tokio::time::Instant;

use super::grouping::{Fired, Grouping};
use super::mailbox::{Command, Control, Mailbox, Ready, ReadyStream};
use super::plan::{Action, EventKind, PlanItem};
use super::Name;
use crate::telemetry::{monotonic_time, names, Telemetry};
use crate::{measurements, metadata};

/// Commands handled per wake-up before the actor yields to its timer and other futures.
const BATCH: usize = 512;

/// Frees the coordinator's name and closes its mailbox (when it ends for good).
pub(crate) type Release = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct CoordinatorActor<D> {
    name: Name,
    plan: Vec<PlanItem<D>>,
    grouping: Grouping<D>,
    timeout: Option<Duration>,
    telemetry: Telemetry,
    last_add: Option<Instant>,
    timer: Option<SpawnHandle>,
    fired: Vec<Fired<D>>,
    mailbox: Arc<Mailbox<D>>,
    /// Frees the name for good; called by `stop` only. Not from `stopped`: actix runs that
    /// also while a crashed actor's context is dropped, and a crash is followed by a restart.
    /// A coordinator ended by its supervisor is released when the supervisor exits.
    release: Release,
}

impl<D: Send + Sync + 'static> CoordinatorActor<D> {
    pub(crate) fn new(
        name: Name,
        plan: Vec<PlanItem<D>>,
        timeout: Option<Duration>,
        telemetry: Telemetry,
        mailbox: Arc<Mailbox<D>>,
        release: Release,
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
            mailbox,
            release,
        }
    }

    fn emit(&self, name: &'static crate::telemetry::EventName) {
        let coordinator = &self.name;
        self.telemetry.execute_with(name, || {
            (
                measurements! { "count" => 1u64 },
                metadata! { "name" => coordinator.to_string(), "monotonic_time" => monotonic_time() },
            )
        });
    }

    /// Runs the actions of every fired group, in order.
    fn run_fired(&mut self) {
        let mut fired = std::mem::take(&mut self.fired);
        for f in &fired {
            let coordinator = &self.name;
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
                            "name" => coordinator.to_string(),
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
        for f in fired.drain(..) {
            self.grouping.recycle(f.group);
        }
        self.fired = fired;
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

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.add_stream(ReadyStream(self.mailbox.clone()));
    }
}

impl<D: Send + Sync + 'static> CoordinatorActor<D> {
    fn add(&mut self, data: D) {
        self.grouping.add(&Arc::new(data), &mut self.fired);
        if !self.fired.is_empty() {
            self.run_fired();
        }
    }

    /// Handles a control command; true if the actor is stopping.
    fn control(&mut self, control: Control, ctx: &mut Context<Self>) -> bool {
        match control {
            Control::Reset(done) => {
                self.disarm(ctx);
                self.emit(&names::COORDINATOR_RESET);
                self.flush(EventKind::Reset);
                let _ = done.send(());
                false
            }
            Control::Stop(done) => {
                self.disarm(ctx);
                self.flush(EventKind::Stop);
                (self.release)();
                self.emit(&names::COORDINATOR_STOP);
                let _ = done.send(());
                // A normal exit: the `Transient` child is not restarted.
                ctx.stop();
                true
            }
            Control::Crash => panic!("coordinator {:?}: crash requested", self.name),
        }
    }
}

impl<D: Send + Sync + 'static> StreamHandler<Ready> for CoordinatorActor<D> {
    /// Drains up to [`BATCH`] commands; a crash loses only the command in hand.
    fn handle(&mut self, _: Ready, ctx: &mut Self::Context) {
        let mut added = false;
        for _ in 0..BATCH {
            match self.mailbox.pop() {
                None => break,
                Some(Command::Add(data)) => {
                    self.add(data);
                    added = true;
                }
                Some(Command::Control(c)) => {
                    // A reset or stop disarms: only adds after it re-arm the timeout.
                    added = false;
                    if self.control(c, ctx) {
                        return;
                    }
                }
            }
        }
        // Every add re-arms the timeout; the adds of one batch are handled at one instant.
        if added {
            if let Some(timeout) = self.timeout {
                self.last_add = Some(Instant::now());
                self.arm(ctx, timeout);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
