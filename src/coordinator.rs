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
//! # Actors, mailboxes and supervision
//!
//! Each coordinator is one actor, a `Transient` child of a `coordinators`
//! [`DynamicSupervisor`](crate::supervisor::DynamicSupervisor) (intensity 5 per 10 s). The
//! supervisor and every coordinator actor run on the *home arbiter*: the arbiter on which
//! [`Coordinators::new`] was called (the supervisor starts there at once), or, when `new` was
//! called outside any arbiter, the arbiter of the first [`start`](Coordinators::start) (the
//! supervisor starts then; `start` outside any arbiter with no home yet is
//! [`CoordinatorError::NoArbiter`]). `start` reserves the name and returns; the actor starts
//! shortly after, and commands sent meanwhile wait in its mailbox. Inside an app the
//! `coordinators` supervisor is a child of the root supervisor, on the root's arbiter; when
//! the root restarts it, the coordinators of the old instance are gone.
//!
//! The mailbox is a lock-free FIFO queue owned by the coordinator's registry entry, not by
//! the actor: [`add`](Coordinators::add) pushes and returns, waking the actor only if it
//! sleeps; the actor drains up to 512 commands per wake-up (the adds of one batch re-arm the
//! timeout when the batch ends). Each thread caches the mailbox it last added to, so repeated
//! adds to one coordinator skip the name lookup.
//!
//! * **Crash** (a panic in the actor outside an action): the supervisor restarts it with its
//!   plan and timeout; groups restart empty, the timeout is disarmed until the next add. The
//!   mailbox survives, so commands queued behind the one in hand are handled by the new actor;
//!   the pending groups and the command in hand are lost (a `reset` or `stop` in hand returns
//!   `NoSuchCoordinator` although the coordinator is still there).
//! * **Stop**: flushes, frees the name, closes the mailbox (commands queued behind the stop are
//!   dropped: a waiting `reset`/`stop` gets `NoSuchCoordinator`; an add racing with the stop
//!   may return `Ok` and be dropped) and ends the actor normally: it is not restarted.
//! * **Supervisor gives up** (more than 5 restarts within 10 s): it stops every coordinator and
//!   exits; all of them are then removed (no stop actions run, waiting callers get
//!   `NoSuchCoordinator`). The next `start` starts a new supervisor.
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
mod mailbox;
mod plan;
mod registry;
mod supervision;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::mapref::entry::Entry;
use tokio::sync::oneshot;

pub use plan::{Action, CoordinationEvent, EventKind, Plan, PlanItem, Size};

use crate::supervisor::ChildStarter;
use crate::telemetry::{monotonic_time, names, Telemetry};
use actor::{CoordinatorActor, Release};
use mailbox::{Control, ErasedMailbox, Mailbox};
use registry::Registry;
use supervision::{ChildArgs, Home};

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
    /// There is no live arbiter to run the coordinator on: construct [`Coordinators`] or
    /// call `start` inside an actix arbiter (and keep that arbiter running).
    #[error("no actix arbiter to run coordinators on")]
    NoArbiter,
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

/// The handle to every coordinator of an app: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Coordinators {
    telemetry: Telemetry,
    registry: Arc<Registry>,
    home: Arc<Home>,
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for Coordinators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinators")
            .field("running", &self.registry.map.len())
            .finish()
    }
}

impl Coordinators {
    /// An empty set of coordinators reporting to `telemetry`. Called on an actix arbiter,
    /// that arbiter becomes their home and their supervisor starts there at once; otherwise
    /// the home is the arbiter of the first [`start`](Self::start).
    pub fn new(telemetry: Telemetry) -> Self {
        let registry = Arc::new(Registry::new());
        Self {
            telemetry,
            home: Home::new(&registry),
            registry,
            generation: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Starts a coordinator with `plan` and `timeout` (`None` = never): reserves the name
    /// at once and asks the `coordinators` supervisor, on the home arbiter, to start its
    /// actor. Commands sent before the actor runs wait in its mailbox.
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
        let arbiter = self.home.arbiter().ok_or(CoordinatorError::NoArbiter)?;
        let name: Name = Arc::from(name);
        let mailbox = Arc::new(Mailbox::<D>::new());
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        match self.registry.map.entry(name.clone()) {
            Entry::Occupied(_) => return Err(CoordinatorError::AlreadyStarted(name.to_string())),
            Entry::Vacant(v) => {
                v.insert(registry::Entry {
                    mailbox: mailbox.clone(),
                    erased: mailbox.clone(),
                    type_name: std::any::type_name::<D>(),
                    generation,
                    epoch: AtomicU64::new(0),
                });
            }
        }
        let args = self.child_args(&name, plan, timeout, mailbox, generation);
        let (home, registry, key) = (self.home.clone(), self.registry.clone(), name.clone());
        let sent = arbiter.spawn_fn(move || {
            actix_rt::spawn(async move {
                let result = match home.supervisor(&registry).await {
                    Ok((epoch, sup)) => {
                        registry.set_epoch(&key, generation, epoch);
                        sup.start_child(args)
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                };
                if let Err(error) = result {
                    tracing::error!(coordinator = %key, %error, "coordinator failed to start");
                    registry.release(&key, generation);
                }
            });
        });
        if !sent {
            self.registry.release(&name, generation);
            return Err(CoordinatorError::NoArbiter);
        }
        let coordinator = name.to_string();
        self.telemetry.execute_with(&names::COORDINATOR_START, || {
            (
                crate::measurements! { "count" => 1u64 },
                crate::metadata! { "name" => coordinator, "monotonic_time" => monotonic_time() },
            )
        });
        Ok(())
    }

    /// What the supervisor calls to build the actor, at start and after every crash.
    fn child_args<D: Send + Sync + 'static>(
        &self,
        name: &Name,
        plan: Vec<PlanItem<D>>,
        timeout: Option<Duration>,
        mailbox: Arc<Mailbox<D>>,
        generation: u64,
    ) -> ChildArgs {
        let (registry, key) = (self.registry.clone(), name.clone());
        let release: Release = Arc::new(move || registry.release(&key, generation));
        let (name, telemetry) = (name.clone(), self.telemetry.clone());
        ChildArgs(Arc::new(move |starter: &ChildStarter| {
            let actor = CoordinatorActor::new(
                name.clone(),
                plan.clone(),
                timeout,
                telemetry.clone(),
                mailbox.clone(),
                release.clone(),
            );
            starter.spawn_local(move |_| actor).1
        }))
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
        self.registry.add(name, data)?;
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
        let (tx, rx) = oneshot::channel();
        self.control(name, Control::Reset(tx))?;
        rx.await
            .map_err(|_| CoordinatorError::NoSuchCoordinator(name.to_owned()))
    }

    /// Flushes every pending group with kind `Stop`, removes the coordinator and ends its
    /// actor normally (not restarted); returns after the actions ran. The name is free again.
    pub async fn stop(&self, name: &str) -> Result<(), CoordinatorError> {
        let (tx, rx) = oneshot::channel();
        self.control(name, Control::Stop(tx))?;
        rx.await
            .map_err(|_| CoordinatorError::NoSuchCoordinator(name.to_owned()))
    }

    /// Test support: makes the coordinator's actor panic when it reaches this command (after
    /// the commands queued before it), so its supervisor restarts it.
    #[doc(hidden)]
    pub fn crash(&self, name: &str) -> Result<(), CoordinatorError> {
        self.control(name, Control::Crash)
    }

    /// Test support: the number of coordinator actors running under the supervisor, or
    /// `None` if it is not running.
    #[doc(hidden)]
    pub async fn supervised(&self) -> Option<usize> {
        let sup = self.home.current().await?;
        sup.count_children().await.ok().map(|c| c.active)
    }

    /// Starts the `coordinators` supervisor as a child of the caller's supervisor (the app's
    /// root does this), replacing any supervisor started before; its coordinators are gone.
    #[doc(hidden)]
    pub async fn start_supervisor_under(
        &self,
        starter: &crate::supervisor::ChildStarter,
    ) -> Result<crate::supervisor::Start, crate::supervisor::StartError> {
        self.home.start_under(starter, &self.registry).await
    }

    fn control(&self, name: &str, control: Control) -> Result<(), CoordinatorError> {
        let missing = || CoordinatorError::NoSuchCoordinator(name.to_owned());
        let mailbox: Arc<dyn ErasedMailbox> = self
            .registry
            .map
            .get(name)
            .ok_or_else(missing)?
            .erased
            .clone();
        mailbox.send_control(control).map_err(|_| missing())
    }

    /// Names of the running coordinators.
    pub fn names(&self) -> Vec<String> {
        self.registry
            .map
            .iter()
            .map(|e| e.key().to_string())
            .collect()
    }

    /// Stops every coordinator (running their stop actions).
    pub async fn stop_all(&self) {
        for name in self.names() {
            let _ = self.stop(&name).await;
        }
    }
}
