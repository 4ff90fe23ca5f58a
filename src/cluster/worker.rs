//! The worker agent: joins a master, runs the users it is given on the local controller,
//! sends heartbeats, and stops its run when its master is lost.
//!
//! Guarantees:
//! * It sends `hello` every heartbeat period (and at once on hearing a master) until admitted;
//!   a refusal is kept in [`WorkerState::Joining`] and retried, so a worker refused as a
//!   duplicate joins once the old node is marked down.
//! * It takes commands only from the master that admitted it; a repeated request (same
//!   master, same sequence number) is answered from cache, not performed twice.
//! * Its lease on the master lapses `lease` after the last master heartbeat, on its own clock.
//!   A heartbeat arriving after the lapse does not revive it. On a lapse it emits
//!   `[amoc, cluster, master_node_down]`, stops its run (users stopped, `terminate` runs once
//!   they ended), and goes back to joining: it stays up, waiting for a master.
//!
//! Shutdown: [`Worker::shutdown`] ends the agent; the controller is left as it is.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::admission::{Fingerprint, Refusal};
use super::liveness::Lease;
use super::merge::NodeUsers;
use super::messages::{Ctl, CtlReply, Done, Heartbeat, Hello, HelloReply, MasterHeartbeat};
use super::messages::{NodeStatus, Op, RunSpec, Subjects};
use super::stats::NodeStats;
use super::transport::{Inbox, Incoming, Transport, TransportError};
use super::{emit, new_instance_id, ClusterConfig, MASTER_NODE_DOWN};
use crate::controller::{Controller, ControllerError, StatusKind, StopOutcome};
use crate::telemetry::Telemetry;

/// How long a late joiner waits for its previous run to end before joining the current one.
const JOIN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Where the worker stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Asking to join; the last refusal, if any.
    Joining {
        /// Why the last `hello` was refused.
        refused: Option<Refusal>,
    },
    /// Admitted by the master with this instance id.
    Member {
        /// The master's instance id.
        master: String,
    },
}

impl WorkerState {
    fn master(&self) -> Option<&str> {
        match self {
            WorkerState::Member { master } => Some(master),
            WorkerState::Joining { .. } => None,
        }
    }
}

/// A running worker agent.
#[derive(Debug)]
pub struct Worker {
    state: watch::Receiver<WorkerState>,
    stop: watch::Sender<bool>,
    instance: String,
}

struct Agent {
    transport: Arc<dyn Transport>,
    cfg: ClusterConfig,
    subjects: Subjects,
    name: String,
    instance: String,
    fingerprint: Fingerprint,
    controller: Controller,
    telemetry: Telemetry,
    state: Arc<watch::Sender<WorkerState>>,
}

impl Worker {
    /// Starts the agent of node `name` (a valid node name) driving `controller`; its tasks run
    /// on the current tokio runtime (the cluster arbiter).
    pub async fn start(
        transport: Arc<dyn Transport>,
        cfg: ClusterConfig,
        name: &str,
        fingerprint: Fingerprint,
        controller: Controller,
        telemetry: Telemetry,
    ) -> Result<Worker, TransportError> {
        let subjects = Subjects::new(&cfg.cluster);
        let ctl = transport.subscribe(subjects.ctl(name)).await?;
        let master_hb = transport.subscribe(subjects.master_heartbeat()).await?;
        let state = Arc::new(watch::Sender::new(WorkerState::Joining { refused: None }));
        let stop = watch::Sender::new(false);
        let instance = new_instance_id();
        let agent = Arc::new(Agent {
            transport,
            cfg,
            subjects,
            name: name.to_owned(),
            instance: instance.clone(),
            fingerprint,
            controller,
            telemetry,
            state,
        });
        let rx = agent.state.subscribe();
        tokio::spawn(agent.clone().serve_ctl(ctl, stop.subscribe()));
        tokio::spawn(agent.run(master_hb, stop.subscribe()));
        Ok(Worker {
            state: rx,
            stop,
            instance,
        })
    }

    /// The current state; `.changed()` / `.wait_for()` await changes.
    pub fn state(&self) -> watch::Receiver<WorkerState> {
        self.state.clone()
    }

    /// This worker's instance id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Ends the agent.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }
}

impl Agent {
    fn hello(&self) -> BoxFuture<'static, Result<Vec<u8>, TransportError>> {
        let hello = Hello {
            name: self.name.clone(),
            instance: self.instance.clone(),
            fingerprint: self.fingerprint.clone(),
        };
        let bytes = serde_json::to_vec(&hello).unwrap_or_default();
        let timeout = self.cfg.request_timeout.min(self.cfg.heartbeat);
        self.transport
            .request(self.subjects.hello(), bytes, timeout)
    }

    async fn publish(&self, subject: String, body: &impl Serialize) {
        if let Ok(bytes) = serde_json::to_vec(body) {
            if let Err(e) = self.transport.publish(subject, bytes).await {
                tracing::warn!("cluster: cannot publish: {e}");
            }
        }
    }

    /// Joining, heartbeats and the master's lease, until shutdown.
    async fn run(self: Arc<Self>, mut master_hb: Inbox, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.cfg.heartbeat);
        let mut lease: Option<(String, Lease)> = None;
        let mut hello: Option<BoxFuture<'static, Result<Vec<u8>, TransportError>>> = None;
        loop {
            tokio::select! {
                biased;
                () = super::stopped(&mut stop) => return,
                answer = async {
                    match hello.as_mut() {
                        Some(f) => f.await,
                        None => futures::future::pending().await,
                    }
                },
                    if hello.is_some() =>
                {
                    hello = None;
                    if let Ok(bytes) = answer {
                        lease = self.on_hello_reply(&bytes).await.or(lease);
                    }
                }
                Some(m) = master_hb.next() => {
                    let Ok(hb) = serde_json::from_slice::<MasterHeartbeat>(&m.payload) else {
                        continue;
                    };
                    match &mut lease {
                        Some((master, l)) if *master == hb.instance => {
                            if l.holds(Instant::now()) {
                                l.renew(Instant::now());
                            } else {
                                lease = None;
                                self.master_lost().await;
                            }
                        }
                        Some(_) => {}
                        None if hello.is_none() => hello = Some(self.hello()),
                        None => {}
                    }
                }
                _ = tick.tick() => {
                    match &lease {
                        Some((_, l)) if !l.holds(Instant::now()) => {
                            lease = None;
                            self.master_lost().await;
                        }
                        Some((master, _)) => {
                            let hb = Heartbeat {
                                name: self.name.clone(),
                                instance: self.instance.clone(),
                                master: Some(master.clone()),
                                users: self.controller.users().read(),
                            };
                            self.publish(self.subjects.heartbeat(&self.name), &hb).await;
                        }
                        None if hello.is_none() => hello = Some(self.hello()),
                        None => {}
                    }
                }
            }
        }
    }

    /// Applies the master's answer; the new lease when admitted.
    async fn on_hello_reply(&self, bytes: &[u8]) -> Option<(String, Lease)> {
        match serde_json::from_slice::<HelloReply>(bytes) {
            Ok(HelloReply::Admitted { master, run }) => {
                tracing::info!(%master, "cluster: admitted");
                let member = WorkerState::Member {
                    master: master.clone(),
                };
                match run {
                    None => {
                        self.state.send_replace(member);
                    }
                    // Joining a run going on: a run stopped when the last master was lost
                    // may still be ending; the node counts as a member once it runs.
                    Some(RunSpec { scenario, settings }) => {
                        let c = self.controller.clone();
                        let state = self.state.clone();
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(JOIN_GRACE, c.wait_finished()).await;
                            if let Err(e) = c.start_scenario(&scenario, settings).await {
                                tracing::warn!("cluster: cannot join the run of {scenario}: {e}");
                            }
                            state.send_replace(member);
                        });
                    }
                }
                Some((master, Lease::new(Instant::now(), self.cfg.lease)))
            }
            Ok(HelloReply::Refused(refusal)) => {
                // Retried every half second: the state (and the log) change once per reason.
                let told = self.state.send_if_modified(|s| {
                    let new = WorkerState::Joining {
                        refused: Some(refusal.clone()),
                    };
                    let changed = *s != new;
                    *s = new;
                    changed
                });
                if told {
                    tracing::info!("cluster: refused: {refusal}");
                }
                None
            }
            Err(e) => {
                tracing::warn!("cluster: malformed answer to hello: {e}");
                None
            }
        }
    }

    async fn master_lost(&self) {
        let master = self.state.borrow().master().map(str::to_owned);
        tracing::warn!(?master, "cluster: master lost; stopping the run");
        self.state
            .send_replace(WorkerState::Joining { refused: None });
        emit(
            &self.telemetry,
            &MASTER_NODE_DOWN,
            master.as_deref().unwrap_or(""),
            "down",
        );
        match self.controller.stop_scenario().await {
            Ok(_) | Err(ControllerError::InvalidStatus(_)) => {}
            Err(e) => tracing::warn!("cluster: cannot stop the run: {e}"),
        }
    }

    /// Answers control requests of the current master, one at a time.
    async fn serve_ctl(self: Arc<Self>, mut ctl: Inbox, mut stop: watch::Receiver<bool>) {
        let mut cache: Option<(String, u64, Vec<u8>)> = None;
        loop {
            let m: Incoming = tokio::select! {
                () = super::stopped(&mut stop) => return,
                m = ctl.next() => match m { Some(m) => m, None => return },
            };
            let Some(reply_to) = m.reply else { continue };
            let answer = match serde_json::from_slice::<Ctl>(&m.payload) {
                Err(e) => encode(&Err(format!("malformed request: {e}"))),
                // Read-only: answered to any master, never cached.
                Ok(Ctl { op: Op::Ping, .. }) => encode(&Ok(Done::Ok)),
                Ok(Ctl { op: Op::Stats, .. }) => encode(&Ok(self.stats())),
                Ok(ctl) => {
                    let current = self.state.borrow().master().map(str::to_owned);
                    match &cache {
                        Some((master, seq, answer)) if *master == ctl.master && *seq == ctl.seq => {
                            answer.clone()
                        }
                        _ if current.as_deref() != Some(ctl.master.as_str()) => encode(&Err(
                            format!("fenced: this node does not follow master {}", ctl.master),
                        )),
                        _ => {
                            let answer = encode(&self.perform(ctl.op).await);
                            cache = Some((ctl.master, ctl.seq, answer.clone()));
                            answer
                        }
                    }
                }
            };
            if let Err(e) = self.transport.publish(reply_to, answer).await {
                tracing::warn!("cluster: cannot answer: {e}");
            }
        }
    }

    /// The current run's statistics (none before a run).
    fn stats(&self) -> Done {
        let snapshot = crate::metrics::RunStats::current(&self.telemetry).map(|s| s.snapshot());
        Done::Stats(snapshot.as_ref().map(NodeStats::of).unwrap_or_default())
    }

    async fn perform(&self, op: Op) -> CtlReply {
        let c = &self.controller;
        let r = match op {
            Op::StartScenario { scenario, settings } => c
                .start_scenario(&scenario, settings)
                .await
                .map(|()| Done::Ok),
            Op::AddUsers { block } => c
                .add_user_range(block.first, block.last)
                .await
                .map(|_| Done::Added(block)),
            Op::RemoveUsers { count, force } => {
                c.remove_users(count, force).await.map(Done::Removed)
            }
            Op::UpdateSettings { settings } => c.update_settings(settings).await.map(|()| Done::Ok),
            Op::StopScenario => c.stop_scenario().await.map(|o| {
                Done::Stopped(match o {
                    StopOutcome::Finished => "finished".into(),
                    StopOutcome::Terminating => "terminating".into(),
                })
            }),
            Op::Status => Ok(Done::Status(node_status(c))),
            Op::Ping => Ok(Done::Ok),
            Op::Stats => Ok(self.stats()),
        };
        r.map_err(|e| e.to_string())
    }
}

/// The local controller's status as a node status.
pub fn node_status(c: &Controller) -> NodeStatus {
    let s = c.status();
    let users = if s.kind == StatusKind::Idle {
        NodeUsers::default()
    } else {
        s.users
    };
    NodeStatus {
        status: s.kind.to_string(),
        scenario: s.scenario,
        highest_user_id: s.highest_user_id,
        users,
        error: s.error,
    }
}

fn encode(reply: &CtlReply) -> Vec<u8> {
    serde_json::to_vec(reply).unwrap_or_else(|e| format!("{{\"Err\":\"{e}\"}}").into_bytes())
}
