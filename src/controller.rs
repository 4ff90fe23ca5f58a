//! The controller: the run's state machine. Starts and stops runs, adds and removes users,
//! applies setting updates, reports status.
//!
//! States ([`StatusKind`]): `Idle` → `Running` (start succeeded) → `Terminating` (stop with
//! users still alive) → `Finished`; a failed start goes to `Error`. From `Finished` and
//! `Error` a new run can start without restarting anything; `reset` returns to `Idle` from
//! anywhere but `Disabled` (a cluster master's controller, which runs no users: see
//! [`Controller::disable`]).
//!
//! Guarantees:
//! * Control calls are handled one at a time, in arrival order, by one task; a call made in
//!   the wrong state returns [`ControllerError::InvalidStatus`] with the current state.
//! * `add_users` allocates the next ids (never reused in a run), emits
//!   `[amoc, controller, users]` and returns before the users exist; each shard spawns its
//!   own. Users start paced by the `user_rate` throttle.
//! * `remove_users` picks the oldest-started running users across all shards and marks them
//!   at once, so two quick removals never pick the same user.
//! * `stop_scenario` cancels waiting users and force-stops running ones (aborted after the
//!   removal grace); when the last one ended, the finish sequence runs: the `user_rate`
//!   throttle is stopped, `terminate` runs once, the throttles and coordinators the run
//!   started are stopped, and the state becomes `Finished`.
//! * [`Controller::status`] reads shared counters and never waits on the controller or on
//!   users: it stays fast with a million users.
//! * [`Controller::wait_status`], [`Controller::wait_finished`] and
//!   [`UserCounters::wait_until`](crate::users::UserCounters::wait_until) (through
//!   [`Controller::users`]) await published changes; nothing polls on a timer.
//!
//! The users' side (shards, striping, oldest-first removal) lives in [`crate::users`]; the
//! user rate (parameter, throttle, gate) in [`crate::user_rate`].

mod actor;
mod error;
mod registry;
mod run;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::users::{UserCounters, UserCounts};
use crate::Value;

pub(crate) use actor::ControllerActor;
pub use error::{ControllerError, InitError};
pub(crate) use registry::{ErasedScenario, Registered};
pub(crate) use run::{ControllerLoop, Request};

/// The controller's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// No run.
    Idle,
    /// A run is going on.
    Running,
    /// The run is stopping; users are ending.
    Terminating,
    /// The run has finished.
    Finished,
    /// The last start failed.
    Error,
    /// This node runs no users: a cluster master (SPEC 9). Every run operation is refused
    /// with `InvalidStatus(Disabled)`; `reset` keeps it.
    Disabled,
}

impl std::fmt::Display for StatusKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StatusKind::Idle => "idle",
            StatusKind::Running => "running",
            StatusKind::Terminating => "terminating",
            StatusKind::Finished => "finished",
            StatusKind::Error => "error",
            StatusKind::Disabled => "disabled",
        })
    }
}

/// Ids allocated by an add: `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UserRange {
    /// First id.
    pub first: u64,
    /// Last id.
    pub last: u64,
}

/// What `stop_scenario` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// No user was left: the run finished before the call returned.
    Finished,
    /// Users are ending; the run finishes when the last one ended.
    Terminating,
}

/// A snapshot of the controller and its users.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Status {
    /// The state.
    pub kind: StatusKind,
    /// The scenario of the current or last run.
    pub scenario: Option<String>,
    /// The highest user id used in the run.
    pub highest_user_id: u64,
    /// Users by state.
    pub users: UserCounts,
    /// When the run started (ns since the UNIX epoch).
    pub started_at: Option<i64>,
    /// Why the last start failed (state `Error`).
    pub error: Option<String>,
    /// The run's current settings.
    pub settings: Vec<(String, Value)>,
    /// Telemetry events dropped for slow handlers so far.
    pub telemetry_dropped: u64,
}

/// The part of the run record every handle reads without asking the controller.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) kind: StatusKind,
    pub(crate) scenario: Option<String>,
    pub(crate) highest: u64,
    pub(crate) started_at: Option<i64>,
    pub(crate) error: Option<String>,
}

impl Record {
    /// No run yet.
    pub(crate) fn idle() -> Self {
        Self {
            kind: StatusKind::Idle,
            scenario: None,
            highest: 0,
            started_at: None,
            error: None,
        }
    }
}

/// The run state that outlives a controller restart.
pub(crate) struct Shared {
    record: Mutex<Record>,
    /// The state, published on every change (the record keeps the rest).
    kind: watch::Sender<StatusKind>,
    pub(crate) counters: UserCounters,
    run: Mutex<Option<run::ActiveRunSlot>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("record", &self.record)
            .finish()
    }
}

impl Shared {
    pub(crate) fn new(counters: UserCounters) -> Self {
        Self {
            record: Mutex::new(Record::idle()),
            kind: watch::Sender::new(StatusKind::Idle),
            counters,
            run: Mutex::new(None),
        }
    }

    /// The active run, if any.
    pub(crate) fn run(&self) -> std::sync::MutexGuard<'_, Option<run::ActiveRunSlot>> {
        crate::sync::lock(&self.run)
    }

    pub(crate) fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        crate::sync::lock(&self.record)
    }

    /// Changes the record, then publishes its state to the waiters.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Record)) {
        let kind = {
            let mut r = self.record();
            f(&mut r);
            r.kind
        };
        self.kind
            .send_if_modified(|k| std::mem::replace(k, kind) != kind);
    }

    pub(crate) fn kind(&self) -> StatusKind {
        *self.kind.borrow()
    }

    pub(crate) fn counts(&self) -> UserCounts {
        self.counters.read()
    }
}

/// The handle to the controller: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct Controller {
    /// The current controller task's inbox (replaced when the controller restarts).
    tx: Arc<Mutex<mpsc::UnboundedSender<Request>>>,
    shared: Arc<Shared>,
    config: crate::config::Config,
    telemetry: crate::telemetry::Telemetry,
}

impl Controller {
    pub(crate) fn new(
        tx: Arc<Mutex<mpsc::UnboundedSender<Request>>>,
        shared: Arc<Shared>,
        config: crate::config::Config,
        telemetry: crate::telemetry::Telemetry,
    ) -> Self {
        Self {
            tx,
            shared,
            config,
            telemetry,
        }
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, ControllerError> {
        let (tx, rx) = oneshot::channel();
        let inbox = crate::sync::lock(&self.tx).clone();
        inbox.send(make(tx)).map_err(|_| ControllerError::Down)?;
        rx.await.map_err(|_| ControllerError::Down)
    }

    /// Starts a run of `scenario` with explicit `settings` (they win over `AMOC_*` variables
    /// and defaults): resolves and verifies the configuration, starts the `user_rate`
    /// throttle and runs `init`.
    pub async fn start_scenario(
        &self,
        scenario: &str,
        settings: Vec<(String, Value)>,
    ) -> Result<(), ControllerError> {
        let scenario = scenario.to_owned();
        self.call(|reply| Request::Start {
            scenario,
            settings,
            reply,
        })
        .await?
    }

    /// Adds `count` users with the next ids.
    pub async fn add_users(&self, count: u64) -> Result<UserRange, ControllerError> {
        self.call(|reply| Request::Add {
            range: None,
            count,
            reply,
        })
        .await?
    }

    /// Adds the users `first..=last`; `first` must be above the highest id used so far.
    pub async fn add_user_range(
        &self,
        first: u64,
        last: u64,
    ) -> Result<UserRange, ControllerError> {
        let count = last.wrapping_sub(first).wrapping_add(1);
        self.call(|reply| Request::Add {
            range: Some((first, last)),
            count,
            reply,
        })
        .await?
    }

    /// Asks the `count` oldest-started running users to stop (forced: aborted after the
    /// removal grace if they ignore it). Returns how many were newly selected.
    pub async fn remove_users(&self, count: u64, force: bool) -> Result<u64, ControllerError> {
        self.call(|reply| Request::Remove {
            count,
            force,
            reply,
        })
        .await?
    }

    /// Stops one user (a waiting one is cancelled).
    pub async fn stop_user(&self, id: u64, force: bool) -> Result<(), ControllerError> {
        self.call(|reply| Request::StopUser { id, force, reply })
            .await?
    }

    /// Changes settings while running, all or nothing (see [`crate::config`]).
    pub async fn update_settings(
        &self,
        settings: Vec<(String, Value)>,
    ) -> Result<(), ControllerError> {
        self.call(|reply| Request::Update { settings, reply })
            .await?
    }

    /// Stops the run: every user ends, then `terminate` runs once.
    pub async fn stop_scenario(&self) -> Result<StopOutcome, ControllerError> {
        self.call(|reply| Request::Stop { reply }).await?
    }

    /// Ends any run, stops every throttle and coordinator, clears the configuration: `Idle`.
    pub async fn reset(&self) -> Result<(), ControllerError> {
        self.call(|reply| Request::Reset { reply }).await
    }

    /// Disables the controller for good (a cluster master runs no users): from then on every
    /// run operation returns `InvalidStatus(Disabled)`. Refused while a run is going on.
    pub async fn disable(&self) -> Result<(), ControllerError> {
        self.call(|reply| Request::Disable { reply }).await?
    }

    /// Ends any run (as `stop_scenario`, waiting for `Finished`) and stops the controller.
    pub(crate) async fn shutdown(&self) {
        let _ = self.call(|reply| Request::Shutdown { reply }).await;
    }

    /// `start_scenario`, then `add_users(users)` if `users > 0`.
    pub async fn run(
        &self,
        scenario: &str,
        users: u64,
        settings: Vec<(String, Value)>,
    ) -> Result<(), ControllerError> {
        self.start_scenario(scenario, settings).await?;
        if users > 0 {
            self.add_users(users).await?;
        }
        Ok(())
    }

    /// Waits until the state is `Finished` (or `Idle`/`Error`): no run is going on.
    pub async fn wait_finished(&self) -> StatusKind {
        self.wait_status(|k| !matches!(k, StatusKind::Running | StatusKind::Terminating))
            .await
    }

    /// Waits until the state satisfies `pred` (checked now and on every change); returns it.
    ///
    /// ```
    /// # use amoc::app::App;
    /// # use amoc::controller::StatusKind;
    /// # actix_rt::System::new().block_on(async {
    /// let app = App::builder().start().await.unwrap();
    /// let kind = app.controller().wait_status(|k| k == StatusKind::Idle).await;
    /// assert_eq!(kind, StatusKind::Idle);
    /// # app.shutdown().await;
    /// # });
    /// ```
    pub async fn wait_status(&self, mut pred: impl FnMut(StatusKind) -> bool) -> StatusKind {
        let mut rx = self.shared.kind.subscribe();
        // The sender lives in `self.shared`: `wait_for` only fails if it were dropped.
        let found = rx.wait_for(|k| pred(*k)).await.map(|k| *k);
        found.unwrap_or_else(|_| self.shared.kind())
    }

    /// The users' counters: read them, or await a condition on them.
    pub fn users(&self) -> &UserCounters {
        &self.shared.counters
    }

    /// The current state and counters; never waits on the controller or users.
    pub fn status(&self) -> Status {
        let (kind, scenario, highest, started_at, error) = {
            let r = self.shared.record();
            (
                r.kind,
                r.scenario.clone(),
                r.highest,
                r.started_at,
                r.error.clone(),
            )
        };
        let settings = if matches!(kind, StatusKind::Running | StatusKind::Terminating) {
            self.config
                .view()
                .values()
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect()
        } else {
            Vec::new()
        };
        Status {
            kind,
            scenario,
            highest_user_id: highest,
            users: self.shared.counts(),
            started_at,
            error,
            settings,
            telemetry_dropped: self.telemetry.dropped_total(),
        }
    }
}
