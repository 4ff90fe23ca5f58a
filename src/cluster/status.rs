//! What the master reports: the cluster's status, membership events and its errors.

use std::collections::BTreeMap;

use serde::Serialize;

use super::admission::Refusal;
use super::ids::SplitError;
use super::merge::NodeUsers;
use super::transport::TransportError;

/// Errors of master operations as a whole (per-node failures are in [`NodeResults`]).
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// Another master's heartbeat was heard on the cluster.
    #[error("the cluster already has a live master ({instance})")]
    OtherMaster {
        /// Its instance id.
        instance: String,
    },
    /// The messaging engine failed.
    #[error("cluster messaging failed")]
    Transport(#[from] TransportError),
    /// A run is going on (start) or none is (add, remove, update).
    #[error("{0}")]
    InvalidState(&'static str),
    /// The users could not be split.
    #[error(transparent)]
    Split(#[from] SplitError),
}

/// Whether a node is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Admitted and heard from.
    Up,
    /// Lost: silent, or gone from the messaging engine.
    Down,
    /// Expected (`AMOC_NODES`), not joined yet, within the connect timeout.
    Connecting,
    /// Expected (`AMOC_NODES`), not joined within the connect timeout.
    FailedToConnect,
}

/// What the master knows of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeInfo {
    /// Up or down.
    pub state: NodeState,
    /// Its instance id.
    pub instance: String,
    /// Its users at its last heartbeat (live users of a down node count as killed).
    pub users: NodeUsers,
}

/// A change of membership, for whoever prints or logs them.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterEvent {
    /// A worker was admitted (`rejoin`: its name was down before).
    Connected {
        /// Its name.
        node: String,
        /// Whether it had been a member before.
        rejoin: bool,
    },
    /// A worker was marked down.
    Down {
        /// Its name.
        node: String,
        /// Why.
        reason: String,
    },
    /// An expected worker did not join within the connect timeout.
    FailedToConnect {
        /// Its name.
        node: String,
    },
    /// A worker was refused.
    Refused {
        /// The name it gave.
        node: String,
        /// Why.
        refusal: Refusal,
    },
}

/// The cluster as the master sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterStatus {
    /// The scenario of the current or last run.
    pub scenario: Option<String>,
    /// Whether a run is going on.
    pub running: bool,
    /// The run's highest user id.
    pub highest_user_id: u64,
    /// Users by state, summed over nodes.
    pub users: NodeUsers,
    /// The run's settings, as last accepted by every node.
    pub settings: Vec<(String, crate::Value)>,
    /// Every node ever admitted.
    pub nodes: BTreeMap<String, NodeInfo>,
}
