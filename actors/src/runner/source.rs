//! Where the runner's numbers come from: a [`LoadStats`] handler of the HTTP request events.
//! Kept apart from how they are shown (`cli::report`), so the source can change alone.

use std::time::Duration;

use actix::Addr;
use amoc::app::App;
use amoc::metrics::{RunStats, Snapshot};
use amoc::telemetry::{AttachOptions, EventPattern, TelemetryError};

use crate::http::HTTP_REQUEST;
use crate::{LoadStats, Stats, TakeWindow, Totals};

/// The handler id the runner's statistics are attached under.
pub(crate) const STATS_HANDLER: &str = "amoc-cli-stats";

/// The request statistics of the test an app runs.
#[derive(Debug, Clone)]
pub(crate) struct StatsSource {
    stats: Addr<LoadStats>,
}

impl StatsSource {
    /// Attaches a [`LoadStats`] on the current arbiter as [`STATS_HANDLER`].
    pub(crate) async fn attach(app: &App) -> Result<Self, TelemetryError> {
        let arbiter = actix_rt::Arbiter::current();
        let stats = app
            .telemetry()
            .spawn_handler(
                STATS_HANDLER,
                [EventPattern::from(&HTTP_REQUEST)],
                &arbiter,
                LoadStats::new,
                AttachOptions::default(),
            )
            .await?;
        Ok(Self { stats })
    }

    /// The handler's address (for `serve`, which reads and resets it per run).
    pub(crate) fn addr(&self) -> &Addr<LoadStats> {
        &self.stats
    }

    /// The numbers since the last window; starts a new one.
    pub(crate) async fn window(&self) -> Stats {
        self.stats.send(TakeWindow).await.unwrap_or_default()
    }

    /// The numbers since the start, rates over `elapsed`.
    pub(crate) async fn totals(&self, elapsed: Duration) -> Stats {
        self.stats
            .send(Totals { elapsed })
            .await
            .unwrap_or_default()
    }
}

/// The run's lossless statistics ([`RunStats`], recorded where each request completes),
/// read as progress windows and totals. Used by the runner: unlike [`StatsSource`] it never
/// depends on a bounded telemetry queue.
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

    /// The numbers since the last window; starts a new one.
    pub(crate) fn window(&mut self) -> Stats {
        let now = self.stats.snapshot();
        let span = now.at().saturating_duration_since(self.last.at());
        let window = Stats::from_request_stats(now.since(&self.last).total(), span);
        self.last = now;
        window
    }

    /// Everything recorded so far (per request name), and its totals with rates over `elapsed`.
    pub(crate) fn totals(&self, elapsed: Duration) -> (Snapshot, Stats) {
        let all = self.stats.snapshot();
        let totals = Stats::from_request_stats(all.total(), elapsed);
        (all, totals)
    }
}
