//! The handler registry: written under one lock, read lock-free through a published snapshot.
//!
//! Every write (attach, detach, automatic detach on failure) builds a new immutable
//! [`Snapshot`] and publishes it atomically. `execute` loads the snapshot and finds the
//! handlers of an event name by the name's interned index: no lock, no hashing, and no
//! allocation when nothing matches.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use actix::Recipient;
use arc_swap::ArcSwap;

use super::event::{Event, EventBatch, EventName, Measurements, Metadata};
use super::pattern::EventPattern;
use super::queue::HandlerQueue;
use super::{HandlerInfo, TelemetryError};
use crate::task::AbortHandle;
use crate::Value;

/// One attached handler.
pub(crate) struct Handler {
    pub(crate) patterns: Vec<EventPattern>,
    pub(crate) queue: Arc<HandlerQueue>,
    pub(crate) recipient: Recipient<EventBatch>,
    /// Set for handlers started by `spawn_handler`: their exit is seen through their task.
    pub(crate) owned: Option<AbortHandle>,
    /// Dropped count at the last report tick.
    pub(crate) reported_dropped: AtomicU64,
}

impl Handler {
    fn matches(&self, name: &[&str]) -> bool {
        self.patterns.iter().any(|p| p.matches(name))
    }
}

type Targets = Option<Arc<[Arc<HandlerQueue>]>>;

/// An immutable view of the registry.
#[derive(Default)]
pub(crate) struct Snapshot {
    pub(crate) handlers: Vec<Arc<Handler>>,
    /// Matching handler queues per interned name index − 1.
    table: Vec<Targets>,
}

impl Snapshot {
    fn build(handlers: Vec<Arc<Handler>>) -> Self {
        let names = if handlers.is_empty() {
            Vec::new()
        } else {
            EventName::interned()
        };
        let table = names
            .iter()
            .map(|name| {
                let queues: Vec<_> = handlers
                    .iter()
                    .filter(|h| h.matches(name.segments()))
                    .map(|h| h.queue.clone())
                    .collect();
                (!queues.is_empty()).then(|| queues.into())
            })
            .collect();
        Self { handlers, table }
    }
}

/// The registry shared by the [`Telemetry`](super::Telemetry) handles and its actor; it
/// outlives the actor, so a restarted actor loses no handler.
pub(crate) struct Registry {
    /// False before start and after shutdown: `execute` is then a no-op.
    running: AtomicBool,
    /// True while `running` and at least one handler is attached: the 1-load fast path.
    live: AtomicBool,
    snapshot: ArcSwap<Snapshot>,
    writer: Mutex<()>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            running: AtomicBool::new(false),
            live: AtomicBool::new(false),
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            writer: Mutex::new(()),
        }
    }

    #[inline]
    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Relaxed)
    }

    pub(crate) fn set_running(&self, running: bool) {
        let _w = self.write_lock();
        self.running.store(running, Ordering::SeqCst);
        self.refresh_live();
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    fn refresh_live(&self) {
        let any = !self.snapshot.load().handlers.is_empty();
        self.live
            .store(any && self.running.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    fn write_lock(&self) -> MutexGuard<'_, ()> {
        crate::sync::lock(&self.writer)
    }

    fn publish(&self, handlers: Vec<Arc<Handler>>) {
        self.snapshot.store(Arc::new(Snapshot::build(handlers)));
        self.refresh_live();
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Delivers an event to every matching handler's queue; `build` runs only if one matches.
    pub(crate) fn dispatch<F>(&self, name: &'static EventName, build: F)
    where
        F: FnOnce() -> (Measurements, Metadata),
    {
        let index = name.index();
        let snap = self.snapshot.load();
        match snap.table.get(index - 1) {
            Some(None) => {}
            Some(Some(targets)) => {
                let (measurements, metadata) = build();
                push_all(targets, name, measurements, metadata);
            }
            None => {
                // A name first used after the last write: extend the table once.
                if !snap.handlers.iter().any(|h| h.matches(name.segments())) {
                    return;
                }
                drop(snap);
                let handlers = {
                    let _w = self.write_lock();
                    let handlers = self.snapshot.load().handlers.clone();
                    self.publish(handlers.clone());
                    handlers
                };
                let targets: Vec<_> = handlers
                    .iter()
                    .filter(|h| h.matches(name.segments()))
                    .map(|h| h.queue.clone())
                    .collect();
                if !targets.is_empty() {
                    let (measurements, metadata) = build();
                    push_all(&targets, name, measurements, metadata);
                }
            }
        }
    }

    /// Adds a handler; nothing is attached on error.
    pub(crate) fn attach(&self, handler: Handler) -> Result<(), TelemetryError> {
        if handler.patterns.is_empty() {
            return Err(TelemetryError::InvalidEventName(
                "empty pattern list".into(),
            ));
        }
        for p in &handler.patterns {
            p.validate()?;
        }
        let _w = self.write_lock();
        let mut handlers = self.snapshot.load().handlers.clone();
        if handlers.iter().any(|h| h.queue.id == handler.queue.id) {
            return Err(TelemetryError::AlreadyExists(handler.queue.id.to_string()));
        }
        handlers.push(Arc::new(handler));
        self.publish(handlers);
        Ok(())
    }

    /// Removes the handler `id` from all its patterns; returns it.
    pub(crate) fn detach(&self, id: &str) -> Result<Arc<Handler>, TelemetryError> {
        let _w = self.write_lock();
        let mut handlers = self.snapshot.load().handlers.clone();
        let pos = handlers
            .iter()
            .position(|h| &*h.queue.id == id)
            .ok_or_else(|| TelemetryError::NotFound(id.to_owned()))?;
        let removed = handlers.remove(pos);
        self.publish(handlers);
        removed.queue.detach();
        Ok(removed)
    }

    /// Removes exactly this handler instance (not a newer one attached under the same id).
    pub(crate) fn remove_failed(&self, queue: &Arc<HandlerQueue>) -> Option<Arc<Handler>> {
        let _w = self.write_lock();
        let mut handlers = self.snapshot.load().handlers.clone();
        let pos = handlers.iter().position(|h| Arc::ptr_eq(&h.queue, queue))?;
        let removed = handlers.remove(pos);
        self.publish(handlers);
        removed.queue.fail();
        Some(removed)
    }

    /// The handler currently attached under `id`.
    pub(crate) fn find(&self, id: &str) -> Option<Arc<Handler>> {
        self.snapshot
            .load()
            .handlers
            .iter()
            .find(|h| &*h.queue.id == id)
            .cloned()
    }

    pub(crate) fn list(&self, prefix: &[&str]) -> Vec<HandlerInfo> {
        let snap = self.snapshot.load();
        let mut out = Vec::new();
        for h in &snap.handlers {
            for p in h.patterns.iter().filter(|p| p.listed_under(prefix)) {
                out.push(HandlerInfo {
                    id: h.queue.id.to_string(),
                    pattern: p.clone(),
                    config: Value::clone(&h.queue.config),
                    queue_capacity: h.queue.capacity(),
                    queued: h.queue.queued(),
                    delivered: h.queue.delivered(),
                    dropped: h.queue.dropped(),
                });
            }
        }
        out
    }
}

#[inline]
fn push_all(
    targets: &[Arc<HandlerQueue>],
    name: &'static EventName,
    measurements: Measurements,
    metadata: Metadata,
) {
    let event = Arc::new(Event {
        name,
        measurements,
        metadata,
    });
    for q in targets {
        q.push(event.clone());
    }
}
