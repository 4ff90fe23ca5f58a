//! Leasing one throttle's rate to nodes in shares whose sum never exceeds the rate.
//!
//! The master keeps, per node, the share the node may be using (`committed`). Moving rate
//! between nodes is two-phase: a decrease is sent first and the node may apply it at once,
//! but the master keeps counting the old, higher share until the node acknowledges that its
//! grants fit the new one; only then is the freed rate handed out. So at every instant
//! Σ committed ≤ rate, and each node's actual share is ≤ its committed share. A lost node's
//! share stays committed until its lease lapsed ([`super::liveness::reclaim_at`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An order to a node: use at most `share` per interval (epoch orders them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareOrder {
    /// The node.
    pub node: String,
    /// Its new share.
    pub share: u64,
    /// Increases with each order of this ledger; an ack names the epoch it confirms.
    pub epoch: u64,
}

/// Why a share change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The increase would make Σ committed exceed the rate.
    #[error("raising {node} to {to} would exceed the rate {rate} ({free} free)")]
    WouldExceed {
        /// The node.
        node: String,
        /// The share asked for.
        to: u64,
        /// The rate.
        rate: u64,
        /// What is free now.
        free: u64,
    },
    /// A raise was asked while a decrease of the same node awaits its ack.
    #[error("{0} has a decrease awaiting its acknowledgement")]
    Pending(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// What the master counts against the rate.
    committed: u64,
    /// A decrease sent, not yet acknowledged: (new share, epoch).
    lowering: Option<(u64, u64)>,
    /// The epoch of the last order to the node.
    epoch: u64,
}

/// The shares of one throttle's rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLedger {
    rate: u64,
    epoch: u64,
    slots: BTreeMap<String, Slot>,
}

/// The orders that move the shares toward a target: send `lowers` at once; send `raises`
/// (through [`ShareLedger::raise`]) after the lowers were acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Decreases, sent first.
    pub lowers: Vec<ShareOrder>,
    /// Increases `(node, share)` to ask for once the decreases are acknowledged.
    pub raises: Vec<(String, u64)>,
}

impl ShareLedger {
    /// A ledger for `rate` with no shares.
    pub fn new(rate: u64) -> Self {
        Self {
            rate,
            epoch: 0,
            slots: BTreeMap::new(),
        }
    }

    /// The rate.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Σ committed shares (never above the rate).
    pub fn committed_total(&self) -> u64 {
        self.slots.values().map(|s| s.committed).sum()
    }

    /// What `node` counts against the rate.
    pub fn committed(&self, node: &str) -> u64 {
        self.slots.get(node).map_or(0, |s| s.committed)
    }

    /// Rate free to hand out now.
    pub fn free(&self) -> u64 {
        self.rate.saturating_sub(self.committed_total())
    }

    fn next_epoch(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// Lowers `node` to `to` (no-op order if already there): the node may apply it at once;
    /// the old share stays committed until [`ShareLedger::ack`].
    pub fn lower(&mut self, node: &str, to: u64) -> ShareOrder {
        let epoch = self.next_epoch();
        let slot = self.slots.entry(node.to_owned()).or_insert(Slot {
            committed: 0,
            lowering: None,
            epoch,
        });
        let to = to.min(slot.committed);
        slot.lowering = Some((to, epoch));
        slot.epoch = epoch;
        ShareOrder {
            node: node.to_owned(),
            share: to,
            epoch,
        }
    }

    /// The node confirmed its grants fit the share of order `epoch`: the difference is free.
    /// An ack of an older order is ignored.
    pub fn ack(&mut self, node: &str, epoch: u64) {
        if let Some(slot) = self.slots.get_mut(node) {
            if let Some((to, e)) = slot.lowering {
                if e == epoch {
                    slot.committed = to;
                    slot.lowering = None;
                }
            }
        }
    }

    /// Raises `node` to `to`, committed at once, if the rate allows it.
    pub fn raise(&mut self, node: &str, to: u64) -> Result<ShareOrder, ShareError> {
        let current = self.slots.get(node).copied();
        if current.is_some_and(|s| s.lowering.is_some()) {
            return Err(ShareError::Pending(node.to_owned()));
        }
        let committed = current.map_or(0, |s| s.committed);
        let extra = to.saturating_sub(committed);
        if extra > self.free() {
            return Err(ShareError::WouldExceed {
                node: node.to_owned(),
                to,
                rate: self.rate,
                free: self.free(),
            });
        }
        let epoch = self.next_epoch();
        self.slots.insert(
            node.to_owned(),
            Slot {
                committed: committed.max(to),
                lowering: None,
                epoch,
            },
        );
        Ok(ShareOrder {
            node: node.to_owned(),
            share: committed.max(to),
            epoch,
        })
    }

    /// The order `node` should be following now: its lowered share while a decrease awaits
    /// its ack, else its committed share (`None` for a node without a slot).
    pub fn order(&self, node: &str) -> Option<ShareOrder> {
        self.slots.get(node).map(|s| {
            let (share, epoch) = s.lowering.unwrap_or((s.committed, s.epoch));
            ShareOrder {
                node: node.to_owned(),
                share,
                epoch,
            }
        })
    }

    /// Whether a decrease of `node` awaits its acknowledgement.
    pub fn is_lowering(&self, node: &str) -> bool {
        self.slots.get(node).is_some_and(|s| s.lowering.is_some())
    }

    /// The nodes with a slot (a share, possibly 0).
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.slots.keys().map(String::as_str)
    }

    /// Changes the rate. An increase is free at once; after a decrease Σ committed may exceed
    /// the new rate until the nodes acknowledged lower shares (as a window spanning a change
    /// on one node holds at most max(r_old, r_new), SPEC 6.4 G1); nothing is raised before.
    pub fn set_rate(&mut self, rate: u64) {
        self.rate = rate;
    }

    /// Frees the share of a node whose lease has lapsed (see the module docs).
    pub fn reclaim(&mut self, node: &str) {
        self.slots.remove(node);
    }

    /// The orders that move toward `targets` (nodes not named go to 0): decreases now,
    /// increases after their acks.
    pub fn plan(&mut self, targets: &BTreeMap<String, u64>) -> Plan {
        let mut plan = Plan::default();
        let nodes: Vec<String> = self.slots.keys().chain(targets.keys()).cloned().collect();
        let mut seen = std::collections::BTreeSet::new();
        for node in nodes {
            if !seen.insert(node.clone()) {
                continue;
            }
            let target = targets.get(&node).copied().unwrap_or(0);
            let committed = self.committed(&node);
            if target < committed {
                plan.lowers.push(self.lower(&node, target));
            } else if target > committed {
                plan.raises.push((node, target));
            }
        }
        plan
    }
}

/// Splits `rate` over nodes in proportion to `demand` (largest remainder; all equal when no
/// demand at all), summing to exactly `rate`.
pub fn proportional(rate: u64, demand: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    if demand.is_empty() {
        return BTreeMap::new();
    }
    let total: u128 = demand.values().map(|&d| u128::from(d)).sum();
    let weights: Vec<(&String, u128)> = demand
        .iter()
        .map(|(n, &d)| (n, if total == 0 { 1 } else { u128::from(d) }))
        .collect();
    let sum_w: u128 = weights.iter().map(|(_, w)| w).sum();
    let mut out: Vec<(String, u64, u128)> = weights
        .iter()
        .map(|(n, w)| {
            let exact = u128::from(rate) * w;
            ((*n).clone(), (exact / sum_w) as u64, exact % sum_w)
        })
        .collect();
    let given: u64 = out.iter().map(|(_, s, _)| s).sum();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| out[b].2.cmp(&out[a].2).then(a.cmp(&b)));
    for &i in order.iter().take((rate - given) as usize) {
        out[i].1 += 1;
    }
    out.into_iter().map(|(n, s, _)| (n, s)).collect()
}

#[cfg(test)]
#[path = "shares_tests.rs"]
mod tests;
