//! The master agent: admits workers, hands out id blocks, fans operations out to every
//! worker and merges their results per node, and watches the workers' heartbeats.
//!
//! Guarantees:
//! * Operations (start, add, remove, update, stop) run one at a time; each request carries
//!   this master's instance id and a new sequence number, so a worker obeys only its own
//!   master and answers a repeated request from cache.
//! * Ids are allocated before the requests go out and never reused, whatever the nodes
//!   answer; a node down, timed out or refusing is reported in its own entry.
//! * A worker silent for `missed_heartbeats` periods, or answering a request with
//!   no-responders, is marked down once: `[amoc, cluster, nodedown]` is emitted, its live
//!   users count as killed, later adds skip it. The same name may join again (a rejoin).
//!   Every up worker is pinged each `ping` period, so a killed one is found within it.
//! * A worker named in `AMOC_NODES` (`cfg.nodes`) that has not joined after
//!   `connect_timeout` is reported `failed_to_connect` once.
//!
//! Shutdown: [`Master::shutdown`] stops the heartbeats and the listeners; workers then see
//! their master lost after their lease.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::admission::{self, Admission, Fingerprint, MemberView, Refusal};
use super::expected::{Awaited, Expected};
use super::ids::{split_add, split_count, IdBlock};
use super::liveness::{Liveness, Verdict};
use super::merge::{NodeError, NodeResults, NodeUsers};
use super::messages::{Ctl, CtlReply, Done, Heartbeat, Hello, HelloReply, MasterHeartbeat};
use super::messages::{NodeStatus, Op, RunSpec, Subjects};
use super::stats::NodeStats;
pub use super::status::{ClusterEvent, ClusterStatus, MasterError, NodeInfo, NodeState};
use super::transport::{Incoming, Transport, TransportError};
use super::{emit, new_instance_id, ClusterConfig, CONNECT_NODES, NODEDOWN};
use crate::telemetry::Telemetry;
use crate::Value;

mod ops;
mod probe;

#[derive(Debug)]
struct Member {
    instance: String,
    up: bool,
    liveness: Liveness,
    users: NodeUsers,
}

#[derive(Debug)]
struct Run {
    scenario: String,
    settings: Vec<(String, Value)>,
    active: bool,
}

#[derive(Debug, Default)]
struct State {
    members: BTreeMap<String, Member>,
    run: Option<Run>,
    highest: u64,
    expected: Expected,
    /// Each node's last statistics of the run (kept when it goes down).
    stats: BTreeMap<String, NodeStats>,
    /// The last refusal told per node instance: a worker retries its hello every half
    /// second, and the same refusal is told once (bounded: cleared when full).
    refusals_told: BTreeMap<(String, String), Refusal>,
}

/// How many refused node instances [`State::refusals_told`] remembers.
const REFUSALS_KEPT: usize = 1024;

#[derive(Debug)]
struct Inner {
    transport: Arc<dyn Transport>,
    cfg: ClusterConfig,
    subjects: Subjects,
    instance: String,
    fingerprint: Fingerprint,
    telemetry: Telemetry,
    state: Mutex<State>,
    ops: tokio::sync::Mutex<()>,
    seq: AtomicU64,
    events: broadcast::Sender<ClusterEvent>,
    stop: watch::Sender<bool>,
}

/// The master's handle: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct Master {
    inner: Arc<Inner>,
}

impl Master {
    /// Becomes the master of `cfg.cluster`: listens two and a half heartbeat periods for
    /// another master (refused if one is heard), then admits workers and sends heartbeats.
    /// Its tasks run on the current tokio runtime (the cluster arbiter).
    pub async fn start(
        transport: Arc<dyn Transport>,
        cfg: ClusterConfig,
        fingerprint: Fingerprint,
        telemetry: Telemetry,
    ) -> Result<Master, MasterError> {
        let subjects = Subjects::new(&cfg.cluster);
        let mut others = transport.subscribe(subjects.master_heartbeat()).await?;
        let listen = tokio::time::sleep(cfg.heartbeat * 5 / 2);
        tokio::pin!(listen);
        loop {
            tokio::select! {
                () = &mut listen => break,
                Some(m) = others.next() => {
                    if let Ok(hb) = serde_json::from_slice::<MasterHeartbeat>(&m.payload) {
                        return Err(MasterError::OtherMaster { instance: hb.instance });
                    }
                }
            }
        }
        drop(others);
        let hellos = transport.subscribe(subjects.hello()).await?;
        let heartbeats = transport.subscribe(subjects.heartbeats()).await?;
        let expected = Expected::new(cfg.nodes.clone(), Instant::now(), cfg.connect_timeout);
        let inner = Arc::new(Inner {
            transport,
            cfg,
            subjects,
            instance: new_instance_id(),
            fingerprint,
            telemetry,
            state: Mutex::new(State {
                expected,
                ..State::default()
            }),
            ops: tokio::sync::Mutex::new(()),
            seq: AtomicU64::new(0),
            events: broadcast::channel(256).0,
            stop: watch::Sender::new(false),
        });
        let master = Master { inner };
        tokio::spawn(master.clone().serve(hellos, heartbeats));
        Ok(master)
    }

    /// This master's instance id.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// The membership changes from now on.
    pub fn events(&self) -> broadcast::Receiver<ClusterEvent> {
        self.inner.events.subscribe()
    }

    /// Stops heartbeats and listeners.
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        crate::sync::lock(&self.inner.state)
    }

    /// The loop of hellos, heartbeats and ticks, until shutdown.
    async fn serve(self, mut hellos: super::Inbox, mut heartbeats: super::Inbox) {
        let mut stop = self.inner.stop.subscribe();
        let mut tick = tokio::time::interval(self.inner.cfg.heartbeat);
        let mut ping = tokio::time::interval(self.inner.cfg.ping);
        loop {
            tokio::select! {
                () = super::stopped(&mut stop) => return,
                Some(m) = hellos.next() => self.on_hello(m).await,
                Some(m) = heartbeats.next() => self.on_heartbeat(&m),
                _ = tick.tick() => self.on_tick().await,
                _ = ping.tick() => self.ping_all(),
            }
        }
    }

    async fn on_hello(&self, m: Incoming) {
        let (Some(reply_to), Ok(hello)) = (m.reply, serde_json::from_slice::<Hello>(&m.payload))
        else {
            tracing::warn!("cluster: ignoring a malformed hello");
            return;
        };
        let decision = {
            let mut st = self.state();
            let member = st.members.get(&hello.name).map(|m| MemberView {
                instance: &m.instance,
                up: m.up,
            });
            let f = &self.inner.fingerprint;
            let decision =
                admission::admit(member, &hello.name, &hello.instance, &hello.fingerprint, f);
            let key = (hello.name.clone(), hello.instance.clone());
            let new_refusal = match &decision {
                Err(r) if st.refusals_told.get(&key) == Some(r) => false,
                Err(r) => {
                    if st.refusals_told.len() >= REFUSALS_KEPT {
                        st.refusals_told.clear();
                    }
                    st.refusals_told.insert(key, r.clone());
                    true
                }
                Ok(_) => {
                    st.refusals_told.remove(&key);
                    false
                }
            };
            if let Ok(Admission::New | Admission::Rejoin) = decision {
                st.members.insert(
                    hello.name.clone(),
                    Member {
                        instance: hello.instance.clone(),
                        up: true,
                        liveness: Liveness::new(self.inner.cfg.missed_heartbeats),
                        users: NodeUsers::default(),
                    },
                );
            }
            let run = st.run.as_ref().filter(|r| r.active).map(|r| RunSpec {
                scenario: r.scenario.clone(),
                settings: r.settings.clone(),
            });
            (decision.map(|a| (a, run)), new_refusal)
        };
        let (decision, new_refusal) = decision;
        let reply = match &decision {
            Ok((_, run)) => HelloReply::Admitted {
                master: self.inner.instance.clone(),
                run: run.clone(),
            },
            Err(refusal) => HelloReply::Refused(refusal.clone()),
        };
        self.send(reply_to, &reply).await;
        match decision {
            Ok((Admission::Repeat, _)) => {}
            Ok((a, _)) => {
                let rejoin = a == Admission::Rejoin;
                tracing::info!(node = %hello.name, rejoin, "cluster: node connected");
                emit(&self.inner.telemetry, &CONNECT_NODES, &hello.name, "up");
                let _ = self.inner.events.send(ClusterEvent::Connected {
                    node: hello.name,
                    rejoin,
                });
            }
            Err(_) if !new_refusal => {}
            Err(refusal) => {
                tracing::info!(node = %hello.name, "cluster: refused: {refusal}");
                let _ = self.inner.events.send(ClusterEvent::Refused {
                    node: hello.name,
                    refusal,
                });
            }
        }
    }

    fn on_heartbeat(&self, m: &Incoming) {
        let Ok(hb) = serde_json::from_slice::<Heartbeat>(&m.payload) else {
            return;
        };
        let mut st = self.state();
        if let Some(member) = st.members.get_mut(&hb.name) {
            let ours = hb.master.as_deref() == Some(self.inner.instance.as_str());
            if member.up && member.instance == hb.instance && ours {
                member.liveness.on_heartbeat();
                member.users = hb.users;
            }
        }
    }

    async fn on_tick(&self) {
        let hb = MasterHeartbeat {
            instance: self.inner.instance.clone(),
        };
        self.send(self.inner.subjects.master_heartbeat(), &hb).await;
        let lost: Vec<String> = {
            let mut st = self.state();
            st.members
                .iter_mut()
                .filter(|(_, m)| m.up)
                .filter_map(|(n, m)| (m.liveness.on_tick() == Verdict::Lost).then(|| n.clone()))
                .collect()
        };
        let missed = self.inner.cfg.missed_heartbeats;
        for node in lost {
            self.mark_down(&node, &format!("silent for {missed} heartbeats"));
        }
        self.check_expected();
    }

    async fn send(&self, subject: String, body: &impl Serialize) {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                if let Err(e) = self.inner.transport.publish(subject, bytes).await {
                    tracing::warn!("cluster: cannot publish: {e}");
                }
            }
            Err(e) => tracing::error!("cluster: cannot encode a message: {e}"),
        }
    }

    /// Marks `node` down (once): its live users count as killed; `nodedown` is emitted.
    fn mark_down(&self, node: &str, reason: &str) {
        {
            let mut st = self.state();
            let Some(m) = st.members.get_mut(node).filter(|m| m.up) else {
                return;
            };
            m.up = false;
            m.users = m.users.lost();
        }
        tracing::warn!(node, "cluster: node down: {reason}");
        emit(&self.inner.telemetry, &NODEDOWN, node, "down");
        let _ = self.inner.events.send(ClusterEvent::Down {
            node: node.to_owned(),
            reason: reason.to_owned(),
        });
    }

    fn up_nodes(&self) -> Vec<String> {
        let st = self.state();
        st.members
            .iter()
            .filter(|(_, m)| m.up)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// One request to `node`; no-responders marks it down.
    async fn call(&self, node: &str, op: Op) -> Result<Done, NodeError> {
        let up = self.state().members.get(node).is_some_and(|m| m.up);
        if !up {
            return Err(NodeError::Down);
        }
        let ctl = Ctl {
            master: self.inner.instance.clone(),
            seq: self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1,
            op,
        };
        let bytes = serde_json::to_vec(&ctl).map_err(|e| NodeError::Transport(e.to_string()))?;
        let mut answer = self.request(node, bytes.clone()).await;
        // A node that reconnects to another server is briefly unreachable: ask again (the
        // same sequence number, so never performed twice) unless it is really gone.
        if matches!(answer, Err(TransportError::NoResponders)) && !self.gone(node).await {
            answer = self.request(node, bytes).await;
        }
        match answer {
            Ok(answer) => match serde_json::from_slice::<CtlReply>(&answer) {
                Ok(Ok(done)) => Ok(done),
                Ok(Err(reason)) => Err(NodeError::Refused(reason)),
                Err(e) => Err(NodeError::Transport(format!("malformed answer: {e}"))),
            },
            Err(TransportError::NoResponders) => {
                self.mark_down(node, "no responders");
                Err(NodeError::Down)
            }
            Err(TransportError::TimedOut) => Err(NodeError::Timeout),
            Err(TransportError::Failed(e)) => Err(NodeError::Transport(e.to_string())),
        }
    }

    /// The same kind of request to several nodes in parallel.
    async fn fan_out(&self, ops: Vec<(String, Op)>) -> NodeResults<Done> {
        let calls = ops.into_iter().map(|(node, op)| async move {
            let r = self.call(&node, op).await;
            (node, r)
        });
        let mut results = NodeResults::default();
        for (node, r) in futures::future::join_all(calls).await {
            results.insert(node, r);
        }
        results
    }
}
