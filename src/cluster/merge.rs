//! Results of cluster operations, per node (SPEC 9): all succeeded → every node with its
//! value; otherwise the per-node errors. And the cluster's user counts, summed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why an operation failed on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum NodeError {
    /// The node is marked down (or answered with no responders).
    #[error("node down")]
    Down,
    /// No answer within the request timeout.
    #[error("timed out")]
    Timeout,
    /// The node refused the operation (its controller's reason).
    #[error("refused: {0}")]
    Refused(String),
    /// The messaging layer failed.
    #[error("transport: {0}")]
    Transport(String),
}

/// The outcome of one operation on every node it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeResults<T>(pub BTreeMap<String, Result<T, NodeError>>);

impl<T> Default for NodeResults<T> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<T> NodeResults<T> {
    /// Records `node`'s result.
    pub fn insert(&mut self, node: impl Into<String>, result: Result<T, NodeError>) {
        self.0.insert(node.into(), result);
    }

    /// Whether every node succeeded.
    pub fn all_ok(&self) -> bool {
        self.0.values().all(Result::is_ok)
    }

    /// All succeeded → every node's value; otherwise the errors only.
    pub fn merge(self) -> Result<BTreeMap<String, T>, BTreeMap<String, NodeError>> {
        if self.all_ok() {
            Ok(self
                .0
                .into_iter()
                .filter_map(|(n, r)| r.ok().map(|v| (n, v)))
                .collect())
        } else {
            Err(self
                .0
                .into_iter()
                .filter_map(|(n, r)| r.err().map(|e| (n, e)))
                .collect())
        }
    }
}

/// Users by state on one node: the controller's [`UserCounts`](crate::users::UserCounts), as
/// sent in heartbeats and summed over nodes.
pub type NodeUsers = crate::users::UserCounts;

impl NodeUsers {
    /// Users not ended yet.
    pub fn live(&self) -> u64 {
        self.waiting + self.running + self.stopping
    }

    /// The counts of a node that went down: its live users count as killed.
    pub fn lost(self) -> Self {
        Self {
            waiting: 0,
            running: 0,
            stopping: 0,
            killed: self.killed + self.live(),
            ..self
        }
    }

    /// The sum over nodes.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a NodeUsers>) -> Self {
        all.into_iter().fold(Self::default(), |a, b| a + *b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_ok_gives_every_value_otherwise_only_the_errors() {
        let mut r = NodeResults::default();
        r.insert("w1", Ok(1));
        r.insert("w2", Ok(2));
        assert_eq!(r.clone().merge().unwrap().len(), 2);
        r.insert("w3", Err(NodeError::Timeout));
        let errors = r.merge().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors["w3"], NodeError::Timeout);
    }

    #[test]
    fn a_lost_node_counts_its_live_users_killed() {
        let u = NodeUsers {
            waiting: 2,
            running: 5,
            stopping: 1,
            ended: 3,
            killed: 1,
            ..NodeUsers::default()
        };
        let lost = u.lost();
        assert_eq!(lost.live(), 0);
        assert_eq!(lost.killed, 9);
        assert_eq!(lost.ended, 3);
        let total = NodeUsers::sum([&lost, &u]);
        assert_eq!(total.killed, 10);
        assert_eq!(total.running, 5);
    }

    #[test]
    fn errors_serialize_with_their_kind() {
        let e = serde_json::to_value(NodeError::Refused("bad".into())).unwrap();
        assert_eq!(e, serde_json::json!({"error": "refused", "detail": "bad"}));
    }
}
