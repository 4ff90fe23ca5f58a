//! The data of the registry's API: attach options, handler listings, errors.

use super::{EventPattern, DEFAULT_QUEUE_CAPACITY};
use crate::Value;

/// Errors of registry operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    /// A handler with this id is already attached.
    #[error("handler {0:?} already exists")]
    AlreadyExists(String),
    /// No handler with this id is attached.
    #[error("handler {0:?} not found")]
    NotFound(String),
    /// An empty pattern list, an empty name or an empty segment.
    #[error("invalid event name: {0}")]
    InvalidEventName(String),
    /// The telemetry actor is not running.
    #[error("telemetry is not running")]
    Down,
}

/// Options of [`Telemetry::attach`].
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// Returned with every event in [`EventBatch::config`]. Default: null.
    pub config: Value,
    /// Capacity of the handler's queue, in events. Default: [`DEFAULT_QUEUE_CAPACITY`].
    pub queue_capacity: usize,
}

impl Default for AttachOptions {
    fn default() -> Self {
        Self {
            config: Value::Null,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

impl AttachOptions {
    /// Sets `config`.
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }
    /// Sets `queue_capacity`.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }
}

/// One (handler, pattern) entry of [`Telemetry::list_handlers`].
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerInfo {
    /// The handler id.
    pub id: String,
    /// One of its patterns.
    pub pattern: EventPattern,
    /// Its config.
    pub config: Value,
    /// Its queue capacity.
    pub queue_capacity: usize,
    /// Events in its queue or in flight.
    pub queued: u64,
    /// Events it has acknowledged.
    pub delivered: u64,
    /// Events dropped for it (queue full, or discarded after it failed).
    pub dropped: u64,
}
