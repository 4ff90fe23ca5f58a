//! Telemetry: named events with numeric measurements and metadata, delivered to handler actors.
//!
//! This follows the Erlang `telemetry` library (attach/detach by handler id, exact-name
//! dispatch, spans, failing handlers detached), adapted to actors:
//!
//! * **Emitting is cheap and never waits.** [`Telemetry::execute_with`] costs one atomic load
//!   when no handler is attached, and an array lookup (no lock, no allocation) when handlers
//!   exist but none matches. Measurements and metadata are built only if a handler matches.
//! * **Delivery is asynchronous and bounded.** Each handler has its own FIFO queue
//!   ([`AttachOptions::queue_capacity`], default 65 536). A delivery task forwards queued
//!   events to the handler actor as [`EventBatch`]es, one batch in flight at a time. Events
//!   from one emitting thread arrive in emission order; there is no order across threads.
//! * **Overload drops, and counts.** A full queue drops the event for that handler only.
//!   For every handler, at all times, events matched = delivered + queued + dropped; the
//!   counts are in [`Telemetry::list_handlers`] and a `[telemetry, handler, dropped]` event
//!   reports new drops every report period.
//! * **A failing handler is detached.** A handler actor that panics or stops is removed from
//!   all its patterns and `[telemetry, handler, failure]` is emitted; the others keep
//!   receiving. Events still queued for it are discarded and counted as dropped.
//! * **Shutdown flushes.** [`Telemetry::shutdown`] waits (up to 5 s) until every queue is
//!   delivered, then turns `execute` into a no-op.
//!
//! ```
//! use amoc::telemetry::{EventName, Telemetry, EventPattern, test::Recorder};
//! use amoc::{measurements, metadata};
//!
//! static LOGIN: EventName = amoc::event_name!(my_app, login);
//!
//! # actix_rt::System::new().block_on(async {
//! let telemetry = Telemetry::new();
//! telemetry.start();
//! let mut recorder = Recorder::attach(&telemetry, [EventPattern::from(&LOGIN)]).await.unwrap();
//! telemetry.execute(&LOGIN, measurements! { "count" => 1u64 }, metadata! { "user" => 7 });
//! let event = recorder.next(std::time::Duration::from_secs(5)).await.unwrap();
//! assert_eq!(event.metadata.get("user"), Some(&amoc::Value::from(7)));
//! # });
//! ```

mod actor;
mod clock;
mod event;
pub mod names;
mod pattern;
mod queue;
mod registry;
mod span;
pub mod test;
mod types;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, Addr, Context, Handler as ActixHandler, Recipient};
use actix_rt::ArbiterHandle;

pub use actor::TelemetryActor;
pub(crate) use clock::monotonic_at;
pub use clock::{monotonic_time, now_measurements, system_time};
pub use event::{Event, EventBatch, EventName, Measurements, Metadata, Number, Pairs, SpanName};
pub use pattern::EventPattern;
pub(crate) use span::next_span_context;
pub use types::{AttachOptions, HandlerInfo, TelemetryError};

use crate::task::{self, TaskExit};
use crate::Value;
use queue::HandlerQueue;
use registry::Registry;

/// Default capacity of a handler's queue, in events.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;
/// Default period of drop reports and liveness checks.
pub const DEFAULT_REPORT_PERIOD: Duration = Duration::from_secs(1);
/// How long [`Telemetry::shutdown`] waits for queues to drain.
pub const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The handle to one telemetry registry: cheap to clone, usable from any thread or arbiter.
#[derive(Clone)]
pub struct Telemetry {
    registry: Arc<Registry>,
    actor: Arc<Mutex<Option<Addr<TelemetryActor>>>>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("running", &self.registry.is_running())
            .finish()
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    /// A registry that is not running yet: `execute` is a no-op, `attach` fails with `Down`.
    pub fn new() -> Self {
        Self {
            registry: Arc::new(Registry::new()),
            actor: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts the telemetry actor on the current arbiter (report period 1 s).
    pub fn start(&self) -> Addr<TelemetryActor> {
        self.start_with(DEFAULT_REPORT_PERIOD)
    }

    /// Starts the telemetry actor on the current arbiter with the given report period.
    pub fn start_with(&self, report_period: Duration) -> Addr<TelemetryActor> {
        let addr = TelemetryActor::new(self.clone(), report_period).start();
        self.set_actor(Some(addr.clone()));
        self.registry.set_running(true);
        addr
    }

    fn actor(&self) -> Result<Addr<TelemetryActor>, TelemetryError> {
        let slot = crate::sync::lock(&self.actor);
        match &*slot {
            Some(a) if a.connected() => Ok(a.clone()),
            _ => Err(TelemetryError::Down),
        }
    }

    fn set_actor(&self, addr: Option<Addr<TelemetryActor>>) {
        *crate::sync::lock(&self.actor) = addr;
    }

    fn clear_actor(&self, addr: &Addr<TelemetryActor>) {
        let mut slot = crate::sync::lock(&self.actor);
        if slot.as_ref() == Some(addr) {
            *slot = None;
        }
    }

    /// Attaches `recipient` under `id` to one pattern.
    pub async fn attach(
        &self,
        id: impl Into<String>,
        pattern: impl Into<EventPattern>,
        recipient: Recipient<EventBatch>,
        opts: AttachOptions,
    ) -> Result<(), TelemetryError> {
        self.attach_many(id, [pattern.into()], recipient, opts)
            .await
    }

    /// Attaches `recipient` under `id` to several patterns; an event matching more than one
    /// is delivered once. Nothing is attached on error.
    pub async fn attach_many(
        &self,
        id: impl Into<String>,
        patterns: impl IntoIterator<Item = EventPattern>,
        recipient: Recipient<EventBatch>,
        opts: AttachOptions,
    ) -> Result<(), TelemetryError> {
        let handler = new_handler(id.into(), patterns, recipient, opts, None);
        self.send_attach(handler).await
    }

    async fn send_attach(&self, handler: registry::Handler) -> Result<(), TelemetryError> {
        self.actor()?
            .send(actor::Attach(handler))
            .await
            .map_err(|_| TelemetryError::Down)?
    }

    /// Starts a handler actor built by `make` on `arbiter`, owning its task, and attaches it.
    /// Its exit is seen through the task: a panic is reported with kind `panic` and the panic
    /// message.
    pub async fn spawn_handler<A, M>(
        &self,
        id: impl Into<String>,
        patterns: impl IntoIterator<Item = EventPattern>,
        arbiter: &ArbiterHandle,
        make: M,
        opts: AttachOptions,
    ) -> Result<Addr<A>, TelemetryError>
    where
        A: Actor<Context = Context<A>> + ActixHandler<EventBatch>,
        M: FnOnce() -> A + Send + 'static,
    {
        let id = id.into();
        let patterns: Vec<EventPattern> = patterns.into_iter().collect();
        if patterns.is_empty() {
            return Err(TelemetryError::InvalidEventName(
                "empty pattern list".into(),
            ));
        }
        for p in &patterns {
            p.validate()?;
        }
        if self.registry.find(&id).is_some() {
            return Err(TelemetryError::AlreadyExists(id));
        }
        let slot: Arc<Mutex<ExitSlot>> = Arc::new(Mutex::new(ExitSlot::Pending));
        let on_exit = {
            let slot = slot.clone();
            let telemetry = self.clone();
            move |exit: TaskExit| {
                let mut s = crate::sync::lock(&slot);
                match std::mem::replace(&mut *s, ExitSlot::Exited(exit.clone())) {
                    ExitSlot::Attached(queue) => {
                        drop(s);
                        let (kind, reason) = exit_kind(&exit);
                        telemetry.handler_failed(&queue, kind, reason);
                    }
                    ExitSlot::Pending | ExitSlot::Exited(_) => {}
                }
            }
        };
        let (addr, abort) = task::spawn_on(arbiter, make, on_exit)
            .await
            .map_err(|_| TelemetryError::Down)?;
        let handler = new_handler(
            id,
            patterns,
            addr.clone().recipient(),
            opts,
            Some(abort.clone()),
        );
        let queue = handler.queue.clone();
        if let Err(e) = self.send_attach(handler).await {
            abort.abort();
            return Err(e);
        }
        let mut s = crate::sync::lock(&slot);
        match std::mem::replace(&mut *s, ExitSlot::Attached(queue.clone())) {
            ExitSlot::Exited(exit) => {
                drop(s);
                let (kind, reason) = exit_kind(&exit);
                self.handler_failed(&queue, kind, reason);
            }
            ExitSlot::Pending | ExitSlot::Attached(_) => {}
        }
        Ok(addr)
    }

    /// Detaches the handler `id` from all its patterns. Events already queued for it are
    /// still delivered; no later event is queued.
    pub async fn detach(&self, id: &str) -> Result<(), TelemetryError> {
        self.actor()?
            .send(actor::Detach(id.to_owned()))
            .await
            .map_err(|_| TelemetryError::Down)?
    }

    /// Detaches without going through the actor (used from `Drop`).
    pub(crate) fn detach_now(&self, id: &str) -> Result<(), TelemetryError> {
        self.registry.detach(id).map(|_| ())
    }

    /// One entry per (handler, pattern) whose fixed segments start with `prefix`; `&[]`
    /// lists everything.
    pub fn list_handlers(&self, prefix: &[&str]) -> Vec<HandlerInfo> {
        self.registry.list(prefix)
    }

    /// Total events dropped for all handlers currently attached.
    pub fn dropped_total(&self) -> u64 {
        self.registry
            .snapshot()
            .handlers
            .iter()
            .map(|h| h.queue.dropped())
            .sum()
    }

    /// Emits an event. Never blocks, never fails; a no-op before start and after shutdown.
    #[inline]
    pub fn execute(
        &self,
        name: &'static EventName,
        measurements: Measurements,
        metadata: Metadata,
    ) {
        if self.registry.is_live() {
            self.registry.dispatch(name, || (measurements, metadata));
        }
    }

    /// Emits an event whose measurements and metadata are built by `build`, only if some
    /// handler matches `name`.
    #[inline]
    pub fn execute_with<F>(&self, name: &'static EventName, build: F)
    where
        F: FnOnce() -> (Measurements, Metadata),
    {
        if self.registry.is_live() {
            self.registry.dispatch(name, build);
        }
    }

    /// An identity of this registry that does not keep it alive (for per-app side tables).
    pub(crate) fn identity(&self) -> std::sync::Weak<dyn std::any::Any + Send + Sync> {
        let any: Arc<dyn std::any::Any + Send + Sync> = self.registry.clone();
        Arc::downgrade(&any)
    }

    /// True when some handler would receive `name` (for callers that want to skip work).
    pub fn is_live(&self) -> bool {
        self.registry.is_live()
    }

    /// Waits until every handler queue is delivered, at most `timeout`; true if it drained.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pending: u64 = self
                .registry
                .snapshot()
                .handlers
                .iter()
                .map(|h| h.queue.queued())
                .sum();
            if pending == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Flushes every queue (up to [`SHUTDOWN_FLUSH_TIMEOUT`]), makes `execute` a no-op and
    /// stops the actor. Handlers stay in the registry.
    pub async fn shutdown(&self) {
        self.flush(SHUTDOWN_FLUSH_TIMEOUT).await;
        self.registry.set_running(false);
        if let Ok(addr) = self.actor() {
            let _ = addr.send(actor::Stop).await;
        }
    }

    /// Detaches a failed handler instance and emits `[telemetry, handler, failure]`.
    fn handler_failed(&self, queue: &Arc<HandlerQueue>, kind: &'static str, reason: String) {
        let event_index = queue.in_flight_name();
        let Some(handler) = self.registry.remove_failed(queue) else {
            return;
        };
        if let Some(abort) = &handler.owned {
            abort.abort();
        }
        tracing::warn!(handler_id = %queue.id, kind, %reason, "telemetry handler failed and was detached");
        let event_name = EventName::by_index(event_index)
            .map(|n| Value::from(n.to_string()))
            .unwrap_or(Value::Null);
        let config = Value::clone(&queue.config);
        let id = queue.id.to_string();
        self.execute_with(&names::HANDLER_FAILURE, move || {
            (
                now_measurements(),
                crate::metadata! {
                    "handler_id" => id,
                    "handler_config" => config,
                    "event_name" => event_name,
                    "kind" => kind,
                    "reason" => reason,
                    "stacktrace" => "",
                },
            )
        });
    }

    /// Emits drop reports and detaches plain recipients whose mailbox closed silently.
    fn report_tick(&self) {
        let snap = self.registry.snapshot();
        for h in &snap.handlers {
            let total = h.queue.dropped();
            let last = h
                .reported_dropped
                .swap(total, std::sync::atomic::Ordering::AcqRel);
            if total > last {
                let id = h.queue.id.to_string();
                let capacity = h.queue.capacity();
                self.execute_with(&names::HANDLER_DROPPED, move || {
                    (
                        crate::measurements! { "count" => total - last, "total" => total },
                        crate::metadata! { "handler_id" => id, "queue_capacity" => capacity },
                    )
                });
            }
            if h.owned.is_none() && !h.recipient.connected() {
                self.handler_failed(&h.queue, "stopped", "mailbox closed".into());
            }
        }
    }
}

enum ExitSlot {
    Pending,
    Attached(Arc<HandlerQueue>),
    Exited(TaskExit),
}

fn exit_kind(exit: &TaskExit) -> (&'static str, String) {
    match exit {
        TaskExit::Panicked(msg) => ("panic", msg.clone()),
        TaskExit::Completed => ("stopped", "normal".into()),
        TaskExit::Cancelled => ("stopped", "killed".into()),
    }
}

fn new_handler(
    id: String,
    patterns: impl IntoIterator<Item = EventPattern>,
    recipient: Recipient<EventBatch>,
    opts: AttachOptions,
    owned: Option<task::AbortHandle>,
) -> registry::Handler {
    registry::Handler {
        patterns: patterns.into_iter().collect(),
        queue: Arc::new(HandlerQueue::new(
            id.into(),
            Arc::new(opts.config),
            opts.queue_capacity,
        )),
        recipient,
        owned,
        reported_dropped: AtomicU64::new(0),
    }
}
