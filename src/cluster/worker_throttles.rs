//! Cluster-wide throttles, the worker's agent: it applies the shares its master leases to
//! the node's leased throttles ([`LeasedThrottles`]) and reports their use.
//!
//! Guarantees:
//! * A leased throttle grants nothing before the first share table of the node's master that
//!   names this node (it starts at share 0, see `amoc::throttle` leasing).
//! * Each share applies on receipt, as a rate change of the local throttle (G1 for the share).
//! * A decrease is acknowledged (the order's epoch in the next report) only once one whole
//!   interval passed since it was applied, so the grants of any window that ends after the
//!   acknowledgement fit the lowered share.
//! * The node's lease lapses `lease` after the last table that renewed it, on this node's
//!   clock: every leased throttle then goes to share 0 on its own, whatever the master does.
//!   Tables of another master, or not naming this node's instance, are ignored.
//! * A throttle stopped and started again within one interval waits out that interval before
//!   using a share, so the old and the new throttle never add up in one window.
//!
//! * A throttle of the table that the node does not run is *released* in its reports (the
//!   last order's epoch, acknowledged as share 0) once it has not granted it for one interval.
//!
//! * A throttle the table marks `home` (too low to split) stays at share 0 here; while the
//!   lease holds, [`super::home_worker`] asks the master per permit for the requests waiting
//!   on it and lets them through one by one.
//! * A concurrency throttle (interval 0) has a slot quota instead of a share: a lowered
//!   quota is acknowledged once the node's permits out fit it (checked every
//!   [`SLOT_POLL`] while they do not), and a quota is not used while permits of a stopped
//!   throttle of the same name are still out ([`super::slots`]).
//!
//! Reports go out every heartbeat, at once when a leased throttle starts, stops or changes
//! its declared rate, and when an acknowledgement becomes due.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::home_worker::{self, Askable};
use super::lease_messages::ThrottleReports;
use super::lease_messages::{report_subject, shares_subject, ShareTable, ThrottleReport};
use super::master_throttles::node_key;
use super::transport::{Transport, TransportError};
use super::worker::WorkerState;
use super::ClusterConfig;
use crate::throttle::{LeasedThrottles, Rate, ThrottleConfig};

/// How often a node waiting for concurrency permits to come back checks them.
pub const SLOT_POLL: Duration = Duration::from_millis(20);

/// The worker's throttle agent.
#[derive(Debug)]
pub struct ThrottleWorker {
    stop: watch::Sender<bool>,
}

impl ThrottleWorker {
    /// Starts the agent of node `name` (instance `instance`, following the master named by
    /// `state`) over the leased throttles `leased`; runs on the current tokio runtime.
    pub async fn start(
        transport: Arc<dyn Transport>,
        cfg: ClusterConfig,
        name: &str,
        instance: &str,
        state: watch::Receiver<WorkerState>,
        leased: LeasedThrottles,
    ) -> Result<ThrottleWorker, TransportError> {
        let tables = transport.subscribe(shares_subject(&cfg.cluster)).await?;
        let stop = watch::Sender::new(false);
        let askable = watch::Sender::new(Askable::new());
        let (t, me) = (transport.clone(), (name, instance));
        let (rx, halt) = (askable.subscribe(), stop.subscribe());
        home_worker::spawn(t, cfg.clone(), me, leased.clone(), rx, halt);
        let agent = Agent {
            transport,
            subject: report_subject(&cfg.cluster, name),
            cfg,
            name: name.to_owned(),
            instance: instance.to_owned(),
            key: node_key(name, instance),
            state,
            leased,
            lease_until: None,
            table: None,
            local: BTreeMap::new(),
            askable,
            slots_out: BTreeSet::new(),
        };
        tokio::spawn(agent.run(tables, stop.subscribe()));
        Ok(ThrottleWorker { stop })
    }

    /// Ends the agent (the throttles keep their current shares).
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }
}

#[derive(Debug, Clone, Copy)]
struct Local {
    share: u64,
    interval: Duration,
    epoch: Option<u64>,
    /// Until when a decrease (or a restart) is not acknowledged / no share is used.
    settle_until: Option<Instant>,
}

struct Agent {
    transport: Arc<dyn Transport>,
    subject: String,
    cfg: ClusterConfig,
    name: String,
    instance: String,
    key: String,
    state: watch::Receiver<WorkerState>,
    leased: LeasedThrottles,
    lease_until: Option<Instant>,
    table: Option<ShareTable>,
    local: BTreeMap<String, Local>,
    /// The home throttles this node asks its master for, per permit (`home_worker`).
    askable: watch::Sender<Askable>,
    /// Concurrency throttles with more permits out than their quota (or out on a stopped
    /// throttle): checked every [`SLOT_POLL`].
    slots_out: BTreeSet<String>,
}

impl Agent {
    fn master(&self) -> Option<String> {
        match &*self.state.borrow() {
            WorkerState::Member { master } => Some(master.clone()),
            WorkerState::Joining { .. } => None,
        }
    }

    async fn run(mut self, mut tables: super::Inbox, mut stop: watch::Receiver<bool>) {
        let mut changes = self.leased.changes();
        let mut tick = tokio::time::interval(self.cfg.heartbeat);
        loop {
            let settle = self.local.values().filter_map(|l| l.settle_until).min();
            let lapse = self.lease_until;
            tokio::select! {
                biased;
                () = super::stopped(&mut stop) => return,
                Some(m) = tables.next() => {
                    if let Ok(t) = serde_json::from_slice::<ShareTable>(&m.payload) {
                        self.on_table(t).await;
                    }
                }
                Ok(()) = changes.changed() => {
                    changes.borrow_and_update();
                    self.sync().await;
                    self.report().await;
                }
                () = sleep_until(lapse), if lapse.is_some() => {
                    tracing::warn!("cluster: throttle lease lapsed; granting nothing");
                    self.lease_until = None;
                    self.leased.lapse();
                    self.sync().await;
                    self.report().await;
                }
                () = sleep_until(settle), if settle.is_some() => {
                    let now = Instant::now();
                    for l in self.local.values_mut() {
                        if l.settle_until.is_some_and(|t| t <= now) {
                            l.settle_until = None;
                        }
                    }
                    self.sync().await;
                    self.report().await;
                }
                () = tokio::time::sleep(SLOT_POLL), if !self.slots_out.is_empty() => {
                    if self.slots_back().await {
                        self.sync().await;
                        self.report().await;
                    }
                }
                _ = tick.tick() => self.report().await,
            }
        }
    }

    async fn on_table(&mut self, t: ShareTable) {
        if self.master().as_deref() != Some(t.master.as_str()) {
            return;
        }
        if t.renews.contains(&self.key) {
            let until = Instant::now() + self.cfg.lease;
            self.lease_until = Some(until);
            self.leased.renew_until(until);
        }
        self.table = Some(t);
        self.sync().await;
    }

    /// The share and order epoch the lease gives throttle `name` now.
    fn leased_share(&self, name: &str) -> Option<(u64, u64, Duration)> {
        if !self.lease_until.is_some_and(|u| u > Instant::now()) {
            return None;
        }
        let table = self.table.as_ref()?;
        let entry = table.throttles.get(name)?;
        let s = entry.shares.get(&self.key)?;
        Some((s.share, s.epoch, Duration::from_millis(entry.interval_ms)))
    }

    /// Applies the leased shares to the local throttles.
    async fn sync(&mut self) {
        let declared = self.leased.declared();
        let now = Instant::now();
        // Stopped throttles: remember the stop, so a restart waits out one interval.
        for (name, l) in &mut self.local {
            if !declared.contains_key(name) && l.share > 0 {
                l.share = 0;
                l.settle_until = Some(now + l.interval);
            }
        }
        for (name, config) in &declared {
            let kind = |l: &(u64, u64, Duration)| l.2.is_zero() == config.interval().is_zero();
            let leased = self.leased_share(name).filter(kind);
            let local = self.local.entry(name.clone()).or_insert(Local {
                share: 0,
                interval: config.interval(),
                epoch: None,
                settle_until: None,
            });
            let same = local.interval.is_zero() == config.interval().is_zero();
            let unleased = if same {
                local.interval
            } else {
                config.interval()
            };
            let (mut share, epoch, interval) =
                leased.unwrap_or((0, local.epoch.unwrap_or(0), unleased));
            if local.settle_until.is_some() && share > local.share {
                share = local.share;
            }
            if interval.is_zero() && self.leased.retired_in_flight(name) > 0 {
                share = 0;
            }
            if share != local.share || interval != local.interval {
                if share < local.share {
                    local.settle_until = Some(now + local.interval.max(interval));
                }
                match self.leased.apply(name, share, interval).await {
                    Ok(()) => {
                        local.share = share;
                        local.interval = interval;
                    }
                    Err(e) => {
                        tracing::warn!(throttle = %name, "cluster: cannot apply a share: {e}")
                    }
                }
            }
            if leased.is_some() {
                local.epoch = Some(epoch);
            }
        }
        let idle: Vec<String> = self
            .local
            .iter()
            .filter(|(n, l)| !declared.contains_key(*n) && l.settle_until.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        for n in idle {
            self.local.remove(&n);
        }
        let holds = self.lease_until.is_some_and(|u| u > now);
        let ask = home_worker::askable(self.table.as_ref(), holds, &declared);
        home_worker::publish(&self.askable, ask);
    }

    /// Throttles of the table this node does not run and has not granted for one interval:
    /// the epoch of their last order here.
    fn released(&self, declared: &BTreeMap<String, ThrottleConfig>) -> BTreeMap<String, u64> {
        let Some(table) = &self.table else {
            return BTreeMap::new();
        };
        table
            .throttles
            .iter()
            .filter(|(n, e)| {
                let kind = |d: &ThrottleConfig| d.interval().is_zero() == e.is_concurrency();
                !declared.get(*n).is_some_and(kind)
            })
            .filter(|(n, _)| {
                let quiet = |l: &Local| l.share == 0 && l.settle_until.is_none();
                self.local.get(*n).map_or(true, quiet) && self.leased.retired_in_flight(n) == 0
            })
            .filter_map(|(n, e)| e.shares.get(&self.key).map(|s| (n.clone(), s.epoch)))
            .collect()
    }

    /// Whether permits of a throttle of `slots_out` came back under its quota.
    async fn slots_back(&self) -> bool {
        for name in &self.slots_out {
            let quota = self.local.get(name).map_or(0, |l| l.share);
            let fit = match self.leased.usage(name).await {
                Ok(u) => super::slots::fits(u.in_flight, quota),
                Err(_) => self.leased.retired_in_flight(name) == 0,
            };
            if fit {
                return true;
            }
        }
        false
    }

    async fn report(&mut self) {
        let Some(master) = self.master() else {
            self.slots_out.clear();
            return;
        };
        let mut throttles = BTreeMap::new();
        let declared = self.leased.declared();
        let released = self.released(&declared);
        self.slots_out.clear();
        for name in self.table.iter().flat_map(|t| t.throttles.keys()) {
            if self.leased.retired_in_flight(name) > 0 {
                self.slots_out.insert(name.clone());
            }
        }
        for (name, config) in declared {
            let Ok(usage) = self.leased.usage(&name).await else {
                continue;
            };
            let local = self.local.get(&name);
            let acked = if config.is_concurrency() {
                // A quota is acknowledged once the permits out fit it.
                let fit = local.is_some_and(|l| super::slots::fits(usage.in_flight, l.share));
                if !fit {
                    self.slots_out.insert(name.clone());
                }
                local.filter(|_| fit).and_then(|l| l.epoch)
            } else {
                local
                    .filter(|l| l.settle_until.is_none())
                    .and_then(|l| l.epoch)
            };
            throttles.insert(name, report_of(&config, usage, acked));
        }
        let reports = ThrottleReports {
            name: self.name.clone(),
            instance: self.instance.clone(),
            master,
            throttles,
            released,
        };
        if let Ok(bytes) = serde_json::to_vec(&reports) {
            if let Err(e) = self.transport.publish(self.subject.clone(), bytes).await {
                tracing::warn!("cluster: cannot publish a throttle report: {e}");
            }
        }
    }
}

fn report_of(
    config: &ThrottleConfig,
    usage: crate::throttle::LeaseUsage,
    acked: Option<u64>,
) -> ThrottleReport {
    let rate = match config.limit() {
        Rate::Finite(r) => r,
        Rate::Unlimited => u64::MAX,
    };
    ThrottleReport {
        rate,
        interval_ms: config.interval_ms(),
        waiting: usage.waiting,
        granted: usage.granted,
        missed: usage.missed,
        acked,
        in_flight: usage.in_flight,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}
