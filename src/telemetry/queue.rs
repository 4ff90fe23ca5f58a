//! Per-handler bounded queues and the delivery task that drains each into its actor.
//!
//! Emitters push into a lock-free bounded queue and never wait; a full queue drops the event
//! for that handler only and counts it. One delivery task per handler pops up to
//! [`MAX_BATCH`] events at a time and sends them as one [`EventBatch`], with at most one batch
//! in flight, so the actor's mailbox never holds more than one batch of ours.
//!
//! An idle delivery task never busy-waits on its arbiter: when its queue is empty it parks,
//! and the next emitter wakes it (one flag swap and a `Notify`, paid only when it sleeps).
//! Before parking it may poll the queue for a bounded ~[`LINGER_SPINS`] spins, only when the
//! process may run on more than one core and only while such lingering keeps finding events
//! (a fast emitter on another core); when the emitter shares its core the spin would only
//! delay it, fails, and is switched off until a later probe.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use actix::Recipient;
use crossbeam_queue::ArrayQueue;
use tokio::sync::Notify;

use super::event::{Event, EventBatch};
use crate::Value;

/// Most events handed to a handler in one batch.
pub(crate) const MAX_BATCH: usize = 1024;

/// Queue polls (each with a spin hint, a few ns) a delivery task makes before it parks.
const LINGER_SPINS: usize = 512;
/// After a linger that found nothing, this many parks go without lingering.
const LINGER_BACKOFF: u32 = 64;

const ACTIVE: u8 = 0;
const DETACHED: u8 = 1;
const FAILED: u8 = 2;

/// The queue and counters of one attached handler.
pub(crate) struct HandlerQueue {
    pub(crate) id: Arc<str>,
    pub(crate) config: Arc<Value>,
    queue: ArrayQueue<Arc<Event>>,
    delivered: AtomicU64,
    dropped: AtomicU64,
    /// Events popped from the queue and not yet acknowledged by the handler.
    in_flight: AtomicU64,
    /// Name index of the first event of the batch in flight (0 = none).
    in_flight_name: AtomicUsize,
    sleeping: AtomicBool,
    notify: Notify,
    state: AtomicU8,
}

impl std::fmt::Debug for HandlerQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerQueue")
            .field("id", &self.id)
            .field("capacity", &self.queue.capacity())
            .field("queued", &self.queued())
            .finish()
    }
}

/// Why a delivery task ended.
pub(crate) enum DeliveryEnd {
    /// The handler was detached and its queue drained (or it failed elsewhere).
    Detached,
    /// The handler's mailbox was found closed.
    MailboxClosed,
}

impl HandlerQueue {
    pub(crate) fn new(id: Arc<str>, config: Arc<Value>, capacity: usize) -> Self {
        Self {
            id,
            config,
            queue: ArrayQueue::new(capacity.max(1)),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            in_flight_name: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            notify: Notify::new(),
            state: AtomicU8::new(ACTIVE),
        }
    }

    /// Queues `event` for this handler, or drops and counts it when the queue is full.
    #[inline]
    pub(crate) fn push(&self, event: Arc<Event>) {
        if self.queue.push(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Pairs with the fence in `deliver`: either we see `sleeping` or it sees our event.
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.queue.capacity()
    }
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Acquire)
    }
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }
    /// Events waiting in the queue plus the batch in flight.
    pub(crate) fn queued(&self) -> u64 {
        self.queue.len() as u64 + self.in_flight.load(Ordering::Acquire)
    }
    pub(crate) fn in_flight_name(&self) -> usize {
        self.in_flight_name.load(Ordering::Acquire)
    }

    /// Stops accepting new work: queued events are still delivered, then the task ends.
    pub(crate) fn detach(&self) {
        let _ = self
            .state
            .compare_exchange(ACTIVE, DETACHED, Ordering::AcqRel, Ordering::Acquire);
        self.notify.notify_one();
    }

    /// The handler is gone: queued events are discarded and counted as dropped.
    pub(crate) fn fail(&self) {
        self.state.store(FAILED, Ordering::Release);
        self.discard();
        self.notify.notify_one();
    }

    fn discard(&self) {
        let mut n = 0;
        while self.queue.pop().is_some() {
            n += 1;
        }
        self.dropped.fetch_add(n, Ordering::AcqRel);
    }

    fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// Polls the empty queue a bounded number of times without yielding; true when an event
    /// (or a state change) came. Never runs when the process is confined to one core.
    fn linger(&self) -> bool {
        if !spare_cores() {
            return false;
        }
        for _ in 0..LINGER_SPINS {
            if !self.queue.is_empty() || self.state() != ACTIVE {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Drains the queue into `recipient` until the handler is detached or its mailbox closes.
    pub(crate) async fn deliver(self: Arc<Self>, recipient: Recipient<EventBatch>) -> DeliveryEnd {
        // Parks left before lingering is tried again (0 = linger now).
        let mut linger_off = 0u32;
        loop {
            if self.state() == FAILED {
                self.discard();
                return DeliveryEnd::Detached;
            }
            let mut events = Vec::with_capacity(self.queue.len().clamp(1, MAX_BATCH));
            while events.len() < MAX_BATCH {
                match self.queue.pop() {
                    Some(e) => events.push(e),
                    None => break,
                }
            }
            if events.is_empty() {
                if self.state() != ACTIVE {
                    return DeliveryEnd::Detached;
                }
                if linger_off == 0 {
                    if self.linger() {
                        continue;
                    }
                    linger_off = LINGER_BACKOFF;
                } else {
                    linger_off -= 1;
                }
                let notified = self.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                self.sleeping.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if !self.queue.is_empty() || self.state() != ACTIVE {
                    self.sleeping.store(false, Ordering::SeqCst);
                    continue;
                }
                notified.await;
                // Give the arbiter's other tasks (the emitters, maybe) a turn before draining.
                tokio::task::yield_now().await;
                continue;
            }
            let n = events.len() as u64;
            self.in_flight_name
                .store(events[0].name.index(), Ordering::Release);
            self.in_flight.store(n, Ordering::Release);
            let batch = EventBatch {
                handler_id: self.id.clone(),
                config: self.config.clone(),
                events,
            };
            let sent = recipient.send(batch).await;
            match sent {
                Ok(()) => {
                    self.delivered.fetch_add(n, Ordering::AcqRel);
                    self.in_flight.store(0, Ordering::Release);
                    self.in_flight_name.store(0, Ordering::Release);
                }
                Err(_) => {
                    self.dropped.fetch_add(n, Ordering::AcqRel);
                    self.in_flight.store(0, Ordering::Release);
                    return DeliveryEnd::MailboxClosed;
                }
            }
        }
    }
}

/// True when this process may run on more than one core (the affinity mask counts).
fn spare_cores() -> bool {
    static SPARE: OnceLock<bool> = OnceLock::new();
    *SPARE.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}
