//! Starting, stopping and re-creating throttles, and reserving names.

use dashmap::mapref::entry::Entry as MapEntry;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::watch;

use super::core::Core;
use super::handle::Entry;
use super::owner::{stop_core, Stop};
use super::supervision::OwnerState;
use super::{StartOutcome, ThrottleConfig, ThrottleError, Throttles};

/// The exclusive right to start and stop one throttle name (the controller's `user_rate`):
/// while it is held, [`Throttles::start`] and [`Throttles::stop`] of that name return
/// [`ThrottleError::Reserved`]; the holder uses [`Throttles::start_reserved`] and
/// [`Throttles::stop_reserved`].
///
/// ```
/// # use amoc::throttle::{ThrottleConfig, ThrottleError, Throttles};
/// # const USER_RATE: &str = "user_rate";
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
        self.start_as(name, config, None).await
    }

    /// [`start`](Self::start) of a reserved name, by the holder of its reservation.
    pub async fn start_reserved(
        &self,
        reservation: &Reservation,
        config: ThrottleConfig,
    ) -> Result<StartOutcome, ThrottleError> {
        self.start_as(&reservation.name, config, Some(reservation.token))
            .await
    }

    async fn start_as(
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
        // Started lazily here (not in `new`, which may run outside any arbiter).
        self.supervisor().await?;
        let leased = self.leased_start(&config);
        let entry = match self.inner.throttles.entry(name.to_owned()) {
            MapEntry::Occupied(e) => {
                let declared = self.leases().and_then(|l| l.declared(name));
                let current = declared.unwrap_or_else(|| e.get().core.config());
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
                let local = if leased {
                    super::leasing::unleased(&config)
                } else {
                    config
                };
                let entry = Entry {
                    core: Core::new(name, local, self.inner.telemetry.clone()),
                    id: self.inner.next_entry.fetch_add(1, Ordering::Relaxed),
                    owner: Arc::new(watch::channel(OwnerState::Starting).0),
                };
                v.insert(entry.clone());
                entry
            }
        };
        if leased {
            if let Some(l) = self.leases() {
                entry.core.set_lease(Some(&l.clock));
                l.declare(name, config);
            }
        }
        // The child's start function emits `init` and `rate`.
        if let Err(e) = self.start_owner_child(name, entry.id).await {
            self.inner
                .throttles
                .remove_if(name, |_, e| e.id == entry.id);
            entry.owner.send_replace(OwnerState::Gone);
            stop_core(&entry.core);
            if let Some(l) = self.leases() {
                l.undeclare(name);
            }
            return Err(e);
        }
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
            .ok_or_else(|| self.inner.missing(name))?;
        if let Some(l) = self.leases() {
            l.undeclare(name);
            l.retire(name, &entry.core);
        }
        // From now on no owner is (re-)created for this entry; the owner ends normally, so
        // the supervisor does not restart it.
        match entry.owner.send_replace(OwnerState::Gone) {
            OwnerState::Running(owner) if owner.send(Stop).await.is_ok() => {}
            // Not started yet, or crashed: stop the core here so that no waiter hangs.
            _ => stop_core(&entry.core),
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

    /// Re-creates the owner actor of throttle `name` from its last configuration, exactly as
    /// the `throttles` supervisor does after the owner crashed (SPEC 6.3), but without
    /// counting as a crash: waiting requests fail with `Stopped`, a running gradual plan is
    /// cancelled (reported as a `process` warning), `init` and `rate` are emitted. Errors:
    /// `NoSuchThrottle`, `NoRuntime`, `SupervisorDown`.
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
        let entry = self.entry(name)?;
        // The start function replaces the current owner (and tells it to stop normally).
        self.start_owner_child(name, entry.id).await
    }
}
