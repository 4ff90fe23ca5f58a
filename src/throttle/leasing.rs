//! Cluster-wide throttles on a worker node: the hook that lets the cluster lease each
//! throttle's rate to this node in shares (SPEC 9, `docs/cluster.md`).
//!
//! Once [`Throttles::lease_shares`] was called (the worker does it before it joins), every
//! throttle started with a finite rate per interval or a concurrency limit (not unlimited) is
//! *leased*, the controller's reserved `user_rate` included (SPEC 9: it belongs to the
//! master's run, its rate is the cluster's total):
//!
//! * its configured rate is the **cluster total**: it is kept as the *declared* configuration
//!   (what `start` compares against for `AlreadyStarted`, what the worker reports to the
//!   master), while the local throttle runs at the node's **share**, starting at 0: a node
//!   grants nothing before the master leased it a share;
//! * the cluster agent sets the share with [`LeasedThrottles::apply`], a plain rate change of
//!   the local throttle, so the node enforces it exactly as a one-node throttle (G1 for the
//!   share); `pause`/`resume` keep working on top of it;
//! * `change_rate` to another limit of the same kind (rate per interval, or concurrency)
//!   changes the declared limit only (the master then re-splits it, decreases first); to the
//!   other kind it is refused (`InvalidConfig`: stop and start the throttle); to unlimited it
//!   leaves the cluster and applies locally; `change_rate_gradually` is refused (`InvalidPlan`);
//! * `info` shows the local throttle: its rate is the node's share;
//! * a leased concurrency throttle stopped while permits are still out is *retired*: its
//!   permits count in [`LeaseUsage::in_flight`] of that name until they are dropped, so the
//!   node never gives slots back (nor uses a new quota) while old permits still hold them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::core::Core;
use super::owner::ChangeRate;
use super::{Rate, ThrottleConfig, ThrottleError, Throttles};

/// The node's lease deadline, shared by its leased throttles: past it they grant nothing,
/// whatever share they hold, until renewed ([`LeasedThrottles::renew_until`]). No deadline
/// until the agent first renews or lapses it (a registry used without an agent).
#[derive(Debug)]
pub(crate) struct LeaseClock {
    base: Instant,
    /// Nanoseconds after `base`; 0: lapsed; `u64::MAX`: no deadline.
    until_ns: AtomicU64,
}

impl LeaseClock {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            until_ns: AtomicU64::new(u64::MAX),
        }
    }

    fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX - 1)
    }

    /// Whether the lease holds at `now`.
    pub(crate) fn valid_at(&self, now: Instant) -> bool {
        self.ns(now) < self.until_ns.load(Ordering::Acquire)
    }
}

/// The declared (cluster-total) configurations of the leased throttles of one registry.
#[derive(Debug)]
pub(super) struct Leases {
    declared: Mutex<BTreeMap<String, ThrottleConfig>>,
    /// Stopped leased concurrency throttles whose permits may still be out.
    retired: Mutex<BTreeMap<String, Vec<Arc<Core>>>>,
    /// Bumped on every declaration change, so the agent reports at once.
    changes: watch::Sender<u64>,
    pub(super) clock: Arc<LeaseClock>,
}

impl Leases {
    fn new() -> Self {
        Self {
            declared: Mutex::new(BTreeMap::new()),
            retired: Mutex::new(BTreeMap::new()),
            changes: watch::Sender::new(0),
            clock: Arc::new(LeaseClock::new()),
        }
    }

    pub(super) fn declared(&self, name: &str) -> Option<ThrottleConfig> {
        crate::sync::lock(&self.declared).get(name).copied()
    }

    pub(super) fn declare(&self, name: &str, config: ThrottleConfig) {
        crate::sync::lock(&self.declared).insert(name.to_owned(), config);
        self.changes.send_modify(|n| *n += 1);
    }

    pub(super) fn undeclare(&self, name: &str) {
        if crate::sync::lock(&self.declared).remove(name).is_some() {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// Keeps the core of stopped throttle `name` while it has concurrency permits out.
    pub(super) fn retire(&self, name: &str, core: &Arc<Core>) {
        if core.config().is_concurrency() && core.in_flight() > 0 {
            let mut retired = crate::sync::lock(&self.retired);
            retired
                .entry(name.to_owned())
                .or_default()
                .push(core.clone());
        }
    }

    /// Permits still out on the retired cores of `name` (forgetting the cores with none).
    fn retired_in_flight(&self, name: &str) -> u64 {
        let mut retired = crate::sync::lock(&self.retired);
        let Some(cores) = retired.get_mut(name) else {
            return 0;
        };
        cores.retain(|c| c.in_flight() > 0);
        let n = cores.iter().map(|c| c.in_flight()).sum();
        if cores.is_empty() {
            retired.remove(name);
        }
        n
    }
}

/// Whether a configuration is split over nodes: a finite rate per interval, or a
/// concurrency limit (interval 0).
pub(super) fn leasable(config: &ThrottleConfig) -> bool {
    matches!(config.limit(), Rate::Finite(_))
}

/// The local configuration a leased throttle starts with: nothing passes until leased (rate 0
/// per its interval, or a concurrency limit of 0).
pub(super) fn unleased(config: &ThrottleConfig) -> ThrottleConfig {
    ThrottleConfig::rate_per(0, config.interval())
}

/// The worker agent's handle on the leased throttles of one registry.
#[derive(Debug, Clone)]
pub struct LeasedThrottles {
    pub(super) throttles: Throttles,
    pub(super) leases: Arc<Leases>,
}

/// What a leased throttle reports to the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseUsage {
    /// Requests waiting now.
    pub waiting: u64,
    /// Permits granted since the local throttle started.
    pub granted: u64,
    /// Allowance missed since the local throttle started (share unused for lack of demand).
    pub missed: u64,
    /// Concurrency permits out now, including those of a stopped throttle of the same name
    /// (0 for a rate).
    pub in_flight: u64,
}

impl LeasedThrottles {
    /// The leased throttles running now, with their declared (cluster-total) configuration.
    pub fn declared(&self) -> BTreeMap<String, ThrottleConfig> {
        crate::sync::lock(&self.leases.declared).clone()
    }

    /// Changes whenever a leased throttle starts, stops or has its declared rate changed.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.leases.changes.subscribe()
    }

    /// Sets the node's share of throttle `name`: at most `share` permits per `interval` from
    /// now on (a rate change of the local throttle, SPEC 6.4 G1 for the share); interval 0:
    /// at most `share` permits out at once (slots already out stay out). Errors:
    /// `NoSuchThrottle` when it is not (or no longer) leased; `InvalidConfig` when `interval`
    /// is not of the declared kind (0 for a concurrency limit only).
    pub async fn apply(
        &self,
        name: &str,
        share: u64,
        interval: Duration,
    ) -> Result<(), ThrottleError> {
        let Some(declared) = self.leases.declared(name) else {
            return Err(ThrottleError::NoSuchThrottle(name.to_owned()));
        };
        if declared.interval().is_zero() != interval.is_zero() {
            return Err(ThrottleError::InvalidConfig(format!(
                "{name} is leased as {declared}, not per {} ms",
                interval.as_millis()
            )));
        }
        let config = ThrottleConfig::rate_per(share, interval).validate()?;
        self.throttles.ask(name, ChangeRate(config)).await?
    }

    /// Renews the node's lease until `until`: its leased throttles may grant their shares
    /// until then (the agent calls it on each renewal from its master).
    pub fn renew_until(&self, until: Instant) {
        let clock = &self.leases.clock;
        clock.until_ns.store(clock.ns(until), Ordering::Release);
        self.wake_all();
    }

    /// Ends the node's lease now: its leased throttles grant nothing until renewed, even
    /// before their shares are set to 0 (checked where permits are granted).
    pub fn lapse(&self) {
        self.leases.clock.until_ns.store(0, Ordering::Release);
    }

    /// Lets the waiters of every leased throttle ask again (after a renewal).
    fn wake_all(&self) {
        for name in crate::sync::lock(&self.leases.declared).keys() {
            if let Some(e) = self.throttles.inner.throttles.get(name) {
                e.core.changed.notify_waiters();
            }
        }
    }

    /// The waiting, granted and missed counts of throttle `name`, and its permits out.
    pub async fn usage(&self, name: &str) -> Result<LeaseUsage, ThrottleError> {
        let info = self.throttles.info(name).await?;
        Ok(LeaseUsage {
            waiting: info.waiting,
            granted: info.granted,
            missed: info.missed,
            in_flight: info.in_flight + self.leases.retired_in_flight(name),
        })
    }

    /// Concurrency permits still out on stopped throttles named `name` (see the module docs).
    pub fn retired_in_flight(&self, name: &str) -> u64 {
        self.leases.retired_in_flight(name)
    }
}

impl Throttles {
    /// Puts this registry in cluster mode (idempotent): from now on, throttles started with a
    /// finite rate per interval are leased (see [`LeasedThrottles`] and the module docs).
    /// Call it before any such throttle starts.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, Rate};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// let leased = t.lease_shares();
    /// t.start("n", ThrottleConfig::rate(600)).await.unwrap();
    /// assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(0)); // not leased yet
    /// leased.apply("n", 200, std::time::Duration::from_secs(60)).await.unwrap();
    /// assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(200));
    /// assert_eq!(leased.declared()["n"], ThrottleConfig::rate(600));
    /// # });
    /// ```
    pub fn lease_shares(&self) -> LeasedThrottles {
        let leases = self
            .inner
            .leases
            .get_or_init(|| Arc::new(Leases::new()))
            .clone();
        LeasedThrottles {
            throttles: self.clone(),
            leases,
        }
    }

    pub(super) fn leases(&self) -> Option<&Arc<Leases>> {
        self.inner.leases.get()
    }

    /// Whether a throttle started with `config` is leased (reserved names too: the
    /// controller's `user_rate` is the cluster's).
    pub(super) fn leased_start(&self, config: &ThrottleConfig) -> bool {
        self.leases().is_some() && leasable(config)
    }

    /// A `change_rate` of a leased throttle (or one becoming leased): `Some` when handled here.
    pub(super) async fn leased_change(
        &self,
        name: &str,
        config: ThrottleConfig,
    ) -> Option<Result<(), ThrottleError>> {
        let leases = self.leases()?.clone();
        let declared = leases.declared(name);
        if declared.is_none() && !self.leased_start(&config) {
            return None;
        }
        if !leasable(&config) {
            // Unlimited: per node, applied locally.
            leases.undeclare(name);
            self.set_core_lease(name, None);
            return None;
        }
        if declared.is_some_and(|d| d.interval().is_zero() != config.interval().is_zero()) {
            let why = format!("{name} is cluster-wide: stop and start it to change its kind");
            return Some(Err(ThrottleError::InvalidConfig(why)));
        }
        if declared == Some(config) {
            return Some(Ok(()));
        }
        if declared.is_none() {
            // Joining the cluster: nothing passes until leased.
            match self.ask(name, ChangeRate(unleased(&config))).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) | Err(e) => return Some(Err(e)),
            }
        }
        leases.declare(name, config);
        self.set_core_lease(name, Some(&leases.clock));
        Some(Ok(()))
    }

    /// Makes throttle `name`'s grants depend on the node's lease (`Some`), or not.
    pub(super) fn set_core_lease(&self, name: &str, clock: Option<&Arc<LeaseClock>>) {
        if let Some(e) = self.inner.throttles.get(name) {
            e.core.set_lease(clock);
        }
    }
}
