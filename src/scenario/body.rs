//! One user's life after spawning: the user-rate permit, registration, then `start` inside
//! the span `[amoc, scenario, start]`.
//!
//! The span is kept lean on purpose (it lives as long as the user, a million times over): it
//! holds the start instant and the span context id, and builds its metadata only when an
//! event is emitted. Events and their shapes are those of [`Telemetry::try_span_with`]
//! (`start`; `stop` with `duration` and `return`; `exception` with `kind` `error`, `panic`, or
//! `exit` / `cancelled` when the user is aborted).
//!
//! [`Telemetry::try_span_with`]: crate::telemetry::Telemetry::try_span_with

use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::FutureExt;
use tokio::time::Instant;

use super::user::RunData;
use super::{Scenario, UserContext};
use crate::task::panic_message;
use crate::telemetry::{monotonic_at, names, next_span_context, system_time, Metadata};
use crate::users::{Event, ShardShared};
use crate::{measurements, Value};

pub(crate) async fn life<S: Scenario>(user: UserContext<S>, shard: Rc<ShardShared>) {
    let run = user.run.clone();
    let cell = user.cell.clone();
    if let Some(gate) = run.gate.as_ref().filter(|g| !g.open()) {
        // Boxed: the throttle's future only costs memory while a user waits for it.
        if let Err(reason) = Box::pin(gate.wait()).await {
            tracing::debug!(user_id = cell.slot.id, %reason, "user cancelled while waiting");
            return;
        }
    }
    let seq = run.sequence.fetch_add(1, Ordering::Relaxed);
    shard.register_running(cell.clone(), seq);
    let mut span = UserSpan::start(&run, cell.slot.id);
    let result = AssertUnwindSafe(run.scenario.start(user))
        .catch_unwind()
        .await;
    match result {
        Ok(Ok(())) => span.stop(),
        Ok(Err(e)) => {
            // No counter changes: the user is counted crashed when its task ends.
            cell.slot.step(&Event::Fail);
            tracing::debug!(user_id = cell.slot.id, error = %e, "user crashed");
            span.exception("error", e.to_string());
        }
        Err(panic) => {
            cell.slot.step(&Event::Fail);
            let reason = panic_message(&*panic);
            tracing::debug!(user_id = cell.slot.id, %reason, "user panicked");
            span.exception("panic", reason);
        }
    }
}

/// The open span of one running user; dropped open, it emits `exception` kind `exit`.
struct UserSpan<'a, S: Scenario> {
    run: &'a RunData<S>,
    id: u64,
    context: u64,
    start: Instant,
    open: bool,
}

impl<'a, S: Scenario> UserSpan<'a, S> {
    fn start(run: &'a Arc<RunData<S>>, id: u64) -> Self {
        let span = Self {
            run,
            id,
            context: next_span_context(),
            start: Instant::now(),
            open: true,
        };
        span.telemetry()
            .execute_with(&names::SCENARIO_START.start, || {
                (
                    measurements! {
                        "monotonic_time" => monotonic_at(span.start),
                        "system_time" => system_time(),
                    },
                    span.metadata(),
                )
            });
        span
    }

    fn telemetry(&self) -> &crate::telemetry::Telemetry {
        self.run.context.telemetry()
    }

    fn metadata(&self) -> Metadata {
        crate::metadata! {
            "scenario" => S::NAME,
            "state" => Value::from(&*self.run.state_debug),
            "user_id" => self.id,
            "telemetry_span_context" => self.context,
        }
    }

    fn duration(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    fn stop(&mut self) {
        self.open = false;
        self.telemetry()
            .execute_with(&names::SCENARIO_START.stop, || {
                let now = Instant::now();
                let mut md = self.metadata();
                md.insert("return", "()");
                (
                    measurements! {
                        "duration" => self.duration(now),
                        "monotonic_time" => monotonic_at(now),
                    },
                    md,
                )
            });
    }

    fn exception(&mut self, kind: &'static str, reason: String) {
        self.open = false;
        self.telemetry()
            .execute_with(&names::SCENARIO_START.exception, || {
                let now = Instant::now();
                let mut md = self.metadata();
                md.insert("kind", kind);
                md.insert("reason", reason);
                md.insert("stacktrace", "");
                (
                    measurements! {
                        "duration" => self.duration(now),
                        "monotonic_time" => monotonic_at(now),
                    },
                    md,
                )
            });
    }
}

impl<S: Scenario> Drop for UserSpan<'_, S> {
    fn drop(&mut self) {
        if self.open {
            self.exception("exit", "cancelled".into());
        }
    }
}
