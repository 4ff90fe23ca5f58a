//! Cluster-wide throttles, the master's arithmetic (pure; time comes in as instants).
//!
//! The master owns each throttle's rate `r` per interval `I` and leases it to nodes in shares
//! through a [`ShareLedger`], so Σ committed shares ≤ r at every instant (after a rate
//! decrease: until the nodes acknowledged, as a window spanning a change on one node holds
//! max(r_old, r_new)). A [`ClusterThrottle`] adds what the ledger does not know:
//!
//! * **Demand.** Each node reports, per throttle, its waiting count and its cumulative
//!   granted and missed counts. A node is *backlogged* when requests wait or it used its whole
//!   share (grants, nothing missed); its need is then unbounded. Otherwise it needs what it
//!   used per interval plus a quarter and one permit. Unknown nodes (no report yet) count as
//!   backlogged, so a new throttle starts split evenly.
//! * **Allocation** ([`fair_split`]): max-min fair (water-filling) over the needs; rate left
//!   once every need is met is spread evenly, so no rate is kept idle on the master.
//! * **Moves.** Decreases are planned (two-phase, through the ledger) only when the targets
//!   differ from the current orders by more than 5 % of the rate, or a node with a positive
//!   target has share 0, and never while an up node's decrease awaits its ack (so acks can
//!   catch up). Raises use only free rate and happen at every rebalance.
//! * **Loss.** A lost node keeps its committed share until `reclaim_at` (its last renewal +
//!   lease + I + margin, [`super::liveness::reclaim_at`]); a node back before then keeps it.
//!
//! * **Parked.** A rate kept home on the master ([`super::home`]) is *parked*: every up
//!   node is lowered to share 0 (two-phase, as any decrease) and nothing is raised.
//!
//! A concurrency limit (interval 0) is leased the same way in slot quotas; its own rules
//! (ack once the permits out fit, demand from permits out and waiting) are in
//! [`super::slots`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use super::lease_messages::ThrottleReport;
use super::shares::{proportional, ShareLedger};

/// Splits `rate` over the nodes of `needs` max-min fairly (`None`: unbounded need); what is
/// left once every need is met is spread evenly. Sums to exactly `rate` (when any node).
pub fn fair_split(rate: u64, needs: &BTreeMap<String, Option<u64>>) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = needs.keys().map(|n| (n.clone(), 0)).collect();
    let mut open: BTreeSet<String> = needs.keys().cloned().collect();
    let mut left = rate;
    while left > 0 && !open.is_empty() {
        let even: BTreeMap<String, u64> = open.iter().map(|n| (n.clone(), 0)).collect();
        let each = proportional(left, &even);
        let capped: Vec<(String, u64)> = open
            .iter()
            .filter_map(|n| {
                let cap = needs[n]?.saturating_sub(out[n]);
                (cap <= each[n]).then(|| (n.clone(), cap))
            })
            .collect();
        if capped.is_empty() {
            for (n, s) in each {
                *out.entry(n).or_default() += s;
            }
            left = 0;
            break;
        }
        for (n, cap) in capped {
            *out.entry(n.clone()).or_default() += cap;
            left -= cap;
            open.remove(&n);
        }
    }
    if left > 0 && !out.is_empty() {
        let even: BTreeMap<String, u64> = out.keys().map(|n| (n.clone(), 0)).collect();
        for (n, s) in proportional(left, &even) {
            *out.entry(n).or_default() += s;
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    granted: u64,
    missed: u64,
    at: Instant,
}

/// One throttle's shares on the master (see the module docs).
#[derive(Debug, Clone)]
pub struct ClusterThrottle {
    ledger: ShareLedger,
    interval: Duration,
    needs: BTreeMap<String, Option<u64>>,
    seen: BTreeMap<String, Seen>,
    lost: BTreeMap<String, Instant>,
    parked: bool,
}

impl ClusterThrottle {
    /// `rate` per `interval` (interval 0: a concurrency limit of `rate`), no shares yet.
    pub fn new(rate: u64, interval: Duration) -> Self {
        Self {
            ledger: ShareLedger::new(rate),
            interval,
            needs: BTreeMap::new(),
            seen: BTreeMap::new(),
            lost: BTreeMap::new(),
            parked: false,
        }
    }

    /// Parks the rate (every node to share 0, nothing raised) or unparks it.
    pub fn park(&mut self, parked: bool) {
        self.parked = parked;
    }

    /// The rate (per [`ClusterThrottle::interval`]).
    pub fn rate(&self) -> u64 {
        self.ledger.rate()
    }

    /// The interval shares are counted in.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The ledger (Σ committed, per-node orders).
    pub fn ledger(&self) -> &ShareLedger {
        &self.ledger
    }

    /// Changes the rate (decreases take effect through acknowledged lowers).
    pub fn set_rate(&mut self, rate: u64) {
        self.ledger.set_rate(rate);
    }

    /// A report of `node` received at `now`: its acknowledgement and its demand.
    pub fn report(&mut self, node: &str, now: Instant, r: &ThrottleReport) {
        if self.interval.is_zero() {
            let need = super::slots::on_report(&mut self.ledger, node, r);
            self.needs.insert(node.to_owned(), Some(need));
            return;
        }
        if let Some(epoch) = r.acked {
            self.ledger.ack(node, epoch);
        }
        let prev = self.seen.insert(
            node.to_owned(),
            Seen {
                granted: r.granted,
                missed: r.missed,
                at: now,
            },
        );
        let Some(prev) = prev else { return };
        // Counters going back: the local throttle was restarted.
        let granted = r.granted.checked_sub(prev.granted).unwrap_or(r.granted);
        let missed = r.missed.checked_sub(prev.missed).unwrap_or(r.missed);
        let period = now.saturating_duration_since(prev.at);
        let backlogged = r.waiting > 0 || (granted > 0 && missed == 0);
        let need = if backlogged || period.is_zero() {
            None
        } else {
            let per_interval =
                u128::from(granted) * self.interval.as_nanos() / period.as_nanos().max(1);
            let used = u64::try_from(per_interval).unwrap_or(u64::MAX);
            Some(used.saturating_add(used / 4).saturating_add(1))
        };
        self.needs.insert(node.to_owned(), need);
    }

    /// `node` acknowledged order `epoch` (it does not run the throttle, see
    /// [`super::lease_messages::ThrottleReports::released`]).
    pub fn ack(&mut self, node: &str, epoch: u64) {
        self.ledger.ack(node, epoch);
    }

    /// `node` reported without this throttle (stopped there, or never started): no demand.
    pub fn absent(&mut self, node: &str) {
        self.needs.insert(node.to_owned(), Some(0));
        self.seen.remove(node);
    }

    /// `node` was marked down; its share is reused from `reclaim_at` on.
    pub fn node_lost(&mut self, node: &str, reclaim_at: Instant) {
        self.lost.insert(node.to_owned(), reclaim_at);
        self.needs.remove(node);
        self.seen.remove(node);
    }

    /// `node` is up again: a share it still holds stays its own.
    pub fn node_back(&mut self, node: &str) {
        self.lost.remove(node);
    }

    /// Frees the shares of lost nodes whose time came; true if any.
    pub fn reclaim_due(&mut self, now: Instant) -> bool {
        let due: Vec<String> = self
            .lost
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for n in &due {
            self.lost.remove(n);
            self.ledger.reclaim(n);
        }
        !due.is_empty()
    }

    /// Moves the shares of the `up` nodes toward their demand (see the module docs); true if
    /// any order changed.
    pub fn rebalance(&mut self, up: &BTreeSet<String>) -> bool {
        if self.parked {
            let lower: Vec<String> = up
                .iter()
                .filter(|n| self.ledger.committed(n) > 0 && !self.ledger.is_lowering(n))
                .cloned()
                .collect();
            for n in &lower {
                self.ledger.lower(n, 0);
            }
            return !lower.is_empty();
        }
        let needs: BTreeMap<String, Option<u64>> = up
            .iter()
            .map(|n| (n.clone(), self.needs.get(n).copied().flatten()))
            .map(|(n, need)| {
                let known = self.needs.contains_key(&n);
                (n, if known { need } else { None })
            })
            .collect();
        let targets = fair_split(self.rate(), &needs);
        let share = |l: &ShareLedger, n: &str| l.order(n).map_or(0, |o| o.share);
        let drift: u64 = targets
            .iter()
            .map(|(n, t)| t.abs_diff(share(&self.ledger, n)))
            .sum();
        let starved = targets
            .iter()
            .any(|(n, t)| *t > 0 && share(&self.ledger, n) == 0);
        let pending = up.iter().any(|n| self.ledger.is_lowering(n));
        let over = self.ledger.committed_total() > self.rate();
        let mut changed = false;
        if !pending && (starved || over || drift.saturating_mul(20) > self.rate()) {
            // Nodes not up keep their share (they cannot ack); they are reclaimed instead.
            let mut all = targets.clone();
            for n in self.ledger.nodes() {
                if !up.contains(n) {
                    all.insert(n.to_owned(), self.ledger.committed(n));
                }
            }
            changed |= !self.ledger.plan(&all).lowers.is_empty();
        }
        for (n, t) in &targets {
            let committed = self.ledger.committed(n);
            if *t > committed && !self.ledger.is_lowering(n) {
                let to = (*t).min(committed + self.ledger.free());
                if to > committed && self.ledger.raise(n, to).is_ok() {
                    changed = true;
                }
            }
        }
        changed
    }
}

#[cfg(test)]
#[path = "leases_tests.rs"]
mod tests;
