//! Becoming a cluster's master, for `amoc serve --cluster URL` and `amoc run --cluster URL`:
//! connect to NATS, refuse when another master is live, lease the cluster-wide throttles, and
//! say every membership change (node connected, down, refused, failed to connect) in one line.
//! `AMOC_NODES` names the workers it expects (see [`amoc::cluster::expected`]).

use std::collections::BTreeSet;
use std::time::Duration;

use amoc::cluster::expected::{parse_nodes, NodesError};
use amoc::cluster::lease_messages::{reports_subject, ThrottleReports};
use amoc::cluster::{ClusterConfig, ClusterEvent, Fingerprint, Master, NodeState, ThrottleMaster};
use amoc::telemetry::Telemetry;
use futures::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use super::{cluster_name, ClusterLink, LinkError, NatsOptions};
use crate::api::ClusterThrottleUsage;

/// Why this process could not become the master.
#[derive(Debug, thiserror::Error)]
pub enum MasterStartError {
    /// `AMOC_NODES` does not name nodes.
    #[error(transparent)]
    Nodes(#[from] NodesError),
    /// NATS, the cluster arbiter, or another live master (see [`MasterStartError::other_master`]).
    #[error(transparent)]
    Link(#[from] LinkError),
}

impl MasterStartError {
    /// The instance id of the live master that refused this one, if that is why.
    pub fn other_master(&self) -> Option<&str> {
        match self {
            MasterStartError::Link(LinkError::Master(
                amoc::cluster::MasterError::OtherMaster { instance },
            )) => Some(instance),
            _ => None,
        }
    }
}

/// What the rest of the process uses of a master (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct MasterHandles {
    pub(crate) master: Master,
    pub(crate) throttles: ThrottleMaster,
    /// The workers' last throttle reports, for `GET /throttles` and the summary.
    pub(crate) usage: ClusterThrottleUsage,
}

/// A running master: the NATS link, the master agent and its throttle agent.
#[derive(Debug)]
pub(crate) struct ClusterMaster {
    pub(crate) link: ClusterLink,
    pub(crate) h: MasterHandles,
    /// The workers `AMOC_NODES` names.
    pub(crate) expected: Vec<String>,
    pub(crate) url: String,
}

impl ClusterMaster {
    /// Stops heartbeats and leases (workers see their master lost after their lease, stop
    /// any run and wait for the next master), then the link.
    pub(crate) fn shutdown(self) {
        self.h.throttles.shutdown();
        self.h.master.shutdown();
        self.link.stop();
    }

    /// The up workers, in name order.
    pub(crate) fn up_workers(&self) -> Vec<String> {
        self.h
            .master
            .status()
            .nodes
            .into_iter()
            .filter(|(_, n)| n.state == NodeState::Up)
            .map(|(name, _)| name)
            .collect()
    }

    /// Waits until at least `count` workers, and every worker of `AMOC_NODES`, are up;
    /// gives up after `timeout`. The up workers, or the error saying who is missing.
    pub(crate) async fn wait_for_workers(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<String>, WorkersMissing> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let up = self.up_workers();
            let missing: Vec<String> = self
                .expected
                .iter()
                .filter(|n| !up.contains(n))
                .cloned()
                .collect();
            if up.len() >= count && missing.is_empty() {
                return Ok(up);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(WorkersMissing {
                    up,
                    wanted: count.max(self.expected.len()),
                    missing,
                    waited: timeout,
                    url: self.url.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The workers a run waits for did not join in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} of {wanted} workers joined within {waited:?} ({}){}; start them with: amoc worker --name NAME --cluster {url}",
    up.len(),
    if up.is_empty() { "none".to_owned() } else { format!("up: {}", up.join(", ")) },
    if missing.is_empty() { String::new() } else { format!(", missing from AMOC_NODES: {}", missing.join(", ")) }
)]
pub struct WorkersMissing {
    /// The workers that were up.
    pub up: Vec<String>,
    /// How many were wanted.
    pub wanted: usize,
    /// The workers of `AMOC_NODES` not up.
    pub missing: Vec<String>,
    /// How long the run waited.
    pub waited: Duration,
    /// The NATS URL, for the hint.
    pub url: String,
}

/// Connects to NATS and becomes the master; `say` gets one line per membership change until
/// the link stops.
pub(crate) async fn start(
    url: &str,
    fingerprint: Fingerprint,
    telemetry: Telemetry,
    say: impl Fn(&str) + 'static,
) -> Result<ClusterMaster, MasterStartError> {
    let cluster = cluster_name();
    let nodes = std::env::var("AMOC_NODES").ok();
    let cfg = ClusterConfig {
        nodes: parse_nodes(nodes.as_deref())?,
        ..ClusterConfig::new(&cluster)
    };
    let expected = cfg.nodes.clone();
    let link = ClusterLink::connect(NatsOptions::from_env(url), "amoc master").await?;
    let master = match link.master(cfg, fingerprint, telemetry).await {
        Ok(m) => m,
        Err(e) => {
            link.stop();
            return Err(e.into());
        }
    };
    // At once: workers waiting for a master join within milliseconds of its start.
    let mut events = master.events();
    let cfg = ClusterConfig::new(&cluster);
    let throttles = match link.throttle_master(cfg, master.clone()).await {
        Ok(t) => t,
        Err(e) => {
            master.shutdown();
            link.stop();
            return Err(e.into());
        }
    };
    let usage = ClusterThrottleUsage::new();
    let reports = reports_subject(&cluster);
    if let Err(e) = follow_usage(&link, reports, master.instance(), usage.clone()).await {
        throttles.shutdown();
        master.shutdown();
        link.stop();
        return Err(e.into());
    }
    say(&format!(
        "master of cluster {cluster} on {url} (instance {}); workers join with: amoc worker --name NAME --cluster {url}",
        master.instance()
    ));
    if !expected.is_empty() {
        say(&format!(
            "expecting nodes {} (AMOC_NODES)",
            expected.join(", ")
        ));
    }
    // Nodes admitted before `events` listened are told from the status; one admitted between
    // the two shows in both, and is told once.
    let mut told = BTreeSet::new();
    for (node, info) in master.status().nodes {
        if info.state == NodeState::Up {
            say(&format!("node {node} connected"));
            told.insert(node);
        }
    }
    actix_rt::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ClusterEvent::Connected {
                    node,
                    rejoin: false,
                }) if told.remove(&node) => {}
                Ok(ClusterEvent::Connected { node, rejoin }) => {
                    let again = if rejoin { " again" } else { "" };
                    say(&format!("node {node} connected{again}"));
                }
                Ok(ClusterEvent::Down { node, reason }) => {
                    say(&format!("node {node} down: {reason}"))
                }
                Ok(ClusterEvent::FailedToConnect { node }) => {
                    say(&format!(
                        "node {node} failed to connect (expected by AMOC_NODES)"
                    ));
                }
                Ok(ClusterEvent::Refused { node, refusal }) => {
                    say(&format!("node {node} refused: {refusal}"));
                }
                Err(RecvError::Lagged(n)) => say(&format!("({n} membership changes not shown)")),
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(ClusterMaster {
        link,
        h: MasterHandles {
            master,
            throttles,
            usage,
        },
        expected,
        url: url.to_owned(),
    })
}

/// Records in `usage` the throttle reports the workers of master `instance` publish on
/// `subject` (the throttle agent reads the same reports to allocate shares), until the link
/// stops.
async fn follow_usage(
    link: &ClusterLink,
    subject: String,
    instance: &str,
    usage: ClusterThrottleUsage,
) -> Result<(), LinkError> {
    let transport = link.transport.clone();
    let instance = instance.to_owned();
    let follow = async move {
        let mut inbox = transport.subscribe(subject).await?;
        tokio::spawn(async move {
            while let Some(m) = inbox.next().await {
                match serde_json::from_slice::<ThrottleReports>(&m.payload) {
                    Ok(r) if r.master == instance => usage.record(r),
                    _ => {}
                }
            }
        });
        Ok(())
    };
    super::on(&link.arbiter, follow)
        .await?
        .map_err(|e: amoc::cluster::TransportError| LinkError::Master(e.into()))
}
