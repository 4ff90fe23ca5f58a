//! Cluster-wide throttles whose rate stays *home* on the master (too low to split: per-node
//! spacing over ~10 ms, see `amoc::cluster::home`): the node's local throttle stays at share
//! 0, so every request queues, and the worker's agent lets the queued requests through one
//! by one as the master grants permits.
//!
//! Guarantees:
//! * [`LeasedThrottles::grant_oldest`] grants exactly one request, the one queued longest
//!   over all arbiters (a withdrawn `wait` is skipped, never granted), with
//!   `granted_at = due_at = now`; it never grants more than one, and grants nothing on a
//!   paused or stopped throttle (the master's permit is then unused: the cluster's rate can
//!   only be under-shot).
//! * [`LeasedThrottles::demand`] is what the agent may ask the master for: the requests
//!   queued now (0 while paused).

use tokio::time::Instant;

use super::core::{PAUSED, STOPPED};
use super::{LeasedThrottles, Permit, ThrottleError};

impl LeasedThrottles {
    /// Grants the request of leased throttle `name` that has waited longest, now; `false`
    /// when none waits (or the throttle is paused or stopped). Errors: `NoSuchThrottle`
    /// when `name` is not (or no longer) leased.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// let leased = t.lease_shares();
    /// t.start("n", ThrottleConfig::rate(60)).await.unwrap(); // share 0: everything queues
    /// assert!(!leased.grant_oldest("n").unwrap());
    /// let waiter = { let t = t.clone(); actix_rt::spawn(async move { t.wait("n").await }) };
    /// leased.arrivals("n").await.unwrap();
    /// assert_eq!(leased.demand("n").unwrap(), 1);
    /// assert!(leased.grant_oldest("n").unwrap());
    /// assert!(waiter.await.unwrap().is_ok());
    /// # });
    /// ```
    pub fn grant_oldest(&self, name: &str) -> Result<bool, ThrottleError> {
        let core = self.leased_core(name)?;
        if core.state() == STOPPED || core.state() & PAUSED != 0 {
            return Ok(false);
        }
        loop {
            let oldest = core
                .shards_now()
                .into_iter()
                .filter_map(|s| s.oldest(&core).map(|at| (at, s)))
                .min_by_key(|(at, _)| *at);
            let Some((at, shard)) = oldest else {
                return Ok(false);
            };
            // Another caller may have taken it meanwhile: look again.
            let Some(waiter) = shard.take_oldest(&core, at) else {
                continue;
            };
            if waiter.is_gone() {
                continue;
            }
            let now = Instant::now();
            core.count_grants(1);
            waiter.grant(Permit::new(now, now, None));
            return Ok(true);
        }
    }

    /// The requests of leased throttle `name` queued now, over all arbiters (0 while
    /// paused): what the node may ask its master for. Errors: `NoSuchThrottle`.
    pub fn demand(&self, name: &str) -> Result<u64, ThrottleError> {
        let core = self.leased_core(name)?;
        if core.state() & PAUSED != 0 {
            return Ok(0);
        }
        Ok(core.waiting())
    }

    /// Completes when a request of leased throttle `name` queues (at once if one queued
    /// since the last call returned). Errors: `NoSuchThrottle`.
    pub async fn arrivals(&self, name: &str) -> Result<(), ThrottleError> {
        let core = self.leased_core(name)?;
        core.queued.notified().await;
        Ok(())
    }

    fn leased_core(&self, name: &str) -> Result<std::sync::Arc<super::core::Core>, ThrottleError> {
        if self.leases.declared(name).is_none() {
            return Err(ThrottleError::NoSuchThrottle(name.to_owned()));
        }
        self.throttles.core(name)
    }
}
