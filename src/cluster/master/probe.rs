//! The master's probes: pings to every up worker (a killed worker's subscription is gone, so
//! the ping fails with no-responders and the worker is marked down within one ping period
//! and the confirmation, ≈ 2 × 250 ms by default), and the deadline of the workers
//! `AMOC_NODES` expects.
//!
//! No-responders is confirmed before a node is marked down: when a NATS server of a cluster
//! dies, the nodes connected to it reconnect to another one within milliseconds, and a
//! request in that gap meets no-responders although the node is fine.

use std::time::Duration;

use super::*;

/// Probes that must all meet no-responders before a node is declared gone.
const CONFIRM_PROBES: u32 = 3;

impl Master {
    /// Pings every up worker, each on its own task (never delaying the master's loop).
    /// Only no-responders counts: `call` marks such a worker down; a slow answer or a
    /// timeout is left to the heartbeats.
    pub(super) fn ping_all(&self) {
        for node in self.up_nodes() {
            let master = self.clone();
            tokio::spawn(async move {
                let _ = master.call(&node, Op::Ping).await;
            });
        }
    }

    /// One request to `node`'s control subject.
    pub(super) async fn request(
        &self,
        node: &str,
        bytes: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let subject = self.inner.subjects.ctl(node);
        let timeout = self.inner.cfg.request_timeout;
        self.inner.transport.request(subject, bytes, timeout).await
    }

    /// Whether `node`, which just met no-responders, is gone: [`CONFIRM_PROBES`] pings half a
    /// ping period apart (at most 100 ms) all meet no-responders too. A node reconnecting to
    /// another NATS server (its server died) answers one of them.
    pub(super) async fn gone(&self, node: &str) -> bool {
        let spacing = (self.inner.cfg.ping / 2).min(Duration::from_millis(100));
        let ping = Ctl {
            master: self.inner.instance.clone(),
            seq: 0,
            op: Op::Ping,
        };
        let Ok(bytes) = serde_json::to_vec(&ping) else {
            return false;
        };
        for _ in 0..CONFIRM_PROBES {
            tokio::time::sleep(spacing).await;
            match self.request(node, bytes.clone()).await {
                Err(TransportError::NoResponders) => {}
                _ => return false,
            }
        }
        true
    }

    /// Reports, once, each expected worker not admitted by the connect timeout:
    /// `[amoc, cluster, connect_nodes]` with state `failed_to_connect`.
    pub(super) fn check_expected(&self) {
        let failed = {
            let mut guard = self.state();
            let st = &mut *guard;
            let members = &st.members;
            st.expected
                .overdue(tokio::time::Instant::now(), |n| members.contains_key(n))
        };
        let timeout = self.inner.cfg.connect_timeout;
        for node in failed {
            tracing::warn!(
                node,
                "cluster: expected node not connected after {timeout:?}"
            );
            emit(
                &self.inner.telemetry,
                &CONNECT_NODES,
                &node,
                "failed_to_connect",
            );
            let _ = self
                .inner
                .events
                .send(ClusterEvent::FailedToConnect { node });
        }
    }

    /// The expected workers not admitted, as the status shows them.
    pub(super) fn awaited_nodes(st: &State) -> Vec<(String, NodeInfo)> {
        st.expected
            .awaited(|n| st.members.contains_key(n))
            .map(|(n, a)| {
                let state = match a {
                    Awaited::Connecting => NodeState::Connecting,
                    Awaited::FailedToConnect => NodeState::FailedToConnect,
                };
                let info = NodeInfo {
                    state,
                    instance: String::new(),
                    users: NodeUsers::default(),
                };
                (n.to_owned(), info)
            })
            .collect()
    }
}
