//! Where the runner's numbers come from: the run's lossless [`RunStats`] (recorded where each
//! request completes, merged on read). Kept apart from how they are shown (`cli::report`), so
//! the source can change alone.

use std::time::Duration;

use amoc::app::App;
use amoc::metrics::{RunStats, Snapshot};

use crate::Stats;

/// The run's lossless statistics ([`RunStats`], recorded where each request completes),
/// read as progress windows and totals; never depends on a bounded telemetry queue.
#[derive(Debug)]
pub(crate) struct RunSource {
    stats: RunStats,
    last: Snapshot,
}

impl RunSource {
    /// The statistics of the run the app's controller just started, if it has one.
    pub(crate) fn current(app: &App) -> Option<Self> {
        let stats = RunStats::current(app.telemetry())?;
        let last = stats.snapshot();
        Some(Self { stats, last })
    }

    /// The numbers since the last window (as progress shows them, and whole, with the
    /// span they cover); starts a new one.
    pub(crate) fn window(&mut self) -> (Stats, Snapshot, Duration) {
        let now = self.stats.snapshot();
        let span = now.at().saturating_duration_since(self.last.at());
        let delta = now.since(&self.last);
        let window = Stats::from_request_stats(delta.total(), span);
        self.last = now;
        (window, delta, span)
    }

    /// Everything recorded so far (per request name), and its totals with rates over `elapsed`.
    pub(crate) fn totals(&self, elapsed: Duration) -> (Snapshot, Stats) {
        let all = self.stats.snapshot();
        let totals = Stats::from_request_stats(all.total(), elapsed);
        (all, totals)
    }
}
