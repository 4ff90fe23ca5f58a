//! A telemetry handler that logs events through `tracing`.

use actix::{Actor, Context, Handler};
use amoc::telemetry::EventBatch;
use tracing::Level;

/// Logs each event it receives at a configurable level, with its name, measurements and
/// metadata (rendered as JSON), under the target `amoc::telemetry`.
///
/// ```
/// use actix::Actor;
/// use amoc::telemetry::{AttachOptions, EventPattern, Telemetry};
/// use amoc_actors::TracingLogger;
/// # actix_rt::System::new().block_on(async {
/// let telemetry = Telemetry::new();
/// telemetry.start();
/// let logger = TracingLogger::new(tracing::Level::INFO).start();
/// telemetry
///     .attach("log", EventPattern::prefix(&["amoc"]), logger.recipient(), AttachOptions::default())
///     .await
///     .unwrap();
/// # });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TracingLogger {
    level: Level,
}

impl TracingLogger {
    /// A logger writing at `level`.
    pub fn new(level: Level) -> Self {
        Self { level }
    }
}

impl Default for TracingLogger {
    fn default() -> Self {
        Self::new(Level::INFO)
    }
}

impl Actor for TracingLogger {
    type Context = Context<Self>;
}

macro_rules! log_at {
    ($level:expr, $($rest:tt)+) => {
        match $level {
            Level::ERROR => tracing::error!(target: "amoc::telemetry", $($rest)+),
            Level::WARN => tracing::warn!(target: "amoc::telemetry", $($rest)+),
            Level::INFO => tracing::info!(target: "amoc::telemetry", $($rest)+),
            Level::DEBUG => tracing::debug!(target: "amoc::telemetry", $($rest)+),
            Level::TRACE => tracing::trace!(target: "amoc::telemetry", $($rest)+),
        }
    };
}

impl Handler<EventBatch> for TracingLogger {
    type Result = ();

    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        for event in &batch.events {
            let measurements = serde_json::to_string(&event.measurements).unwrap_or_default();
            let metadata = serde_json::to_string(&event.metadata).unwrap_or_default();
            log_at!(self.level, event = %event.name, %measurements, %metadata, "telemetry event");
        }
    }
}
