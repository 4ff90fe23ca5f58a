//! The messages nodes exchange, as serde JSON (so `nats sub 'amoc.>'` shows a run), and the
//! subjects they travel on (cluster name C): see `docs/cluster.md`.

use serde::{Deserialize, Serialize};

use super::admission::{Fingerprint, Refusal};
use super::ids::IdBlock;
use super::merge::NodeUsers;
use super::stats::NodeStats;
use crate::Value;

/// The subjects of cluster `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// The subjects of the cluster named `cluster` (a NATS subject token).
    pub fn new(cluster: &str) -> Self {
        Self {
            prefix: format!("amoc.{cluster}"),
        }
    }

    /// Worker → master requests to join.
    pub fn hello(&self) -> String {
        format!("{}.hello", self.prefix)
    }

    /// Master → worker `node` control requests.
    pub fn ctl(&self, node: &str) -> String {
        format!("{}.node.{node}.ctl", self.prefix)
    }

    /// Worker `node` → master heartbeats.
    pub fn heartbeat(&self, node: &str) -> String {
        format!("{}.hb.{node}", self.prefix)
    }

    /// Every worker's heartbeats (a subscription).
    pub fn heartbeats(&self) -> String {
        format!("{}.hb.*", self.prefix)
    }

    /// Master → all heartbeats.
    pub fn master_heartbeat(&self) -> String {
        format!("{}.master.hb", self.prefix)
    }
}

/// A worker asks to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Its node name.
    pub name: String,
    /// Its instance id (new at each process start).
    pub instance: String,
    /// Its build.
    pub fingerprint: Fingerprint,
}

/// The master's answer to a [`Hello`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelloReply {
    /// Admitted by the master with this instance id.
    Admitted {
        /// The master's instance id: the only one this worker takes commands from.
        master: String,
        /// The run going on, which the worker joins at once (users come with the next add).
        run: Option<RunSpec>,
    },
    /// Refused, with the reason.
    Refused(Refusal),
}

/// A run: its scenario and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The scenario.
    pub scenario: String,
    /// Its settings.
    pub settings: Vec<(String, Value)>,
}

/// An operation the master asks of a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Start the run of `scenario` with `settings`.
    StartScenario {
        /// The scenario.
        scenario: String,
        /// Its settings.
        settings: Vec<(String, Value)>,
    },
    /// Add the users of `block`.
    AddUsers {
        /// Their ids.
        block: IdBlock,
    },
    /// Remove `count` users.
    RemoveUsers {
        /// How many.
        count: u64,
        /// Abort them after the removal grace.
        force: bool,
    },
    /// Change settings.
    UpdateSettings {
        /// The changes.
        settings: Vec<(String, Value)>,
    },
    /// Stop the run.
    StopScenario,
    /// Report the node's status.
    Status,
    /// Answer at once (the master's liveness probe: no-responders means the node is gone).
    Ping,
    /// Send the run's statistics so far.
    Stats,
}

/// A control request: the operation, fenced by the master's instance id and numbered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ctl {
    /// The sending master's instance id.
    pub master: String,
    /// The master's operation number (a repeat of the same number is answered from cache).
    pub seq: u64,
    /// The operation.
    pub op: Op,
}

/// A worker's status, as `GET /status/{node}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The controller's state (`idle`, `running`, ...).
    pub status: String,
    /// The scenario of the current or last run.
    pub scenario: Option<String>,
    /// The highest user id used on the node.
    pub highest_user_id: u64,
    /// Users by state.
    pub users: NodeUsers,
    /// Why the last start failed.
    pub error: Option<String>,
}

/// What an operation did on a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// Started, updated.
    Ok,
    /// Users added.
    Added(IdBlock),
    /// Users newly selected for removal.
    Removed(u64),
    /// Stop: `finished` or `terminating`.
    Stopped(String),
    /// The status.
    Status(NodeStatus),
    /// The run's statistics so far.
    Stats(NodeStats),
}

/// A worker's answer to a [`Ctl`]: what it did, or why it refused.
pub type CtlReply = Result<Done, String>;

/// A worker's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Its name.
    pub name: String,
    /// Its instance id.
    pub instance: String,
    /// The master it follows (`None` while joining).
    pub master: Option<String>,
    /// Users by state.
    pub users: NodeUsers,
}

/// The master's heartbeat: renews every worker's lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterHeartbeat {
    /// The master's instance id.
    pub instance: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_are_readable_json() {
        let ctl = Ctl {
            master: "m1".into(),
            seq: 3,
            op: Op::AddUsers {
                block: IdBlock { first: 1, last: 5 },
            },
        };
        let json = serde_json::to_string(&ctl).unwrap();
        assert_eq!(
            json,
            r#"{"master":"m1","seq":3,"op":{"op":"add_users","block":{"first":1,"last":5}}}"#
        );
        assert_eq!(serde_json::from_str::<Ctl>(&json).unwrap(), ctl);
        let s = Subjects::new("c1");
        assert_eq!(s.ctl("w1"), "amoc.c1.node.w1.ctl");
        assert_eq!(s.heartbeats(), "amoc.c1.hb.*");
    }
}
