//! The [`Throttles`] handle and the name registry.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::{Actor, Addr, Message, Recipient};
use dashmap::mapref::entry::Entry as MapEntry;
use dashmap::DashMap;
use tokio::sync::oneshot;

use super::core::{Core, STOPPED};
use super::owner::{stop_core, Cancel, ChangeRate, Gradual, Info, Owner, SetPaused, Stop};
use super::shard::Waiter;
use super::{
    GradualPlan, Permit, RunHandle, StartOutcome, ThrottleConfig, ThrottleError, ThrottleInfo,
};
use crate::telemetry::{monotonic_time, names, Telemetry};
use crate::{measurements, metadata};

static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(1);

/// How many throttles each thread remembers.
const CORE_CACHE: usize = 32;

thread_local! {
    static CORES: RefCell<Vec<(u64, Arc<Core>)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Debug, Clone)]
struct Entry {
    core: Arc<Core>,
    owner: Addr<Owner>,
}

#[derive(Debug)]
struct Registry {
    id: u64,
    telemetry: Telemetry,
    throttles: DashMap<String, Entry>,
    reserved: DashMap<String, u64>,
    next_token: AtomicU64,
}

impl Drop for Registry {
    fn drop(&mut self) {
        // The last handle is gone: nobody can reach these throttles any more; fail their
        // waiters rather than leave them hanging.
        for e in self.throttles.iter() {
            stop_core(&e.core);
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
    inner: Arc<Registry>,
}

/// The exclusive right to start and stop one throttle name (the controller's `user_rate`):
/// while it is held, [`Throttles::start`] and [`Throttles::stop`] of that name return
/// [`ThrottleError::Reserved`]; the holder uses [`Throttles::start_reserved`] and
/// [`Throttles::stop_reserved`].
///
/// ```
/// # use amoc::throttle::{ThrottleConfig, ThrottleError, Throttles, USER_RATE};
/// # actix_rt::System::new().block_on(async {
/// let throttles = Throttles::new(amoc::telemetry::Telemetry::new());
/// let r = throttles.reserve(USER_RATE).unwrap();
/// let c = ThrottleConfig::rate(1200);
/// assert_eq!(throttles.start(USER_RATE, c).await, Err(ThrottleError::Reserved(USER_RATE.into())));
/// throttles.start_reserved(&r, c).await.unwrap();
/// throttles.change_rate(USER_RATE, ThrottleConfig::rate(60)).await.unwrap();
/// throttles.stop_reserved(&r).await.unwrap();
/// throttles.release(r);
/// # });
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Reservation {
    name: String,
    token: u64,
}

impl Reservation {
    /// The reserved name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Throttles {
    /// An empty registry whose throttles report to `telemetry`.
    pub fn new(telemetry: Telemetry) -> Self {
        Self {
            inner: Arc::new(Registry {
                id: NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed),
                telemetry,
                throttles: DashMap::new(),
                reserved: DashMap::new(),
                next_token: AtomicU64::new(1),
            }),
        }
    }

    fn entry(&self, name: &str) -> Result<Entry, ThrottleError> {
        self.inner
            .throttles
            .get(name)
            .map(|e| e.value().clone())
            .ok_or_else(|| ThrottleError::NoSuchThrottle(name.to_owned()))
    }

    fn core(&self, name: &str) -> Result<Arc<Core>, ThrottleError> {
        self.with_core(name, Arc::clone)
    }

    /// Runs `f` on the core of `name`, found through this thread's cache of recently used
    /// throttles (so the hot path neither locks the registry nor touches a shared reference
    /// count), or through the registry on a miss. `f` must not look up throttles itself.
    fn with_core<R>(
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
            .ok_or_else(|| ThrottleError::NoSuchThrottle(name.to_owned()))?;
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

    fn check_reserved(&self, name: &str, token: Option<u64>) -> Result<(), ThrottleError> {
        match self.inner.reserved.get(name) {
            Some(t) if Some(*t) != token => Err(ThrottleError::Reserved(name.to_owned())),
            _ => Ok(()),
        }
    }

    /// Starts throttle `name` with `config`: `Started`, or `AlreadyStarted` if it runs with the
    /// same normalised configuration. Emits `init` then `rate`.
    ///
    /// Errors: `InvalidName` (empty), `InvalidConfig`, `WrongReconfiguration`, `Reserved`,
    /// `NoRuntime` (not inside an actix arbiter).
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, StartOutcome, ThrottleError};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// assert_eq!(t.start("n", ThrottleConfig::rate(100)).await, Ok(StartOutcome::Started));
    /// assert_eq!(t.start("n", ThrottleConfig::rate(100)).await, Ok(StartOutcome::AlreadyStarted));
    /// assert!(matches!(t.start("n", ThrottleConfig::rate(101)).await,
    ///     Err(ThrottleError::WrongReconfiguration { .. })));
    /// # });
    /// ```
    pub async fn start(
        &self,
        name: &str,
        config: ThrottleConfig,
    ) -> Result<StartOutcome, ThrottleError> {
        self.start_as(name, config, None)
    }

    /// [`start`](Self::start) of a reserved name, by the holder of its reservation.
    pub async fn start_reserved(
        &self,
        reservation: &Reservation,
        config: ThrottleConfig,
    ) -> Result<StartOutcome, ThrottleError> {
        self.start_as(&reservation.name, config, Some(reservation.token))
    }

    fn start_as(
        &self,
        name: &str,
        config: ThrottleConfig,
        token: Option<u64>,
    ) -> Result<StartOutcome, ThrottleError> {
        if name.is_empty() {
            return Err(ThrottleError::InvalidName);
        }
        self.check_reserved(name, token)?;
        let config = config.validate()?;
        if actix::System::try_current().is_none() {
            return Err(ThrottleError::NoRuntime);
        }
        let core = match self.inner.throttles.entry(name.to_owned()) {
            MapEntry::Occupied(e) => {
                let current = e.get().core.config();
                return if current == config {
                    Ok(StartOutcome::AlreadyStarted)
                } else {
                    Err(ThrottleError::WrongReconfiguration {
                        current,
                        requested: config,
                    })
                };
            }
            MapEntry::Vacant(v) => {
                let core = Core::new(name, config, self.inner.telemetry.clone());
                let owner = Owner::new(core.clone()).start();
                v.insert(Entry {
                    core: core.clone(),
                    owner,
                });
                core
            }
        };
        self.inner
            .telemetry
            .execute_with(&names::THROTTLE_INIT, || {
                (
                    measurements! { "count" => 1u64 },
                    metadata! { "name" => name, "monotonic_time" => monotonic_time() },
                )
            });
        core.emit_rate(config, None);
        Ok(StartOutcome::Started)
    }

    /// Stops throttle `name`: waiting `wait`s and `run`s fail with `Stopped`, undelivered
    /// `send`s are discarded, a gradual plan is cancelled. Errors: `NoSuchThrottle`, `Reserved`.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, ThrottleError};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(1)).await.unwrap();
    /// t.stop("n").await.unwrap();
    /// assert!(matches!(t.info("n").await, Err(ThrottleError::NoSuchThrottle(_))));
    /// # });
    /// ```
    pub async fn stop(&self, name: &str) -> Result<(), ThrottleError> {
        self.stop_as(name, None).await
    }

    /// [`stop`](Self::stop) of a reserved name, by the holder of its reservation.
    pub async fn stop_reserved(&self, reservation: &Reservation) -> Result<(), ThrottleError> {
        self.stop_as(&reservation.name, Some(reservation.token))
            .await
    }

    async fn stop_as(&self, name: &str, token: Option<u64>) -> Result<(), ThrottleError> {
        self.check_reserved(name, token)?;
        let (_, entry) = self
            .inner
            .throttles
            .remove(name)
            .ok_or_else(|| ThrottleError::NoSuchThrottle(name.to_owned()))?;
        if entry.owner.send(Stop).await.is_err() {
            // The owner is gone: stop the core here so that no waiter hangs.
            stop_core(&entry.core);
        }
        Ok(())
    }

    /// Reserves `name` (see [`Reservation`]). Errors: `InvalidName`, `Reserved` if it already is.
    ///
    /// ```
    /// # use amoc::throttle::{Throttles, ThrottleError};
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// let r = t.reserve("user_rate").unwrap();
    /// assert_eq!(t.reserve("user_rate"), Err(ThrottleError::Reserved("user_rate".into())));
    /// t.release(r);
    /// assert!(t.reserve("user_rate").is_ok());
    /// ```
    pub fn reserve(&self, name: &str) -> Result<Reservation, ThrottleError> {
        if name.is_empty() {
            return Err(ThrottleError::InvalidName);
        }
        match self.inner.reserved.entry(name.to_owned()) {
            MapEntry::Occupied(_) => Err(ThrottleError::Reserved(name.to_owned())),
            MapEntry::Vacant(v) => {
                let token = self.inner.next_token.fetch_add(1, Ordering::Relaxed);
                v.insert(token);
                Ok(Reservation {
                    name: name.to_owned(),
                    token,
                })
            }
        }
    }

    /// Gives up a reservation (the throttle, if running, keeps running).
    pub fn release(&self, reservation: Reservation) {
        self.inner
            .reserved
            .remove_if(&reservation.name, |_, t| *t == reservation.token);
    }

    /// Waits until throttle `name` grants a permit. Dropping the future withdraws the request.
    /// Errors: `NoSuchThrottle`; `Stopped` if the throttle stops meanwhile.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::unlimited()).await.unwrap();
    /// for _ in 0..1000 {
    ///     t.wait("n").await.unwrap();
    /// }
    /// # });
    /// ```
    pub async fn wait(&self, name: &str) -> Result<Permit, ThrottleError> {
        let queued = self.with_core(name, |core| {
            core.emit_request();
            if let Some(p) = core.fast_permit() {
                return Ok(Ok(p));
            }
            let (tx, rx) = oneshot::channel();
            core.local_shard().enqueue(core, Waiter::Wait(tx))?;
            Ok(Err(rx))
        })??;
        match queued {
            Ok(permit) => Ok(permit),
            Err(rx) => rx.await.unwrap_or(Err(ThrottleError::Stopped)),
        }
    }

    /// Delivers `msg` to `recipient` (`do_send`) when throttle `name` grants a permit; returns
    /// at once. Errors: `NoSuchThrottle`; `Stopped` if it is stopping.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # use actix::prelude::*;
    /// # #[derive(Message)] #[rtype(result = "()")] struct Ping;
    /// # struct Pong(tokio::sync::mpsc::UnboundedSender<()>);
    /// # impl Actor for Pong { type Context = Context<Self>; }
    /// # impl Handler<Ping> for Pong { type Result = (); fn handle(&mut self, _: Ping, _: &mut Context<Self>) { let _ = self.0.send(()); } }
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(60_000)).await.unwrap();
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// let addr = Pong(tx).start();
    /// t.send("n", addr.recipient(), Ping).unwrap();
    /// rx.recv().await.unwrap();
    /// # });
    /// ```
    pub fn send<M>(&self, name: &str, recipient: Recipient<M>, msg: M) -> Result<(), ThrottleError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let core = self.core(name)?;
        core.emit_request();
        if let Some(permit) = core.fast_permit() {
            recipient.do_send(msg);
            drop(permit);
            return Ok(());
        }
        core.local_shard().enqueue(
            &core,
            Waiter::Deliver(Box::new(move |permit| {
                recipient.do_send(msg);
                drop(permit);
            })),
        )
    }

    /// Runs `fut` on the caller's arbiter when throttle `name` grants a permit; returns a
    /// [`RunHandle`] at once (await it for the output, drop it to detach). In concurrency
    /// mode the permit is held until `fut` completes or panics. Errors: `NoSuchThrottle`,
    /// `NoRuntime`.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, RunError};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(600)).await.unwrap();
    /// let h = t.run("n", async { panic!("boom") }).unwrap();
    /// assert_eq!(h.await.map(|_: ()| ()), Err(RunError::Panicked("boom".into())));
    /// # });
    /// ```
    pub fn run<F>(&self, name: &str, fut: F) -> Result<RunHandle<F::Output>, ThrottleError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let core = self.core(name)?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ThrottleError::NoRuntime)?;
        core.emit_request();
        let granted = match core.fast_permit() {
            Some(p) => Ok(p),
            None => {
                let (tx, rx) = oneshot::channel();
                core.local_shard().enqueue(&core, Waiter::Wait(tx))?;
                Err(rx)
            }
        };
        let join = runtime.spawn(async move {
            let permit = match granted {
                Ok(p) => p,
                Err(rx) => rx.await.unwrap_or(Err(ThrottleError::Stopped))?,
            };
            let out = fut.await;
            drop(permit);
            Ok(out)
        });
        Ok(RunHandle { join })
    }

    async fn ask<M>(&self, name: &str, msg: M) -> Result<M::Result, ThrottleError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Owner: actix::Handler<M>,
    {
        let entry = self.entry(name)?;
        entry
            .owner
            .send(msg)
            .await
            .map_err(|_| ThrottleError::Stopped)
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
        let entry = self.entry(name)?;
        let config = config.validate()?;
        entry
            .owner
            .send(ChangeRate(config))
            .await
            .map_err(|_| ThrottleError::Stopped)?
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
        let entry = self.entry(name)?;
        let schedule = plan.resolve()?;
        entry
            .owner
            .send(Gradual(schedule))
            .await
            .map_err(|_| ThrottleError::Stopped)?
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

    /// Re-creates the owner actor of throttle `name` from its last configuration, as the
    /// throttles supervisor does after the owner crashed (SPEC 6.3): waiting requests fail
    /// with `Stopped`, a running gradual plan is cancelled (reported as a `process` warning),
    /// `init` and `rate` are emitted. Errors: `NoSuchThrottle`, `NoRuntime`.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, Rate};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(10)).await.unwrap();
    /// t.change_rate("n", ThrottleConfig::rate(20)).await.unwrap();
    /// t.restart("n").await.unwrap();
    /// assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(20));
    /// # });
    /// ```
    pub async fn restart(&self, name: &str) -> Result<(), ThrottleError> {
        if actix::System::try_current().is_none() {
            return Err(ThrottleError::NoRuntime);
        }
        let (core, old) = {
            let mut entry = self
                .inner
                .throttles
                .get_mut(name)
                .ok_or_else(|| ThrottleError::NoSuchThrottle(name.to_owned()))?;
            let core = entry.core.clone();
            let new = Owner::new(core.clone()).start();
            (core, std::mem::replace(&mut entry.owner, new))
        };
        // The old owner, if it still runs, must not step a plan any more.
        let had_plan = old.send(Cancel).await.unwrap_or(false);
        core.fail_waiting();
        core.configure(core.config());
        if had_plan {
            core.process("warning", "gradual plan cancelled", None);
        }
        self.inner
            .telemetry
            .execute_with(&names::THROTTLE_INIT, || {
                (
                    measurements! { "count" => 1u64 },
                    metadata! { "name" => name, "monotonic_time" => monotonic_time() },
                )
            });
        core.emit_rate(core.config(), None);
        Ok(())
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
