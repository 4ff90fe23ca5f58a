//! Cluster-wide throttles, the master's agent: it owns each throttle's rate and leases shares
//! of it to the workers ([`super::leases`] decides; this module talks).
//!
//! * **Which throttles.** Workers report the throttles they run in cluster mode (declared
//!   rate and interval, waiting, granted, missed, the last acknowledged order). The master
//!   learns a throttle from its first report; its rate is the lowest declared by an up node
//!   (never above what any node asked for), unless set on the master with
//!   [`ThrottleMaster::change_rate`]. Shares are counted in the interval first declared; a
//!   rate declared per another interval is converted (rounded down). A throttle stays on the
//!   master's books for the master's life (a node that stopped it has no demand: its share
//!   goes to the nodes that use it).
//! * **Concurrency limits** (interval 0) are leased the same way, in slot quotas
//!   ([`super::slots`]). A throttle keeps the kind (rate or concurrency) it was first reported
//!   with: a node reporting the other kind under the same name is counted as not running it.
//! * **Orders.** The [`ShareTable`] goes to every node each heartbeat and at once after any
//!   change; it names the up nodes whose leases it renews. Shares are keyed by
//!   `name@instance`, so a restarted node never inherits what its previous process may still
//!   be using.
//! * **Loss.** A node no longer up is left out of the renewals; its share is reused only
//!   after its last renewal + lease + interval + one heartbeat ([`super::liveness::reclaim_at`]).
//! * **Low rates.** At every rebalance [`HomeMaster`] places each throttle: a rate too low
//!   to split (per-node spacing over 10 ms, [`super::home`]) is parked (every node at share
//!   0) and granted per permit by the master's own throttle; the table marks it `home`.
//!
//! Shutdown: [`ThrottleMaster::shutdown`]; nodes then stop granting when their leases lapse.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::home_master::HomeMaster;
use super::lease_messages::{reports_subject, shares_subject, NodeShare, ShareTable};
use super::lease_messages::{TableEntry, ThrottleReport, ThrottleReports};
use super::leases::ClusterThrottle;
use super::liveness::reclaim_at;
use super::master::{Master, NodeState};
use super::transport::{Incoming, Transport, TransportError};
use super::ClusterConfig;
use crate::throttle::{Rate, ThrottleConfig, ThrottleError};

#[derive(Debug)]
struct Held {
    shares: ClusterThrottle,
    /// Declared (rate, interval ms) per node key.
    declared: BTreeMap<String, (u64, u64)>,
    /// Set on the master: overrides the declarations.
    fixed: Option<(u64, u64)>,
}

impl Held {
    /// The rate in the ledger's interval: the fixed one, or the lowest declared by an up node.
    fn effective(&self, up: &BTreeSet<String>) -> Option<u64> {
        let ms = u128::from(self.shares.interval().as_millis().max(1) as u64);
        let per_ledger = |(r, i): (u64, u64)| (u128::from(r) * ms / u128::from(i.max(1))) as u64;
        match self.fixed {
            Some(f) => Some(per_ledger(f)),
            None => self
                .declared
                .iter()
                .filter(|(k, _)| up.contains(*k))
                .map(|(_, d)| per_ledger(*d))
                .min(),
        }
    }

    fn sync_rate(&mut self, up: &BTreeSet<String>) {
        if let Some(r) = self.effective(up) {
            if r != self.shares.rate() {
                self.shares.set_rate(r);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Book {
    throttles: BTreeMap<String, Held>,
    /// When each node key was last renewed.
    renewed: BTreeMap<String, Instant>,
    lost: BTreeSet<String>,
}

#[derive(Debug)]
struct Inner {
    transport: Arc<dyn Transport>,
    cfg: ClusterConfig,
    master: Master,
    book: Mutex<Book>,
    stop: watch::Sender<bool>,
    /// Throttles too low to split: kept home (`super::home`).
    home: HomeMaster,
}

/// The master's throttle agent: cheap to clone.
#[derive(Debug, Clone)]
pub struct ThrottleMaster {
    inner: Arc<Inner>,
}

/// The key of a node in share tables: `name@instance`.
pub fn node_key(name: &str, instance: &str) -> String {
    format!("{name}@{instance}")
}

impl ThrottleMaster {
    /// Starts leasing the throttles the workers of `master` report; runs on the current
    /// tokio runtime (the cluster arbiter).
    pub async fn start(
        transport: Arc<dyn Transport>,
        cfg: ClusterConfig,
        master: Master,
    ) -> Result<ThrottleMaster, TransportError> {
        let reports = transport.subscribe(reports_subject(&cfg.cluster)).await?;
        let home = HomeMaster::start(transport.clone(), &cfg, master.clone()).await?;
        let inner = Arc::new(Inner {
            transport,
            cfg,
            master,
            book: Mutex::new(Book::default()),
            stop: watch::Sender::new(false),
            home,
        });
        let agent = ThrottleMaster { inner };
        tokio::spawn(agent.clone().serve(reports));
        Ok(agent)
    }

    /// Stops leasing (nodes stop granting when their leases lapse).
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        self.inner.home.shutdown();
    }

    /// The current orders, per throttle (what the next [`ShareTable`] says).
    pub fn shares(&self) -> BTreeMap<String, TableEntry> {
        table_entries(&crate::sync::lock(&self.inner.book), &self.inner.home)
    }

    /// Sets the cluster-wide rate of throttle `name` on the master (decreases are
    /// acknowledged before the increases they pay for), or its concurrency limit for a
    /// concurrency throttle. Errors: `NoSuchThrottle` (no node reported it), `InvalidConfig`
    /// (not finite, or not of the throttle's kind).
    pub async fn change_rate(
        &self,
        name: &str,
        config: ThrottleConfig,
    ) -> Result<(), ThrottleError> {
        let config = config.validate()?;
        let Rate::Finite(rate) = config.limit() else {
            return Err(ThrottleError::InvalidConfig(
                "a cluster throttle's rate is finite".into(),
            ));
        };
        {
            let up = self.up();
            let mut book = crate::sync::lock(&self.inner.book);
            let held = book
                .throttles
                .get_mut(name)
                .ok_or_else(|| ThrottleError::NoSuchThrottle(name.to_owned()))?;
            if held.shares.interval().is_zero() != config.interval().is_zero() {
                let why = format!("{name} is not a throttle of the kind of {config}");
                return Err(ThrottleError::InvalidConfig(why));
            }
            held.fixed = Some((rate, config.interval_ms()));
            held.sync_rate(&up);
            self.inner.home.rebalance(name, &mut held.shares, &up);
        }
        self.publish().await;
        Ok(())
    }

    fn up(&self) -> BTreeSet<String> {
        self.inner
            .master
            .status()
            .nodes
            .iter()
            .filter(|(_, n)| n.state == NodeState::Up)
            .map(|(name, n)| node_key(name, &n.instance))
            .collect()
    }

    async fn serve(self, mut reports: super::Inbox) {
        let mut stop = self.inner.stop.subscribe();
        let mut tick = tokio::time::interval(self.inner.cfg.heartbeat);
        loop {
            tokio::select! {
                () = super::stopped(&mut stop) => return,
                Some(m) = reports.next() => {
                    if self.on_report(&m) {
                        self.publish().await;
                    }
                }
                _ = tick.tick() => {
                    self.on_tick();
                    self.publish().await;
                }
            }
        }
    }

    /// Records a report; true if the orders changed.
    fn on_report(&self, m: &Incoming) -> bool {
        let Ok(r) = serde_json::from_slice::<ThrottleReports>(&m.payload) else {
            tracing::warn!("cluster: ignoring a malformed throttle report");
            return false;
        };
        if r.master != self.inner.master.instance() {
            return false;
        }
        let key = node_key(&r.name, &r.instance);
        let up = self.up();
        if !up.contains(&key) {
            return false;
        }
        let now = Instant::now();
        let mut book = crate::sync::lock(&self.inner.book);
        let mut changed = false;
        for (name, report) in &r.throttles {
            let held = book.throttles.entry(name.clone()).or_insert_with(|| {
                changed = true;
                // Interval 0: a concurrency limit.
                let interval = Duration::from_millis(report.interval_ms);
                Held {
                    shares: ClusterThrottle::new(report.rate, interval),
                    declared: BTreeMap::new(),
                    fixed: None,
                }
            });
            if held.shares.interval().is_zero() != report.is_concurrency() {
                tracing::warn!(throttle = %name, node = %key, "cluster: throttle of another kind");
                continue;
            }
            held.declared
                .insert(key.clone(), (report.rate, report.interval_ms));
            held.sync_rate(&up);
            held.shares.report(&key, now, report);
            changed |= self.inner.home.rebalance(name, &mut held.shares, &up);
        }
        for (name, held) in &mut book.throttles {
            let kind = |t: &ThrottleReport| t.is_concurrency() == held.shares.interval().is_zero();
            if r.throttles.get(name).is_some_and(kind) {
                continue;
            }
            held.declared.remove(&key);
            held.shares.absent(&key);
            if let Some(epoch) = r.released.get(name) {
                held.shares.ack(&key, *epoch);
            }
            held.sync_rate(&up);
            changed |= self.inner.home.rebalance(name, &mut held.shares, &up);
        }
        changed
    }

    /// Marks nodes no longer up as lost (reclaimed after their lease), reclaims, rebalances.
    fn on_tick(&self) {
        let up = self.up();
        let now = Instant::now();
        let cfg = &self.inner.cfg;
        let mut guard = crate::sync::lock(&self.inner.book);
        let book = &mut *guard;
        for (key, last) in &book.renewed {
            let gone = !up.contains(key);
            if gone && book.lost.insert(key.clone()) {
                for held in book.throttles.values_mut() {
                    let interval = held.shares.interval();
                    let at = reclaim_at(*last, cfg.lease, interval, cfg.heartbeat);
                    held.shares.node_lost(key, at);
                }
            } else if !gone && book.lost.remove(key) {
                for held in book.throttles.values_mut() {
                    held.shares.node_back(key);
                }
            }
        }
        let lease = cfg.lease + cfg.heartbeat;
        let forget: Vec<String> = book
            .lost
            .iter()
            .filter(|k| {
                let longest = book.throttles.values().map(|h| h.shares.interval()).max();
                book.renewed[*k] + lease + longest.unwrap_or_default() < now
            })
            .cloned()
            .collect();
        for (name, held) in &mut book.throttles {
            held.shares.reclaim_due(now);
            held.sync_rate(&up);
            self.inner.home.rebalance(name, &mut held.shares, &up);
        }
        for k in forget {
            book.lost.remove(&k);
            book.renewed.remove(&k);
        }
    }

    async fn publish(&self) {
        self.inner.home.apply().await;
        let up = self.up();
        let table = {
            let mut book = crate::sync::lock(&self.inner.book);
            let now = Instant::now();
            for k in &up {
                book.renewed.insert(k.clone(), now);
            }
            ShareTable {
                master: self.inner.master.instance().to_owned(),
                renews: up.into_iter().collect(),
                throttles: table_entries(&book, &self.inner.home),
            }
        };
        match serde_json::to_vec(&table) {
            Ok(bytes) => {
                let subject = shares_subject(&self.inner.cfg.cluster);
                if let Err(e) = self.inner.transport.publish(subject, bytes).await {
                    tracing::warn!("cluster: cannot publish the share table: {e}");
                }
            }
            Err(e) => tracing::error!("cluster: cannot encode the share table: {e}"),
        }
    }
}

fn table_entries(book: &Book, home: &HomeMaster) -> BTreeMap<String, TableEntry> {
    book.throttles
        .iter()
        .map(|(name, held)| {
            let ledger = held.shares.ledger();
            let shares = ledger
                .nodes()
                .filter_map(|n| ledger.order(n))
                .map(|o| {
                    let s = NodeShare {
                        share: o.share,
                        epoch: o.epoch,
                    };
                    (o.node, s)
                })
                .collect();
            let entry = TableEntry {
                rate: held.shares.rate(),
                interval_ms: held.shares.interval().as_millis() as u64,
                shares,
                home: home.is_home(name),
            };
            (name.clone(), entry)
        })
        .collect()
}
