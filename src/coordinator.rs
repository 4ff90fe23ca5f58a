//! Coordinators: make users act in groups.
//!
//! Each user [`add`](Coordinators::add)s itself, with some data (usually its address), to a
//! named coordinator. Whenever a group of an item's planned size is complete, that item's
//! actions run on it; partial groups are flushed on timeout, [`reset`](Coordinators::reset)
//! and [`stop`](Coordinators::stop).
//!
//! Guarantees:
//! * Adds, resets and stops from one caller are handled in call order (they share one
//!   ordered stream into the coordinator).
//! * Items fire in the plan's normalised order: every sized item in declaration order, then
//!   every `All` item. Within an item, actions run in declaration order, one at a time, on the
//!   coordinator's actor: keep them quick (message users, spawn longer work).
//! * A panicking action is caught and logged with the coordinator name and item index; the
//!   coordinator and the other actions go on.
//! * The timeout is armed by every add and fires after `timeout` without adds (never before
//!   the first add); it flushes with kind `Timeout` and stays disarmed until the next add.
//!   `reset` and `stop` disarm it. `reset` and `stop` return after their actions ran; after
//!   `stop` the name is free again.
//! * Operations on an unknown or stopped name return [`CoordinatorError::NoSuchCoordinator`];
//!   a second `start` of a live name returns [`CoordinatorError::AlreadyStarted`] and leaves
//!   the first one working.
//!
//! ```
//! use amoc::coordinator::{Action, Coordinators, PlanItem, Size};
//! use amoc::telemetry::Telemetry;
//! use std::sync::{Arc, Mutex};
//! # actix_rt::System::new().block_on(async {
//! let coordinators = Coordinators::new(Telemetry::new());
//! let pairs = Arc::new(Mutex::new(Vec::new()));
//! let seen = pairs.clone();
//! let plan = PlanItem::new(Size::Exactly(2), Action::pairs(move |_, a: Option<&u32>, b| {
//!     seen.lock().unwrap().push((a.copied(), b.copied()));
//! }));
//! coordinators.start("chat", plan, None).unwrap();
//! for user in 1..=4u32 {
//!     coordinators.add("chat", user).unwrap();
//! }
//! coordinators.stop("chat").await.unwrap();
//! assert_eq!(&pairs.lock().unwrap()[..2], &[(Some(1), Some(2)), (Some(3), Some(4))]);
//! # });
//! ```

mod actor;
mod grouping;
mod plan;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, AsyncContext, Context};
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use tokio::sync::{mpsc, oneshot};

pub use plan::{Action, CoordinationEvent, EventKind, Plan, PlanItem, Size};

use crate::telemetry::{monotonic_time, names, Telemetry};
use actor::{Command, CoordinatorActor};

/// A coordinator's name.
pub type Name = Arc<str>;

/// The default timeout of [`Coordinators::start_default`]: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of coordinator operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatorError {
    /// A coordinator of this name is running.
    #[error("coordinator {0:?} is already started")]
    AlreadyStarted(String),
    /// The plan is invalid.
    #[error("invalid plan: {0}")]
    InvalidPlan(String),
    /// A zero timeout.
    #[error("invalid timeout: must be at least 1 ms")]
    InvalidTimeout,
    /// The name is empty.
    #[error("invalid coordinator name: empty")]
    InvalidName,
    /// No coordinator of this name is running.
    #[error("no coordinator named {0:?}")]
    NoSuchCoordinator(String),
    /// The data type differs from the one the coordinator was started with.
    #[error("coordinator {name:?} takes data of type {expected}, not {given}")]
    DataTypeMismatch {
        /// The coordinator.
        name: String,
        /// The type it was started with.
        expected: &'static str,
        /// The type given to `add`.
        given: &'static str,
    },
}

type ControlFn = dyn Fn(bool, oneshot::Sender<()>) -> Result<(), ()> + Send + Sync;

struct Entry_ {
    /// The `mpsc::UnboundedSender<Command<D>>`, type-erased.
    tx: Box<dyn Any + Send + Sync>,
    /// Sends a reset (`false`) or stop (`true`) without knowing `D`.
    control: Box<ControlFn>,
    type_name: &'static str,
    generation: u64,
}

/// The handle to every coordinator of an app: cheap to clone, usable from any arbiter.
#[derive(Clone)]
pub struct Coordinators {
    telemetry: Telemetry,
    registry: Arc<DashMap<Name, Entry_>>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Coordinators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinators")
            .field("running", &self.registry.len())
            .finish()
    }
}

impl Coordinators {
    /// An empty set of coordinators reporting to `telemetry`.
    pub fn new(telemetry: Telemetry) -> Self {
        Self {
            telemetry,
            registry: Arc::new(DashMap::new()),
            generation: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    /// Starts a coordinator on the current arbiter with `plan` and `timeout` (`None` =
    /// never). Must be called inside an actix arbiter.
    pub fn start<D: Send + Sync + 'static>(
        &self,
        name: &str,
        plan: impl Into<Plan<D>>,
        timeout: Option<Duration>,
    ) -> Result<(), CoordinatorError> {
        if name.is_empty() {
            return Err(CoordinatorError::InvalidName);
        }
        if timeout == Some(Duration::ZERO) {
            return Err(CoordinatorError::InvalidTimeout);
        }
        let plan = plan.into().normalise()?;
        let name: Name = Arc::from(name);
        let (tx, rx) = mpsc::unbounded_channel::<Command<D>>();
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.registry.entry(name.clone()) {
            Entry::Occupied(_) => return Err(CoordinatorError::AlreadyStarted(name.to_string())),
            Entry::Vacant(v) => {
                let control_tx = tx.clone();
                let control = Box::new(move |stop: bool, done: oneshot::Sender<()>| {
                    let cmd = if stop {
                        Command::Stop(done)
                    } else {
                        Command::Reset(done)
                    };
                    control_tx.send(cmd).map_err(|_| ())
                });
                v.insert(Entry_ {
                    tx: Box::new(tx),
                    control,
                    type_name: std::any::type_name::<D>(),
                    generation,
                });
            }
        }
        let registry = self.registry.clone();
        let key = name.clone();
        let on_stop = Box::new(move || {
            registry.remove_if(&key, |_, e| e.generation == generation);
        });
        let actor =
            CoordinatorActor::new(name.clone(), plan, timeout, self.telemetry.clone(), on_stop);
        CoordinatorActor::create(move |ctx: &mut Context<CoordinatorActor<D>>| {
            let mut rx = rx;
            ctx.add_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
            actor
        });
        let coordinator = name.to_string();
        self.telemetry.execute_with(&names::COORDINATOR_START, || {
            (
                crate::measurements! { "count" => 1u64 },
                crate::metadata! { "name" => coordinator, "monotonic_time" => monotonic_time() },
            )
        });
        Ok(())
    }

    /// As [`start`](Self::start) with the default timeout of 30 s.
    pub fn start_default<D: Send + Sync + 'static>(
        &self,
        name: &str,
        plan: impl Into<Plan<D>>,
    ) -> Result<(), CoordinatorError> {
        self.start(name, plan, Some(DEFAULT_TIMEOUT))
    }

    /// Adds a user's `data` to the coordinator `name`. Returns at once; actions run later.
    pub fn add<D: Send + Sync + 'static>(
        &self,
        name: &str,
        data: D,
    ) -> Result<(), CoordinatorError> {
        let entry = self
            .registry
            .get(name)
            .ok_or_else(|| CoordinatorError::NoSuchCoordinator(name.to_owned()))?;
        let tx = entry
            .tx
            .downcast_ref::<mpsc::UnboundedSender<Command<D>>>()
            .ok_or_else(|| CoordinatorError::DataTypeMismatch {
                name: name.to_owned(),
                expected: entry.type_name,
                given: std::any::type_name::<D>(),
            })?;
        tx.send(Command::Add(Arc::new(data)))
            .map_err(|_| CoordinatorError::NoSuchCoordinator(name.to_owned()))?;
        drop(entry);
        self.telemetry.execute_with(&names::COORDINATOR_ADD, || {
            (
                crate::measurements! { "count" => 1u64 },
                crate::metadata! { "name" => name, "monotonic_time" => monotonic_time() },
            )
        });
        Ok(())
    }

    /// Flushes every pending group with kind `Reset`; returns after the actions ran.
    pub async fn reset(&self, name: &str) -> Result<(), CoordinatorError> {
        self.control(name, false).await
    }

    /// Flushes every pending group with kind `Stop` and removes the coordinator; returns
    /// after the actions ran. The name is free again.
    pub async fn stop(&self, name: &str) -> Result<(), CoordinatorError> {
        self.control(name, true).await
    }

    async fn control(&self, name: &str, stop: bool) -> Result<(), CoordinatorError> {
        let missing = || CoordinatorError::NoSuchCoordinator(name.to_owned());
        let (done_tx, done_rx) = oneshot::channel();
        {
            let entry = self.registry.get(name).ok_or_else(missing)?;
            (entry.control)(stop, done_tx).map_err(|()| missing())?;
        }
        done_rx.await.map_err(|_| missing())
    }

    /// Names of the running coordinators.
    pub fn names(&self) -> Vec<String> {
        self.registry.iter().map(|e| e.key().to_string()).collect()
    }

    /// Stops every coordinator (running their stop actions).
    pub async fn stop_all(&self) {
        for name in self.names() {
            let _ = self.stop(&name).await;
        }
    }
}
