//! Cluster mode: one master drives a run, worker nodes run its users (SPEC section 9).
//!
//! Nodes are clients of a messaging engine (NATS in `amoc-actors`) behind the narrow
//! [`Transport`] boundary: request with a timeout, publish, subscribe. Everything that decides
//! is pure and tested without a network:
//! * [`ids`]: an add of n users gives each up worker, in name order, one contiguous block of
//!   `remaining ÷ remaining_workers` ids; removal splits the count the same way.
//! * [`admission`]: a worker joins when its build [`Fingerprint`] matches and its name is free.
//! * [`expected`]: the workers named in `AMOC_NODES`, reported `failed_to_connect` when they
//!   do not join in time.
//! * [`liveness`]: heartbeat counting (master side) and the master lease (worker side).
//! * [`shares`]: leasing a throttle's rate to nodes, Σ shares ≤ rate at every instant.
//! * [`merge`]: results per node, and the cluster's user counts.
//! * [`stats`]: a node's run statistics on the wire (lossless histograms), merged by the
//!   master for its summary and reports.
//! * [`leases`]: cluster-wide throttles: shares by demand, two-phase moves, reclaim of a lost
//!   node's share after its lease; [`ThrottleMaster`] and [`ThrottleWorker`] carry them
//!   ([`lease_messages`] on the wire).
//! * [`home`]: rates too low to split stay home on the master (hysteresis, safe switches);
//!   [`home_master`] grants them per permit, [`home_worker`] asks
//!   ([`home_messages`] on the wire).
//!
//! The agents: [`Master`] (admits workers, fans operations out, merges results, watches
//! heartbeats) and [`Worker`] (joins, obeys only its master, stops its run when its lease on
//! the master lapses). [`memory`] is an in-memory transport with injected delay, loss and
//! partitions, for tests under a paused clock.
//!
//! Guarantees and failure handling are on each agent; the subjects and the wire format are in
//! [`messages`] and `docs/cluster.md`.
//!
//! Events: `[amoc, cluster, connect_nodes]` when the master admits a worker,
//! `[amoc, cluster, nodedown]` when it marks one down, `[amoc, cluster, master_node_down]` on a
//! worker whose master is lost; each with `count` (nodes in the event) and metadata `nodes`
//! and `state`.

pub mod admission;
pub mod expected;
pub mod home;
pub mod home_master;
pub mod home_messages;
pub mod home_worker;
pub mod ids;
pub mod lease_messages;
pub mod leases;
pub mod liveness;
pub mod master;
pub mod master_throttles;
pub mod memory;
pub mod merge;
pub mod messages;
pub mod shares;
pub mod slots;
pub mod stats;
mod status;
pub mod transport;
pub mod worker;
pub mod worker_throttles;

use std::time::Duration;

pub use admission::{Fingerprint, Refusal};
pub use ids::IdBlock;
pub use master::{ClusterEvent, ClusterStatus, Master, MasterError, NodeInfo, NodeState};
pub use master_throttles::ThrottleMaster;
pub use merge::{NodeError, NodeResults, NodeUsers};
pub use messages::NodeStatus;
pub use transport::{Inbox, Incoming, Transport, TransportError};
pub use worker::{Worker, WorkerState};
pub use worker_throttles::ThrottleWorker;

use crate::telemetry::{EventName, Telemetry};
use crate::{event_name, measurements, metadata, Value};

/// `[amoc, cluster, connect_nodes]`: the master admitted a worker.
pub static CONNECT_NODES: EventName = event_name!(amoc, cluster, connect_nodes);
/// `[amoc, cluster, nodedown]`: the master marked a worker down.
pub static NODEDOWN: EventName = event_name!(amoc, cluster, nodedown);
/// `[amoc, cluster, master_node_down]`: a worker lost its master.
pub static MASTER_NODE_DOWN: EventName = event_name!(amoc, cluster, master_node_down);

/// The cluster's name and timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The cluster's name (`AMOC_CLUSTER`): several clusters can share one server.
    pub cluster: String,
    /// Heartbeat period, both ways (default 1 s).
    pub heartbeat: Duration,
    /// Silent heartbeat periods before a worker is marked down (default 5).
    pub missed_heartbeats: u32,
    /// How long a worker's lease on its master lasts without a master heartbeat (default 5 s).
    pub lease: Duration,
    /// How long the master waits for a worker's answer (default 5 s).
    pub request_timeout: Duration,
    /// How often the master pings each up worker (default 250 ms): a killed worker's
    /// subscription is gone at once, so the ping fails with no-responders and the worker is
    /// marked down within this period, long before its heartbeats are missed.
    pub ping: Duration,
    /// The workers the master expects (`AMOC_NODES`, see [`expected`]).
    pub nodes: Vec<String>,
    /// How long an expected worker may take to join before it is reported
    /// `failed_to_connect` (default 30 s).
    pub connect_timeout: Duration,
}

/// The cluster name used when `AMOC_CLUSTER` is not set.
pub const DEFAULT_CLUSTER: &str = "default";

impl ClusterConfig {
    /// The default timing for cluster `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            cluster: name.into(),
            heartbeat: Duration::from_secs(1),
            missed_heartbeats: 5,
            lease: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            ping: Duration::from_millis(250),
            nodes: Vec::new(),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// A new instance id: unique per process start (pid, wall clock, a counter).
fn new_instance_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{nanos:x}-{n}", std::process::id())
}

/// Emits a cluster event about one node.
fn emit(telemetry: &Telemetry, name: &'static EventName, node: &str, state: &str) {
    telemetry.execute_with(name, || {
        (
            measurements! { "count" => 1u64 },
            metadata! { "nodes" => Value::from(vec![Value::from(node)]), "state" => state },
        )
    });
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
