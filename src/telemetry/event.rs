//! The data model: event names, measurements, metadata, events and the batches handlers get.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix::Message;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::Value;

/// A fixed event name such as `[amoc, throttle, execute]`, declared as a `static`.
///
/// Names are interned on first use (one index per name, process-wide), so matching an event
/// against the handler registry is an array lookup, not a string comparison. Declare names
/// with [`event_name!`](crate::event_name) or [`EventName::new`]:
///
/// ```
/// use amoc::telemetry::EventName;
/// static LOGIN: EventName = EventName::new(&["my_app", "login"]);
/// assert_eq!(LOGIN.to_string(), "[my_app, login]");
/// ```
pub struct EventName {
    segments: &'static [&'static str],
    index: AtomicUsize,
}

static INTERNED: Mutex<Vec<&'static EventName>> = Mutex::new(Vec::new());

impl EventName {
    /// Declares a name from its segments. An empty name or segment is invalid: it can be
    /// emitted but no handler can ever be attached to it.
    pub const fn new(segments: &'static [&'static str]) -> Self {
        Self {
            segments,
            index: AtomicUsize::new(0),
        }
    }

    /// Makes a name at run time (for names not known at compile time). The name is leaked:
    /// make each distinct name once and keep the reference.
    pub fn leak(segments: Vec<String>) -> &'static EventName {
        let segs: Vec<&'static str> = segments
            .into_iter()
            .map(|s| &*Box::leak(s.into_boxed_str()))
            .collect();
        Box::leak(Box::new(EventName::new(Box::leak(segs.into_boxed_slice()))))
    }

    /// The segments of this name.
    pub fn segments(&'static self) -> &'static [&'static str] {
        self.segments
    }

    /// This name's process-wide index (1-based), interning it on first use.
    #[inline]
    pub(crate) fn index(&'static self) -> usize {
        let i = self.index.load(Ordering::Acquire);
        if i != 0 {
            return i;
        }
        self.intern()
    }

    #[cold]
    fn intern(&'static self) -> usize {
        let mut names = crate::sync::lock(&INTERNED);
        let i = self.index.load(Ordering::Acquire);
        if i != 0 {
            return i;
        }
        names.push(self);
        let i = names.len();
        self.index.store(i, Ordering::Release);
        i
    }

    /// The name interned under `index` (0 = none).
    pub(crate) fn by_index(index: usize) -> Option<&'static EventName> {
        let names = crate::sync::lock(&INTERNED);
        index.checked_sub(1).and_then(|i| names.get(i).copied())
    }

    /// Every name interned so far, in index order (index i at position i − 1).
    pub(crate) fn interned() -> Vec<&'static EventName> {
        crate::sync::lock(&INTERNED).clone()
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.segments.join(", "))
    }
}

impl fmt::Debug for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq for EventName {
    fn eq(&self, other: &Self) -> bool {
        self.segments == other.segments
    }
}
impl Eq for EventName {}

/// Declares a `static`-ready [`EventName`] from identifiers: `event_name!(amoc, throttle, rate)`.
#[macro_export]
macro_rules! event_name {
    ($($seg:ident),+ $(,)?) => {
        $crate::telemetry::EventName::new(&[$(stringify!($seg)),+])
    };
}

/// A numeric measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// Unsigned integer (counts, durations in ns).
    U64(u64),
    /// Signed integer (monotonic and system times in ns).
    I64(i64),
    /// Floating point (rates; `f64::INFINITY` for unlimited).
    F64(f64),
}

impl Number {
    /// The value as `f64` (possibly losing precision for very large integers).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::U64(v) => v as f64,
            Number::I64(v) => v as f64,
            Number::F64(v) => v,
        }
    }
}

macro_rules! number_from {
    ($($t:ty => $v:ident as $c:ty),*) => {$(
        impl From<$t> for Number {
            fn from(v: $t) -> Self { Number::$v(v as $c) }
        }
    )*};
}
number_from!(u64 => U64 as u64, u32 => U64 as u64, usize => U64 as u64, i64 => I64 as i64,
    i32 => I64 as i64, f64 => F64 as f64, f32 => F64 as f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Number::U64(v) => s.serialize_u64(v),
            Number::I64(v) => s.serialize_i64(v),
            // JSON has no infinity: unlimited rates are written as a string.
            Number::F64(v) if v.is_infinite() => {
                s.serialize_str(if v > 0.0 { "infinity" } else { "-infinity" })
            }
            Number::F64(v) => s.serialize_f64(v),
        }
    }
}

/// An ordered list of key/value pairs with keys known at compile time.
#[derive(Clone, PartialEq)]
pub struct Pairs<V>(pub Vec<(&'static str, V)>);

// Not derived: a derive would require `V: Default`, which `Number` is not.
impl<V> Default for Pairs<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Numeric measurements of an event: `key → Number`.
pub type Measurements = Pairs<Number>;
/// Metadata of an event: `key → Value`.
pub type Metadata = Pairs<Value>;

impl<V> Pairs<V> {
    /// An empty list.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty list with room for `capacity` pairs (the macros size it exactly, so an
    /// event's lists are allocated once and no larger than needed).
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    /// Adds (or replaces) `key`, builder style.
    pub fn with(mut self, key: &'static str, value: impl Into<V>) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`, replacing an earlier value of the same key.
    pub fn insert(&mut self, key: &'static str, value: impl Into<V>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The keys, in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(k, _)| *k)
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Inserts every pair of `other` whose key is not present yet.
    pub fn merge_missing(&mut self, other: &Pairs<V>)
    where
        V: Clone,
    {
        for (k, v) in &other.0 {
            if self.get(k).is_none() {
                self.0.push((k, v.clone()));
            }
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for Pairs<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<V: Serialize> Serialize for Pairs<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Builds [`Measurements`]: `measurements! { "count" => 1u64 }`.
#[macro_export]
macro_rules! measurements {
    ($($k:literal => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::telemetry::Measurements::with_capacity(0 $(+ { let _ = $k; 1 })*);
        $( m.insert($k, $crate::telemetry::Number::from($v)); )*
        m
    }};
}

/// Builds [`Metadata`]: `metadata! { "name" => "login" }` (values convert into `Value`).
#[macro_export]
macro_rules! metadata {
    ($($k:literal => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::telemetry::Metadata::with_capacity(0 $(+ { let _ = $k; 1 })*);
        $( m.insert($k, $crate::Value::from($v)); )*
        m
    }};
}

/// One emitted event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its name.
    pub name: &'static EventName,
    /// Its measurements.
    pub measurements: Measurements,
    /// Its metadata.
    pub metadata: Metadata,
}

/// What a handler actor receives: one or more events, in the order they were queued for it,
/// with the `config` given at attach time.
#[derive(Debug, Clone)]
pub struct EventBatch {
    /// The id the handler was attached under.
    pub handler_id: Arc<str>,
    /// The handler's `config` from its attach options.
    pub config: Arc<Value>,
    /// The events, oldest first; never empty.
    pub events: Vec<Arc<Event>>,
}

impl Message for EventBatch {
    type Result = ();
}

/// A family of span events: `prefix ++ [start]`, `prefix ++ [stop]`, `prefix ++ [exception]`.
///
/// Declare with [`span_name!`](crate::span_name): `static INIT: SpanName = span_name!(amoc, scenario, init);`.
#[derive(Debug)]
pub struct SpanName {
    /// `prefix ++ [start]`.
    pub start: EventName,
    /// `prefix ++ [stop]`.
    pub stop: EventName,
    /// `prefix ++ [exception]`.
    pub exception: EventName,
}

/// Declares a [`SpanName`] from the prefix's identifiers.
#[macro_export]
macro_rules! span_name {
    ($($seg:ident),+ $(,)?) => {
        $crate::telemetry::SpanName {
            start: $crate::telemetry::EventName::new(&[$(stringify!($seg),)+ "start"]),
            stop: $crate::telemetry::EventName::new(&[$(stringify!($seg),)+ "stop"]),
            exception: $crate::telemetry::EventName::new(&[$(stringify!($seg),)+ "exception"]),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    static A: EventName = event_name!(a, test, event);

    #[test]
    fn names_intern_once() {
        let i = A.index();
        assert_eq!(A.index(), i);
        assert_eq!(A.segments(), &["a", "test", "event"]);
    }

    #[test]
    fn pairs_replace_and_merge() {
        let mut m = measurements! { "a" => 1u64, "b" => 2i64 };
        m.insert("a", 3u64);
        assert_eq!(m.get("a"), Some(&Number::U64(3)));
        let other = measurements! { "a" => 9u64, "c" => 1.5 };
        m.merge_missing(&other);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"a":3,"b":2,"c":1.5}"#);
    }

    #[test]
    fn infinity_serialises_as_text() {
        let m = measurements! { "rate" => f64::INFINITY };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"rate":"infinity"}"#);
    }
}
