//! One thread's recorder of a run, and the thread-local list that finds it.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::class::Sample;
use super::summary::{Outcome, RequestStats};
use super::{lock, merge_named, RunStats, Shared};

/// Where one thread records the requests of one run. Cheap to clone; recording locks a
/// mutex that only [`RunStats::snapshot`] also takes, so it is uncontended but for the
/// instant of a snapshot.
#[derive(Clone)]
pub struct Recorder {
    names: Arc<Mutex<Named>>,
}

/// Statistics by request name, in order of first use.
type Named = Vec<(Box<str>, RequestStats)>;

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("names", &lock(&self.names).len())
            .finish()
    }
}

impl Recorder {
    /// Records one request under `name` (no allocation once the name has been seen).
    #[inline]
    pub fn record(&self, name: &str, outcome: Outcome, latency: Duration) {
        self.record_sample(name, &Sample::new(outcome, latency));
    }

    /// Records one request, paced or not, under `name`.
    #[inline]
    pub fn record_sample(&self, name: &str, sample: &Sample) {
        let mut names = lock(&self.names);
        match names.iter_mut().find(|(n, _)| &**n == name) {
            Some((_, s)) => s.record_sample(sample),
            None => {
                let mut s = RequestStats::new();
                s.record_sample(sample);
                names.push((name.into(), s));
            }
        }
    }

    pub(super) fn merge_into(&self, into: &mut Named) {
        for (n, s) in lock(&self.names).iter() {
            merge_named(into, n, s);
        }
    }
}

thread_local! {
    /// This thread's recorders, one per live run it has recorded for.
    static LOCAL: RefCell<Vec<(Weak<Shared>, Recorder)>> = const { RefCell::new(Vec::new()) };
}

/// The recorder of `stats` for the calling thread, created and registered on first use.
pub(super) fn for_this_thread(stats: &RunStats) -> Recorder {
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        // A live `Weak` keeps its allocation, so an equal pointer is the same run.
        let found = local
            .iter()
            .find(|(w, _)| w.as_ptr() == Arc::as_ptr(&stats.shared) && w.strong_count() > 0);
        if let Some((_, r)) = found {
            return r.clone();
        }
        local.retain(|(w, _)| w.strong_count() > 0);
        let recorder = Recorder {
            names: Arc::default(),
        };
        stats.register(recorder.clone());
        local.push((Arc::downgrade(&stats.shared), recorder.clone()));
        recorder
    })
}
