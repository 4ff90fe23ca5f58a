//! The messages of cluster-wide throttles, as serde JSON, and their subjects (cluster C):
//!
//! | subject | who → whom | content |
//! | --- | --- | --- |
//! | `amoc.C.shares` | master → all (publish, every heartbeat and on each change) | [`ShareTable`]: every throttle's rate and each node's share; renews the leases of the nodes it names |
//! | `amoc.C.tr.NAME` | worker → master (publish, every heartbeat, on each change and when an ack is due) | [`ThrottleReports`]: declared rate, waiting, granted, missed, in flight, acknowledged epoch |
//!
//! A concurrency throttle is one with `interval_ms` 0, as [`crate::throttle::ThrottleConfig`]
//! normalises it: its `rate` is the slot limit and a node's `share` its slot quota.
//!
//! A throttle kept home on the master ([`TableEntry::home`]) is asked for per permit on
//! `amoc.C.thr.NAME` ([`super::home_messages`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The master's share table subject of cluster `cluster`.
pub fn shares_subject(cluster: &str) -> String {
    format!("amoc.{cluster}.shares")
}

/// The throttle report subject of node `node` of cluster `cluster`.
pub fn report_subject(cluster: &str, node: &str) -> String {
    format!("amoc.{cluster}.tr.{node}")
}

/// Every node's throttle reports (a subscription).
pub fn reports_subject(cluster: &str) -> String {
    format!("amoc.{cluster}.tr.*")
}

/// One node's share of one throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeShare {
    /// Permits per interval.
    pub share: u64,
    /// The order's epoch (acknowledged by the node once its grants fit a lowered share).
    pub epoch: u64,
}

/// One throttle in the [`ShareTable`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    /// The cluster-wide rate per interval.
    pub rate: u64,
    /// The interval, in ms.
    pub interval_ms: u64,
    /// Each node's share.
    pub shares: BTreeMap<String, NodeShare>,
    /// Kept home on the master (`super::home`): nodes hold share 0 and ask per permit on
    /// `amoc.C.thr.NAME` ([`super::home_messages`]).
    #[serde(default)]
    pub home: bool,
}

impl TableEntry {
    /// A concurrency limit (interval 0): shares are slot quotas.
    pub fn is_concurrency(&self) -> bool {
        self.interval_ms == 0
    }
}

/// The master's share table: the orders, and the lease renewal of the nodes in `renews`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareTable {
    /// The master's instance id.
    pub master: String,
    /// The nodes whose leases this table renews (the up ones).
    pub renews: Vec<String>,
    /// The throttles.
    pub throttles: BTreeMap<String, TableEntry>,
}

/// What a node says about one leased throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleReport {
    /// The declared (cluster-wide) rate per interval.
    pub rate: u64,
    /// The declared interval, in ms.
    pub interval_ms: u64,
    /// Requests waiting now.
    pub waiting: u64,
    /// Permits granted since the local throttle started.
    pub granted: u64,
    /// Allowance missed since the local throttle started.
    pub missed: u64,
    /// The epoch of the last order whose share the node's grants in the last interval fit
    /// (a concurrency throttle: whose quota its permits out fit).
    pub acked: Option<u64>,
    /// Concurrency permits out when the report was made (0 for a rate).
    #[serde(default)]
    pub in_flight: u64,
}

impl ThrottleReport {
    /// A concurrency limit (interval 0): `rate` is the declared slot limit.
    pub fn is_concurrency(&self) -> bool {
        self.interval_ms == 0
    }
}

/// A node's reports on its leased throttles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleReports {
    /// The node's name.
    pub name: String,
    /// Its instance id.
    pub instance: String,
    /// The master it follows.
    pub master: String,
    /// Per throttle.
    pub throttles: BTreeMap<String, ThrottleReport>,
    /// Throttles of the share table this node does not run and has not granted for one
    /// interval, with the epoch of its last order: acknowledged as share 0.
    #[serde(default)]
    pub released: BTreeMap<String, u64>,
}
