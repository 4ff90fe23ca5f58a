//! [`LoadTest`]: one test of one scenario from code, with the CLI's progress and summary.

use std::path::PathBuf;
use std::time::Duration;

use amoc::app::{App, BuildError};
use amoc::cluster::MasterError;
use amoc::controller::{ControllerError, Status};
use amoc::scenario::Scenario;
use amoc::telemetry::TelemetryError;
use amoc::Value;

use super::cluster_drive;
use super::drive::{self, ClusterPlan, Plan};
use super::progress::{Progress, View};
use super::registry::Registry;
use super::StopSignal;
use crate::cluster::master::{MasterStartError, WorkersMissing};
use crate::report::{ReportError, RunReport, Threshold};
use crate::{EventsError, Stats};

/// A load test of one scenario, run from code: for tests and small programs.
///
/// It starts an app with the scenario, adds the users, shows progress on stdout (see
/// [`Progress`]) until the duration has passed, every user has ended, or Ctrl-C / SIGTERM
/// came, then stops the run, prints the summary and returns the [`Outcome`].
///
/// ```no_run
/// use amoc::prelude::*;
/// use amoc_actors::LoadTest;
///
/// struct Hello;
///
/// impl SimpleScenario for Hello {
///     const NAME: &'static str = "hello";
///     type State = ();
///     type Message = ();
///
///     async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
///         println!("hello from user {}", user.user_id());
///         Ok(())
///     }
/// }
///
/// let outcome = LoadTest::new(Hello).users(10).run_blocking()?;
/// assert_eq!(outcome.status.users.ended, 10);
/// # Ok::<(), amoc_actors::RunError>(())
/// ```
#[derive(Debug)]
pub struct LoadTest {
    registry: Registry,
    plan: Plan,
    shards: Option<usize>,
    progress: Progress,
    cluster: Option<String>,
    workers: usize,
    join_timeout: Duration,
}

/// How long a cluster run waits for its workers unless told otherwise.
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How a finished test went.
#[derive(Debug)]
pub struct Outcome {
    /// The request statistics of the whole test.
    pub stats: Stats,
    /// Everything the run recorded, per request name.
    pub requests: amoc::metrics::Snapshot,
    /// The controller's status at the end (users by state).
    pub status: Status,
    /// From the first user added to the stop.
    pub elapsed: Duration,
    /// The signal that stopped the test early, if one did.
    pub stopped_by: Option<StopSignal>,
    /// The events file (`--events`) failed: what happened, how many events are lost.
    pub events_error: Option<EventsError>,
    /// The run's report (what `--report` writes), thresholds checked.
    pub report: RunReport,
    /// The report file could not be written.
    pub report_error: Option<ReportError>,
}

impl Outcome {
    /// The process exit code the CLI uses: 1 when events were lost or the report could not
    /// be written, 130 / 143 when Ctrl-C / SIGTERM stopped the test, 99 when a threshold
    /// broke, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.events_error.is_some() || self.report_error.is_some() {
            return 1;
        }
        match self.stopped_by {
            Some(signal) => signal.exit_code(),
            None if self.report.broken().next().is_some() => 99,
            None => 0,
        }
    }
}

/// Why a test could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A test needs at least one user and a duration above zero.
    #[error("invalid test: {0}")]
    InvalidPlan(&'static str),
    /// The app did not start.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The runner's handlers could not be attached.
    #[error("telemetry: {0}")]
    Telemetry(#[from] TelemetryError),
    /// The events file could not be opened.
    #[error("cannot open the events file {}: {source}", path.display())]
    EventsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The controller refused the start or the users (unknown scenario, bad settings,
    /// failing `init`, ...).
    #[error(transparent)]
    Controller(#[from] ControllerError),
    /// The started run published no request statistics (a controller without a run context).
    #[error("the run has no request statistics")]
    NoStatistics,
    /// This process could not become the cluster's master: NATS unreachable, `AMOC_NODES`
    /// malformed, or another live master (exit code 3).
    #[error(transparent)]
    Master(#[from] MasterStartError),
    /// The workers the run waits for did not join in time (exit code 4).
    #[error(transparent)]
    WorkersMissing(#[from] WorkersMissing),
    /// Workers refused or missed an operation of the run (the start, the users).
    #[error("{what} failed on {failed} of {nodes} workers ({detail}); the run was stopped")]
    Nodes {
        /// The operation.
        what: &'static str,
        /// How many workers failed.
        failed: usize,
        /// How many it went to.
        nodes: usize,
        /// Each failure, `node: why`.
        detail: String,
    },
    /// The cluster's master refused an operation (no worker up, ...).
    #[error("cluster: {0}")]
    Cluster(#[from] MasterError),
    /// Ctrl-C or SIGTERM came before the run started (exit code 130 / 143).
    #[error("{0} before the run started")]
    Interrupted(StopSignal),
}

impl RunError {
    /// The exit code the CLI uses: 3 another master is live on the cluster, 4 the workers
    /// did not join in time, 130 / 143 interrupted before the run started, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Master(e) if e.other_master().is_some() => 3,
            RunError::WorkersMissing(_) => 4,
            RunError::Interrupted(s) => s.exit_code(),
            _ => 1,
        }
    }
}

impl LoadTest {
    /// A test of `scenario`: 10 users for 10 s, the scenario's defaults and `AMOC_*`
    /// variables, progress as [`Progress::Auto`].
    pub fn new<S: Scenario>(scenario: S) -> Self {
        let mut registry = Registry::default();
        registry.add(scenario);
        Self::of(registry, S::NAME)
    }

    pub(crate) fn of(registry: Registry, scenario: &str) -> Self {
        Self {
            registry,
            plan: Plan {
                scenario: scenario.to_owned(),
                users: 10,
                duration: Duration::from_secs(10),
                settings: Vec::new(),
                events: None,
                reports: Vec::new(),
                thresholds: Vec::new(),
            },
            shards: None,
            progress: Progress::Auto,
            cluster: None,
            workers: 1,
            join_timeout: DEFAULT_JOIN_TIMEOUT,
        }
    }

    /// Users to start (at least 1).
    pub fn users(mut self, n: u64) -> Self {
        self.plan.users = n;
        self
    }

    /// How long to run before stopping (the test ends earlier when every user has ended).
    pub fn duration(mut self, d: Duration) -> Self {
        self.plan.duration = d;
        self
    }

    /// A setting, as `--set name=value` (`.set("user_rate", "infinity")` starts every user
    /// at once); a later one of the same name wins.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        self.plan.settings.retain(|(k, _)| *k != name);
        self.plan.settings.push((name, value.into()));
        self
    }

    /// Appends every event to `path` as JSON lines.
    pub fn events(mut self, path: impl Into<PathBuf>) -> Self {
        self.plan.events = Some(path.into());
        self
    }

    /// Writes the run's report to `path` at the end (`.json` or `.html`; call again for
    /// both), also when the test is interrupted.
    pub fn report(mut self, path: impl Into<PathBuf>) -> Self {
        self.plan.reports.push(path.into());
        self
    }

    /// Checks `threshold` at the end: a broken one makes [`Outcome::exit_code`] 99.
    pub fn threshold(mut self, threshold: Threshold) -> Self {
        self.plan.thresholds.push(threshold);
        self
    }

    /// User shards (one arbiter thread each); default one per core.
    pub fn shards(mut self, n: usize) -> Self {
        self.shards = Some(n);
        self
    }

    /// Runs the test on a cluster, this process its master (NATS at `url`, several servers
    /// separated by commas; cluster name from `AMOC_CLUSTER`): it runs no users itself, it
    /// starts the scenario on the workers, adds the users there and merges their statistics
    /// (see `docs/cluster.md`). Refused when another master is live.
    pub fn cluster(mut self, url: impl Into<String>) -> Self {
        self.cluster = Some(url.into());
        self
    }

    /// With [`LoadTest::cluster`]: starts once at least `n` workers (default 1), and every
    /// worker `AMOC_NODES` names, have joined.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// With [`LoadTest::cluster`]: how long to wait for the workers (default 30 s).
    pub fn join_timeout(mut self, d: Duration) -> Self {
        self.join_timeout = d;
        self
    }

    /// How progress and the summary are shown.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Runs the test. Must be called inside an actix system (`#[actix_rt::test]`).
    pub async fn run(self) -> Result<Outcome, RunError> {
        if self.plan.users == 0 {
            return Err(RunError::InvalidPlan("at least one user is needed"));
        }
        if self.plan.duration.is_zero() {
            return Err(RunError::InvalidPlan("the duration must be above zero"));
        }
        for path in &self.plan.reports {
            if crate::report::ReportFormat::of(path).is_none() {
                return Err(RunError::InvalidPlan(
                    "the report file must end in .json or .html",
                ));
            }
        }
        let fingerprint = crate::cluster::fingerprint(&self.registry.names());
        let mut builder = self.registry.register_on(App::builder());
        // A master runs no users: one shard is enough.
        let shards = if self.cluster.is_some() {
            Some(1)
        } else {
            self.shards
        };
        if let Some(n) = shards {
            builder = builder.shards(n);
        }
        let app = builder.start().await?;
        let view = View::new(self.progress);
        let result = match self.cluster {
            Some(url) => {
                let cluster = ClusterPlan {
                    url,
                    workers: self.workers,
                    join_timeout: self.join_timeout,
                };
                cluster_drive::drive(&app, &self.plan, &cluster, fingerprint, &view).await
            }
            None => drive::drive(&app, &self.plan, &view).await,
        };
        drive::detach(&app).await;
        app.shutdown().await;
        result
    }

    /// Runs the test in a new actix system, for a plain `fn main` (not inside a system).
    pub fn run_blocking(self) -> Result<Outcome, RunError> {
        actix_rt::System::new().block_on(self.run())
    }
}
