//! Lossless load statistics: recorded where a request completes, merged when read.
//!
//! A [`RunStats`] is the statistics of one run: created when the run starts (every
//! [`RunContext`](crate::scenario::RunContext) makes a new one) and never carried over to the
//! next. Requests are recorded under a name (`"login"`, `"GET /"`) with their [`Outcome`]
//! and latency. Each thread records into its own [`Recorder`], registered once in the run's
//! list: a request costs an uncontended lock and a histogram increment on the thread that
//! made it, and no message crosses threads. [`RunStats::snapshot`] merges every recorder into
//! a [`Snapshot`]; two snapshots give the numbers of the time between them
//! ([`Snapshot::since`]), which is how a progress line is made each second.
//!
//! # Guarantees
//! * Nothing is dropped: every [`Recorder::record`] is in every later snapshot, whatever the
//!   load (there is no queue).
//! * A snapshot is consistent per recorder (each is read under its lock), not across
//!   recorders: a request completing while a snapshot is taken is in this one or the next.
//! * Statistics of different runs never mix: a recorder belongs to one `RunStats`.
//!
//! ```
//! use std::time::Duration;
//! use amoc::metrics::{Outcome, RunStats};
//!
//! let stats = RunStats::new();
//! stats.record("login", Outcome::Status(200), Duration::from_millis(3));
//! stats.record("login", Outcome::Failed, Duration::from_millis(10));
//! let snapshot = stats.snapshot();
//! assert_eq!(snapshot.total().count, 2);
//! assert_eq!(snapshot.get("login").map(|s| s.errors()), Some(1));
//! ```

mod class;
mod recorder;
mod summary;

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::telemetry::Telemetry;

pub use class::{ErrorClass, ErrorCounts, Sample};
pub use recorder::Recorder;
pub use summary::{
    new_histogram, LatencySummary, Outcome, RequestStats, StatusClasses, MAX_LATENCY_US,
};

/// The statistics of one run; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct RunStats {
    shared: Arc<Shared>,
}

struct Shared {
    id: u64,
    started: Instant,
    recorders: Mutex<Vec<Recorder>>,
    /// Named counts of things that are not requests (pauses after errors, say).
    counters: Mutex<Vec<(Box<str>, u64)>>,
}

impl std::fmt::Debug for RunStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunStats")
            .field("id", &self.shared.id)
            .field("recorders", &lock(&self.shared.recorders).len())
            .finish()
    }
}

impl Default for RunStats {
    fn default() -> Self {
        Self::new()
    }
}

impl RunStats {
    /// Empty statistics of a new run, started now.
    pub fn new() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            shared: Arc::new(Shared {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                started: Instant::now(),
                recorders: Mutex::new(Vec::new()),
                counters: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A process-unique id of these statistics (tells two runs apart).
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// When these statistics were created.
    pub fn started(&self) -> Instant {
        self.shared.started
    }

    /// This thread's recorder for the run, registered on first use. Keep it (one per user,
    /// say) to record without looking it up.
    pub fn recorder(&self) -> Recorder {
        recorder::for_this_thread(self)
    }

    /// Records one request through this thread's recorder.
    pub fn record(&self, name: &str, outcome: Outcome, latency: Duration) {
        self.recorder().record(name, outcome, latency);
    }

    /// Records one request, paced or not, through this thread's recorder.
    pub fn record_sample(&self, name: &str, sample: &Sample) {
        self.recorder().record_sample(name, sample);
    }

    /// Adds `n` to the counter `name` (for what is not a request: pauses after errors, say;
    /// a shared lock, so not for every request).
    pub fn count(&self, name: &str, n: u64) {
        let mut counters = lock(&self.shared.counters);
        match counters.iter_mut().find(|(k, _)| &**k == name) {
            Some((_, v)) => *v += n,
            None => counters.push((name.into(), n)),
        }
    }

    /// Makes these the current statistics of the app whose telemetry is `telemetry` (done by
    /// [`RunContext::new`](crate::scenario::RunContext::new) when a run starts).
    pub fn publish(&self, telemetry: &Telemetry) {
        let key = telemetry.identity();
        let mut current = lock(&CURRENT);
        current.retain(|(k, _)| k.strong_count() > 0 && !Weak::ptr_eq(k, &key));
        current.push((key, self.clone()));
    }

    /// The statistics of the run most recently started in the app whose telemetry this is
    /// (kept until the next run starts); `None` before its first run.
    pub fn current(telemetry: &Telemetry) -> Option<RunStats> {
        let key = telemetry.identity();
        lock(&CURRENT)
            .iter()
            .find(|(k, _)| Weak::ptr_eq(k, &key))
            .map(|(_, s)| s.clone())
    }

    fn register(&self, recorder: Recorder) {
        lock(&self.shared.recorders).push(recorder);
    }

    /// Everything recorded so far, merged.
    pub fn snapshot(&self) -> Snapshot {
        let recorders = lock(&self.shared.recorders).clone();
        let mut counters = lock(&self.shared.counters).clone();
        counters.sort();
        let mut snapshot = Snapshot {
            at: Instant::now(),
            total: RequestStats::new(),
            names: Vec::new(),
            counters,
        };
        for r in &recorders {
            r.merge_into(&mut snapshot.names);
        }
        snapshot.names.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, s) in &snapshot.names {
            snapshot.total.merge(s);
        }
        snapshot
    }
}

type AppKey = Weak<dyn Any + Send + Sync>;

/// The current statistics of each live app, by its telemetry registry.
static CURRENT: Mutex<Vec<(AppKey, RunStats)>> = Mutex::new(Vec::new());

/// Merged statistics at one instant: overall and per request name.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    total: RequestStats,
    /// Sorted by name.
    names: Vec<(Box<str>, RequestStats)>,
    /// Sorted by name.
    counters: Vec<(Box<str>, u64)>,
}

impl Snapshot {
    /// When it was taken.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// All requests, whatever their name.
    pub fn total(&self) -> &RequestStats {
        &self.total
    }

    /// The statistics of one request name.
    pub fn get(&self, name: &str) -> Option<&RequestStats> {
        self.names
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &self.names[i].1)
    }

    /// Every request name with its statistics, sorted by name.
    pub fn by_name(&self) -> impl Iterator<Item = (&str, &RequestStats)> {
        self.names.iter().map(|(n, s)| (&**n, s))
    }

    /// The value of counter `name` (see [`RunStats::count`]); 0 if never counted.
    pub fn counter(&self, name: &str) -> u64 {
        self.counters
            .iter()
            .find(|(k, _)| &**k == name)
            .map_or(0, |(_, v)| *v)
    }

    /// Every counter with its value, sorted by name.
    pub fn counters(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counters.iter().map(|(k, v)| (&**k, *v))
    }

    /// What was recorded between `earlier` (a snapshot of the same run) and this one.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let names = self
            .names
            .iter()
            .map(|(n, s)| {
                let d = earlier.get(n).map_or_else(|| s.clone(), |e| s.since(e));
                (n.clone(), d)
            })
            .collect();
        let counters = self
            .counters
            .iter()
            .map(|(k, v)| (k.clone(), v.saturating_sub(earlier.counter(k))))
            .collect();
        Snapshot {
            at: self.at,
            total: self.total.since(&earlier.total),
            names,
            counters,
        }
    }

    /// A snapshot taken now of these per-name statistics and counters (as another node sent
    /// them); the total is their sum.
    pub fn from_parts(
        names: impl IntoIterator<Item = (String, RequestStats)>,
        counters: impl IntoIterator<Item = (String, u64)>,
    ) -> Snapshot {
        let mut names: Vec<(Box<str>, RequestStats)> =
            names.into_iter().map(|(n, s)| (n.into(), s)).collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let mut counters: Vec<(Box<str>, u64)> =
            counters.into_iter().map(|(n, v)| (n.into(), v)).collect();
        counters.sort();
        let mut total = RequestStats::new();
        for (_, s) in &names {
            total.merge(s);
        }
        Snapshot {
            at: Instant::now(),
            total,
            names,
            counters,
        }
    }

    /// Adds `other` (another node's or another run's statistics) to this one.
    pub fn merge(&mut self, other: &Snapshot) {
        self.total.merge(&other.total);
        for (n, s) in &other.names {
            merge_named(&mut self.names, n, s);
        }
        self.names.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in &other.counters {
            match self.counters.iter_mut().find(|(n, _)| n == k) {
                Some((_, c)) => *c += v,
                None => self.counters.push((k.clone(), *v)),
            }
        }
        self.counters.sort();
        self.at = self.at.max(other.at);
    }
}

fn merge_named(names: &mut Vec<(Box<str>, RequestStats)>, name: &str, stats: &RequestStats) {
    match names.iter_mut().find(|(n, _)| &**n == name) {
        Some((_, s)) => s.merge(stats),
        None => names.push((name.into(), stats.clone())),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn every_thread_is_counted_once() {
        let stats = RunStats::new();
        std::thread::scope(|s| {
            for t in 0..4u16 {
                let stats = stats.clone();
                s.spawn(move || {
                    let r = stats.recorder();
                    for _ in 0..1000 {
                        r.record("a", Outcome::Status(200 + t), MS);
                    }
                    stats.record("b", Outcome::Failed, MS);
                });
            }
        });
        let snap = stats.snapshot();
        assert_eq!(snap.total().count, 4004);
        assert_eq!(snap.get("a").map(|s| s.count), Some(4000));
        assert_eq!(snap.get("b").map(|s| s.classes.failed), Some(4));
        let names: Vec<_> = snap.by_name().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn runs_never_share_numbers() {
        let first = RunStats::new();
        first.record("a", Outcome::Status(200), MS);
        let second = RunStats::new();
        second.record("a", Outcome::Status(200), MS);
        second.record("a", Outcome::Status(200), MS);
        assert_eq!(first.snapshot().total().count, 1);
        assert_eq!(second.snapshot().total().count, 2);
        assert_ne!(first.id(), second.id());
    }

    #[test]
    fn windows_add_up_to_the_total() {
        let stats = RunStats::new();
        let mut last = stats.snapshot();
        let mut sum = 0;
        for i in 1..=5 {
            for _ in 0..i {
                stats.record("x", Outcome::Status(200), MS);
            }
            let now = stats.snapshot();
            let window = now.since(&last);
            assert_eq!(window.total().count, i);
            sum += window.get("x").map_or(0, |s| s.count);
            last = now;
        }
        assert_eq!(sum, last.total().count);
    }

    #[test]
    fn merge_combines_names() {
        let a = RunStats::new();
        a.record("x", Outcome::Status(200), MS);
        let b = RunStats::new();
        b.record("x", Outcome::Status(500), MS);
        b.record("y", Outcome::Status(200), MS);
        let mut m = a.snapshot();
        m.merge(&b.snapshot());
        assert_eq!(m.total().count, 3);
        assert_eq!(m.get("x").map(|s| s.errors()), Some(1));
        assert_eq!(m.get("y").map(|s| s.count), Some(1));
    }

    #[test]
    fn counters_add_up_and_window() {
        let a = RunStats::new();
        a.count("pause", 2);
        let first = a.snapshot();
        a.count("pause", 3);
        let now = a.snapshot();
        assert_eq!(now.counter("pause"), 5);
        assert_eq!(now.since(&first).counter("pause"), 3);
        assert_eq!(now.counter("other"), 0);
    }
}
