//! The [`Throttles`] handle, the name registry, and the operations that change a throttle
//! through its owner actor.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::Message;
use actix_rt::ArbiterHandle;
use dashmap::DashMap;
use tokio::sync::watch;

use super::core::{Core, STOPPED};
use super::owner::{stop_core, ChangeRate, Gradual, Info, Owner, SetPaused};
use super::supervision::{current_owner, replaced, OwnerState, Sup};
use super::{GradualPlan, ThrottleConfig, ThrottleError, ThrottleInfo};
use crate::telemetry::Telemetry;

static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(1);

/// How many throttles each thread remembers.
const CORE_CACHE: usize = 32;

thread_local! {
    static CORES: RefCell<Vec<(u64, Arc<Core>)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) core: Arc<Core>,
    /// Identifies this entry among the throttles that ever had its name (the supervised
    /// child's argument, so a late restart never takes over a newer throttle of that name).
    pub(super) id: u64,
    /// The current owner, replaced by the child's start function after a crash.
    pub(super) owner: Arc<watch::Sender<OwnerState>>,
}

#[derive(Debug)]
pub(super) struct Registry {
    pub(super) id: u64,
    pub(super) telemetry: Telemetry,
    pub(super) throttles: DashMap<String, Entry>,
    pub(super) reserved: DashMap<String, u64>,
    pub(super) next_token: AtomicU64,
    pub(super) next_entry: AtomicU64,
    /// The arbiter the `throttles` supervisor runs on (the one `new` was called on, if any).
    pub(super) home: Option<ArbiterHandle>,
    /// The `throttles` DynamicSupervisor and its instance number: started on the first
    /// `start`, or installed by the app's root supervisor (which replaces it after a crash).
    pub(super) sup: tokio::sync::Mutex<Option<(u64, Sup)>>,
    /// Instance numbers of supervisors, so a late watcher of an old one changes nothing.
    pub(super) epochs: AtomicU64,
    /// Why the supervisor is down, once it is (then every operation fails with it).
    pub(super) down: std::sync::Mutex<Option<String>>,
    /// Cluster mode: the declared rates of the leased throttles (see `leasing`).
    pub(super) leases: std::sync::OnceLock<Arc<super::leasing::Leases>>,
}

impl Registry {
    /// The `SupervisorDown` error, if the supervisor is down.
    pub(super) fn down_error(&self) -> Option<ThrottleError> {
        crate::sync::lock(&self.down)
            .clone()
            .map(ThrottleError::SupervisorDown)
    }

    /// The error for `name` when it is not in the registry.
    pub(super) fn missing(&self, name: &str) -> ThrottleError {
        self.down_error()
            .unwrap_or_else(|| ThrottleError::NoSuchThrottle(name.to_owned()))
    }

    /// The error for an owner that is gone for good.
    pub(super) fn gone(&self) -> ThrottleError {
        self.down_error().unwrap_or(ThrottleError::Stopped)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // The last handle is gone: nobody can reach these throttles any more; fail their
        // waiters rather than leave them hanging, and end their owners.
        for e in self.throttles.iter() {
            stop_core(&e.core);
        }
        if let Ok(slot) = self.sup.try_lock() {
            if let Some((_, sup)) = slot.as_ref() {
                sup.request_stop();
            }
        }
    }
}

/// The handle to a set of named throttles: cheap to clone, `Send + Sync`, usable from any
/// arbiter. Operations that change a throttle must run inside an actix arbiter (the owner
/// actor lives there); `wait`, `send` and `run` need a tokio runtime (any arbiter is one).
///
/// ```
/// # use amoc::throttle::{ThrottleConfig, Throttles};
/// # actix_rt::System::new().block_on(async {
/// let throttles = Throttles::new(amoc::telemetry::Telemetry::new());
/// throttles.start("upload", ThrottleConfig::concurrency(20)).await.unwrap();
/// let handle = throttles.run("upload", async { 6 * 7 }).unwrap();
/// assert_eq!(handle.await.unwrap(), 42);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Throttles {
    pub(super) inner: Arc<Registry>,
}

impl Throttles {
    /// An empty registry whose throttles report to `telemetry`. Its `throttles` supervisor is
    /// started by the first [`start`](Self::start), on the arbiter `new` is called on (or,
    /// if `new` runs outside any arbiter, on the arbiter of that first `start`).
    pub fn new(telemetry: Telemetry) -> Self {
        Self {
            inner: Arc::new(Registry {
                id: NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed),
                telemetry,
                throttles: DashMap::new(),
                reserved: DashMap::new(),
                next_token: AtomicU64::new(1),
                next_entry: AtomicU64::new(1),
                home: actix_rt::Arbiter::try_current(),
                sup: tokio::sync::Mutex::new(None),
                epochs: AtomicU64::new(1),
                down: std::sync::Mutex::new(None),
                leases: std::sync::OnceLock::new(),
            }),
        }
    }

    pub(super) fn entry(&self, name: &str) -> Result<Entry, ThrottleError> {
        self.inner
            .throttles
            .get(name)
            .map(|e| e.value().clone())
            .ok_or_else(|| self.inner.missing(name))
    }

    pub(super) fn core(&self, name: &str) -> Result<Arc<Core>, ThrottleError> {
        self.with_core(name, Arc::clone)
    }

    /// Runs `f` on the core of `name`, found through this thread's cache of recently used
    /// throttles (so the hot path neither locks the registry nor touches a shared reference
    /// count), or through the registry on a miss. `f` must not look up throttles itself.
    pub(super) fn with_core<R>(
        &self,
        name: &str,
        f: impl FnOnce(&Arc<Core>) -> R,
    ) -> Result<R, ThrottleError> {
        let id = self.inner.id;
        let mut f = Some(f);
        let hit = CORES.with(|c| {
            let mut c = c.borrow_mut();
            let pos = c
                .iter()
                .position(|(r, core)| *r == id && &*core.name == name)?;
            if c[pos].1.state() == STOPPED {
                c.swap_remove(pos);
                return None;
            }
            f.take().map(|f| f(&c[pos].1))
        });
        if let Some(r) = hit {
            return Ok(r);
        }
        let core = self
            .inner
            .throttles
            .get(name)
            .map(|e| e.core.clone())
            .ok_or_else(|| self.inner.missing(name))?;
        CORES.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= CORE_CACHE {
                c.remove(0);
            }
            c.push((id, core.clone()));
        });
        match f.take() {
            Some(f) => Ok(f(&core)),
            None => Err(ThrottleError::NoSuchThrottle(name.to_owned())),
        }
    }

    /// Sends `msg` to the owner of `name` and waits for the answer. While the owner is being
    /// (re-)created the call waits for the new one; if the owner dies with the message in its
    /// mailbox, the message is sent once more to its replacement.
    pub(super) async fn ask<M>(&self, name: &str, msg: M) -> Result<M::Result, ThrottleError>
    where
        M: Message + Clone + Send + 'static,
        M::Result: Send,
        Owner: actix::Handler<M>,
    {
        let entry = self.entry(name)?;
        let mut rx = entry.owner.subscribe();
        let mut retried = false;
        loop {
            let addr = current_owner(&mut rx)
                .await
                .ok_or_else(|| self.inner.gone())?;
            if addr.connected() {
                match addr.send(msg.clone()).await {
                    Ok(r) => return Ok(r),
                    Err(_) if retried => return Err(self.inner.gone()),
                    Err(_) => retried = true,
                }
            }
            replaced(&mut rx, &addr).await;
        }
    }

    /// Pauses throttle `name`: every waiting and new request is held (idempotent).
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(600)).await.unwrap();
    /// t.pause("n").await.unwrap();
    /// t.pause("n").await.unwrap();
    /// assert!(t.info("n").await.unwrap().paused);
    /// t.resume("n").await.unwrap();
    /// # });
    /// ```
    pub async fn pause(&self, name: &str) -> Result<(), ThrottleError> {
        self.ask(name, SetPaused(true)).await
    }

    /// Resumes throttle `name`, re-applying its current configuration (idempotent).
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(600)).await.unwrap();
    /// t.resume("n").await.unwrap(); // resuming a running throttle is fine
    /// t.pause("n").await.unwrap();
    /// t.resume("n").await.unwrap();
    /// assert!(!t.info("n").await.unwrap().paused);
    /// # });
    /// ```
    pub async fn resume(&self, name: &str) -> Result<(), ThrottleError> {
        self.ask(name, SetPaused(false)).await
    }

    /// Changes the configuration of throttle `name`; an identical one is a no-op success.
    /// Errors: `NoSuchThrottle`, `InvalidConfig`, `GradualChangeInProgress`.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, Rate};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(100)).await.unwrap();
    /// t.change_rate("n", ThrottleConfig::rate(101)).await.unwrap();
    /// assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(101));
    /// # });
    /// ```
    pub async fn change_rate(
        &self,
        name: &str,
        config: ThrottleConfig,
    ) -> Result<(), ThrottleError> {
        self.entry(name)?;
        let config = config.validate()?;
        if let Some(done) = self.leased_change(name, config).await {
            return done;
        }
        self.ask(name, ChangeRate(config)).await?
    }

    /// `change_rate(name, unlimited())`.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, Rate};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(0)).await.unwrap();
    /// t.unlock("n").await.unwrap();
    /// assert_eq!(t.info("n").await.unwrap().rate, Rate::Unlimited);
    /// # });
    /// ```
    pub async fn unlock(&self, name: &str) -> Result<(), ThrottleError> {
        self.change_rate(name, ThrottleConfig::unlimited()).await
    }

    /// Changes the rate of throttle `name` step by step (SPEC 6.5). Errors: `NoSuchThrottle`,
    /// `InvalidPlan`, `GradualChangeInProgress`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use amoc::throttle::{GradualPlan, ThrottleConfig, Throttles, ThrottleError};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(10)).await.unwrap();
    /// let plan = GradualPlan::new(10, 3000).every(Duration::from_millis(100), 300);
    /// t.change_rate_gradually("n", plan).await.unwrap();
    /// assert_eq!(t.change_rate_gradually("n", plan).await, Err(ThrottleError::GradualChangeInProgress));
    /// # });
    /// ```
    pub async fn change_rate_gradually(
        &self,
        name: &str,
        plan: GradualPlan,
    ) -> Result<(), ThrottleError> {
        self.entry(name)?;
        if self.leases().is_some_and(|l| l.declared(name).is_some()) {
            let why = "a cluster-wide throttle changes its rate with change_rate";
            return Err(ThrottleError::InvalidPlan(why.into()));
        }
        let schedule = plan.resolve()?;
        self.ask(name, Gradual(schedule)).await?
    }

    /// Describes throttle `name`. Errors: `NoSuchThrottle`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use amoc::throttle::{ThrottleConfig, Throttles, Rate};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate_per(100, Duration::from_secs(60))).await.unwrap();
    /// let info = t.info("n").await.unwrap();
    /// assert_eq!((info.rate, info.interval, info.paused), (Rate::Finite(100), Duration::from_secs(60), false));
    /// # });
    /// ```
    pub async fn info(&self, name: &str) -> Result<ThrottleInfo, ThrottleError> {
        self.ask(name, Info).await
    }

    /// The names of the running throttles.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("a", ThrottleConfig::rate(1)).await.unwrap();
    /// assert_eq!(t.names(), vec!["a".to_string()]);
    /// # });
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.inner
            .throttles
            .iter()
            .map(|e| e.key().clone())
            .collect()
    }
}
