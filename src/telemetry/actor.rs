//! The Telemetry actor: serialises registry writes, runs delivery tasks on its arbiter and
//! reports drops and silent handler deaths every report period.

use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message};

use super::queue::DeliveryEnd;
use super::registry;
use super::{Telemetry, TelemetryError};

/// The actor that owns registry writes. Create it with [`Telemetry::start`] or, under a
/// supervisor, with [`TelemetryActor::new`]; the registry lives in the [`Telemetry`] handle,
/// so a restarted actor keeps every handler.
#[derive(Debug)]
pub struct TelemetryActor {
    telemetry: Telemetry,
    report_period: Duration,
}

impl TelemetryActor {
    /// An actor serving `telemetry`'s registry, reporting drops every `report_period`.
    pub fn new(telemetry: Telemetry, report_period: Duration) -> Self {
        Self {
            telemetry,
            report_period,
        }
    }
}

impl TelemetryActor {
    /// The handle whose registry this actor serves.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }
}

impl Actor for TelemetryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.telemetry.set_actor(Some(ctx.address()));
        self.telemetry.registry.set_running(true);
        ctx.run_interval(self.report_period, |act, _| act.telemetry.report_tick());
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.telemetry.clear_actor(&ctx.address());
    }
}

/// Attach a handler (sent by [`Telemetry::attach_many`]).
pub(crate) struct Attach(pub(crate) registry::Handler);

impl Message for Attach {
    type Result = Result<(), TelemetryError>;
}

impl Handler<Attach> for TelemetryActor {
    type Result = Result<(), TelemetryError>;

    fn handle(&mut self, msg: Attach, _: &mut Self::Context) -> Self::Result {
        let queue = msg.0.queue.clone();
        let recipient = msg.0.recipient.clone();
        let owned = msg.0.owned.is_some();
        self.telemetry.registry.attach(msg.0)?;
        let telemetry = self.telemetry.clone();
        actix_rt::spawn(async move {
            if let DeliveryEnd::MailboxClosed = queue.clone().deliver(recipient).await {
                // Owned handlers report through their task, which knows the real reason.
                if !owned {
                    telemetry.handler_failed(&queue, "stopped", "mailbox closed".into());
                }
            }
        });
        Ok(())
    }
}

/// Detach a handler by id.
pub(crate) struct Detach(pub(crate) String);

impl Message for Detach {
    type Result = Result<(), TelemetryError>;
}

impl Handler<Detach> for TelemetryActor {
    type Result = Result<(), TelemetryError>;

    fn handle(&mut self, msg: Detach, _: &mut Self::Context) -> Self::Result {
        self.telemetry.registry.detach(&msg.0).map(|_| ())
    }
}

/// Stop the actor (sent by [`Telemetry::shutdown`]).
pub(crate) struct Stop;

impl Message for Stop {
    type Result = ();
}

impl Handler<Stop> for TelemetryActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
