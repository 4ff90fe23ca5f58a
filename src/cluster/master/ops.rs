//! The master's operations on a run: start, add, remove, update, stop and the status views.
//! Each runs alone (`ops` lock) and answers per node.

use std::collections::BTreeMap;

use super::*;

impl Master {
    /// Starts a run of `scenario` on every up worker; the settings are kept for late joiners.
    pub async fn start_scenario(
        &self,
        scenario: &str,
        settings: Vec<(String, Value)>,
    ) -> Result<NodeResults<()>, MasterError> {
        let _one = self.inner.ops.lock().await;
        {
            let mut st = self.state();
            if st.run.as_ref().is_some_and(|r| r.active) {
                return Err(MasterError::InvalidState("a run is going on"));
            }
            st.run = Some(Run {
                scenario: scenario.to_owned(),
                settings: settings.clone(),
                active: true,
            });
            st.highest = 0;
            st.stats.clear();
        }
        let op = Op::StartScenario {
            scenario: scenario.to_owned(),
            settings,
        };
        let ops = self
            .up_nodes()
            .into_iter()
            .map(|n| (n, op.clone()))
            .collect();
        Ok(unit(self.fan_out(ops).await))
    }

    fn require_run(&self) -> Result<(), MasterError> {
        match self.state().run.as_ref() {
            Some(r) if r.active => Ok(()),
            _ => Err(MasterError::InvalidState("no run is going on")),
        }
    }

    /// Adds `count` users: one id block per up worker in name order (`None`: skipped).
    pub async fn add_users(&self, count: u64) -> Result<NodeResults<Option<IdBlock>>, MasterError> {
        let _one = self.inner.ops.lock().await;
        self.require_run()?;
        let up = self.up_nodes();
        let split = {
            let mut st = self.state();
            let split = split_add(st.highest, count, up.iter().map(String::as_str))?;
            st.highest += count;
            split
        };
        let mut results = NodeResults::default();
        let mut ops = Vec::new();
        for (node, block) in split {
            match block {
                Some(block) => ops.push((node, Op::AddUsers { block })),
                None => results.insert(node, Ok(None)),
            }
        }
        for (node, r) in self.fan_out(ops).await.0 {
            let r = r.and_then(|done| match done {
                Done::Added(block) => Ok(Some(block)),
                other => Err(unexpected(&other)),
            });
            results.insert(node, r);
        }
        Ok(results)
    }

    /// Removes `count` users, split over the up workers as an add is.
    pub async fn remove_users(
        &self,
        count: u64,
        force: bool,
    ) -> Result<NodeResults<u64>, MasterError> {
        let _one = self.inner.ops.lock().await;
        self.require_run()?;
        let up = self.up_nodes();
        let split = split_count(count, up.iter().map(String::as_str))?;
        let ops = split
            .into_iter()
            .map(|(n, count)| (n, Op::RemoveUsers { count, force }))
            .collect();
        let mut results = NodeResults::default();
        for (node, r) in self.fan_out(ops).await.0 {
            let r = r.and_then(|done| match done {
                Done::Removed(n) => Ok(n),
                other => Err(unexpected(&other)),
            });
            results.insert(node, r);
        }
        Ok(results)
    }

    /// Changes settings on every up worker; kept for late joiners when all accepted.
    pub async fn update_settings(
        &self,
        settings: Vec<(String, Value)>,
    ) -> Result<NodeResults<()>, MasterError> {
        let _one = self.inner.ops.lock().await;
        self.require_run()?;
        let op = Op::UpdateSettings {
            settings: settings.clone(),
        };
        let ops = self
            .up_nodes()
            .into_iter()
            .map(|n| (n, op.clone()))
            .collect();
        let results = unit(self.fan_out(ops).await);
        if results.all_ok() {
            if let Some(run) = self.state().run.as_mut() {
                for (k, v) in settings {
                    run.settings.retain(|(name, _)| *name != k);
                    run.settings.push((k, v));
                }
            }
        }
        Ok(results)
    }

    /// Stops the run on every up worker (`finished` or `terminating` per node).
    pub async fn stop_scenario(&self) -> Result<NodeResults<String>, MasterError> {
        let _one = self.inner.ops.lock().await;
        self.require_run()?;
        if let Some(run) = self.state().run.as_mut() {
            run.active = false;
        }
        let ops = self
            .up_nodes()
            .into_iter()
            .map(|n| (n, Op::StopScenario))
            .collect();
        let mut results = NodeResults::default();
        for (node, r) in self.fan_out(ops).await.0 {
            let r = r.and_then(|done| match done {
                Done::Stopped(outcome) => Ok(outcome),
                other => Err(unexpected(&other)),
            });
            results.insert(node, r);
        }
        Ok(results)
    }

    /// Asks `node` for its status.
    pub async fn node_status(&self, node: &str) -> Result<NodeStatus, NodeError> {
        match self.call(node, Op::Status).await? {
            Done::Status(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// Every node's statistics of the run: fresh from the up nodes (asked in parallel), the
    /// last known of the others (down, or not answering now).
    pub async fn stats(&self) -> BTreeMap<String, NodeStats> {
        let ops = self
            .up_nodes()
            .into_iter()
            .map(|n| (n, Op::Stats))
            .collect();
        let fresh = self.fan_out(ops).await;
        let mut st = self.state();
        for (node, r) in fresh.0 {
            if let Ok(Done::Stats(s)) = r {
                st.stats.insert(node, s);
            }
        }
        st.stats.clone()
    }

    /// Whether `node` was ever admitted.
    pub fn knows(&self, node: &str) -> bool {
        self.state().members.contains_key(node)
    }

    /// The cluster's state, from the last heartbeats (never waits on a node).
    pub fn status(&self) -> ClusterStatus {
        let st = self.state();
        let mut nodes: BTreeMap<String, NodeInfo> = st
            .members
            .iter()
            .map(|(n, m)| {
                let state = if m.up { NodeState::Up } else { NodeState::Down };
                let info = NodeInfo {
                    state,
                    instance: m.instance.clone(),
                    users: m.users,
                };
                (n.clone(), info)
            })
            .collect();
        nodes.extend(Self::awaited_nodes(&st));
        ClusterStatus {
            scenario: st.run.as_ref().map(|r| r.scenario.clone()),
            running: st.run.as_ref().is_some_and(|r| r.active),
            highest_user_id: st.highest,
            settings: st
                .run
                .as_ref()
                .map(|r| r.settings.clone())
                .unwrap_or_default(),
            users: NodeUsers::sum(nodes.values().map(|n| &n.users)),
            nodes,
        }
    }
}

fn unit(results: NodeResults<Done>) -> NodeResults<()> {
    NodeResults(
        results
            .0
            .into_iter()
            .map(|(n, r)| (n, r.map(|_| ())))
            .collect(),
    )
}

fn unexpected(done: &Done) -> NodeError {
    NodeError::Transport(format!("unexpected answer {done:?}"))
}
