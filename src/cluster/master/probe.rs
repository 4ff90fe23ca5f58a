//! The master's probes: pings to every up worker (a killed worker's subscription is gone, so
//! the ping fails with no-responders and the worker is marked down within one ping period)
//! and the deadline of the workers `AMOC_NODES` expects.

use super::*;

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
