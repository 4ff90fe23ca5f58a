//! Cluster mode over NATS: the engine ([`NatsTransport`]), the dedicated cluster arbiter
//! ([`ClusterLink`]) and the `worker` command. The policy and the agents are in
//! [`amoc::cluster`]; how to run a master and workers is in `docs/cluster.md`.
//!
//! All NATS I/O and both agents run on one arbiter of their own, so cluster messages are never
//! queued behind user actors; the rest of the process talks to them through cheap handles.

pub mod master;
mod metrics;
mod nats;
pub(crate) mod report;
pub(crate) mod worker;

use std::future::Future;
use std::sync::Arc;

use actix_rt::Arbiter;
use amoc::cluster::{ClusterConfig, Fingerprint, Master, MasterError, Transport, Worker};
use amoc::cluster::{ThrottleMaster, ThrottleWorker};
use amoc::controller::Controller;
use amoc::telemetry::Telemetry;
use amoc::throttle::LeasedThrottles;
use tokio::sync::oneshot;

pub use nats::{NatsError, NatsOptions, NatsTransport};

/// Errors of the cluster link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// NATS could not be reached.
    #[error(transparent)]
    Nats(#[from] NatsError),
    /// The cluster arbiter stopped before answering.
    #[error("the cluster arbiter stopped")]
    Stopped,
    /// The master could not start.
    #[error(transparent)]
    Master(#[from] MasterError),
    /// The worker could not subscribe.
    #[error("cannot start the worker")]
    Worker(#[source] amoc::cluster::TransportError),
}

/// The cluster name: `AMOC_CLUSTER`, or [`amoc::cluster::DEFAULT_CLUSTER`].
pub fn cluster_name() -> String {
    std::env::var("AMOC_CLUSTER")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| amoc::cluster::DEFAULT_CLUSTER.to_owned())
}

/// A NATS connection living on its own arbiter, and the agents running there.
#[derive(Debug)]
pub struct ClusterLink {
    arbiter: Arbiter,
    transport: Arc<dyn Transport>,
}

impl ClusterLink {
    /// Starts the cluster arbiter and connects to NATS from it, as client `name`.
    pub async fn connect(options: NatsOptions, name: &str) -> Result<Self, LinkError> {
        let arbiter = Arbiter::new();
        let name = name.to_owned();
        let transport = on(&arbiter, async move { options.connect(&name).await }).await;
        match transport {
            Ok(Ok(t)) => Ok(Self {
                arbiter,
                transport: Arc::new(t),
            }),
            Ok(Err(e)) => {
                arbiter.stop();
                Err(e.into())
            }
            Err(e) => {
                arbiter.stop();
                Err(e)
            }
        }
    }

    /// Becomes the master of `cfg.cluster` (refused if another master is live).
    pub async fn master(
        &self,
        cfg: ClusterConfig,
        fingerprint: Fingerprint,
        telemetry: Telemetry,
    ) -> Result<Master, LinkError> {
        let t = self.transport.clone();
        on(&self.arbiter, Master::start(t, cfg, fingerprint, telemetry))
            .await?
            .map_err(LinkError::from)
    }

    /// Starts the worker agent of node `name` driving `controller`.
    pub async fn worker(
        &self,
        cfg: ClusterConfig,
        name: &str,
        fingerprint: Fingerprint,
        controller: Controller,
        telemetry: Telemetry,
    ) -> Result<Worker, LinkError> {
        let t = self.transport.clone();
        let name = name.to_owned();
        let started =
            async move { Worker::start(t, cfg, &name, fingerprint, controller, telemetry).await };
        on(&self.arbiter, started).await?.map_err(LinkError::Worker)
    }

    /// Starts leasing the throttles of `master`'s workers (cluster-wide throttles).
    pub async fn throttle_master(
        &self,
        cfg: ClusterConfig,
        master: Master,
    ) -> Result<ThrottleMaster, LinkError> {
        let t = self.transport.clone();
        on(&self.arbiter, ThrottleMaster::start(t, cfg, master))
            .await?
            .map_err(|e| LinkError::Master(e.into()))
    }

    /// Starts applying the master's shares to `worker`'s leased throttles.
    pub async fn throttle_worker(
        &self,
        cfg: ClusterConfig,
        name: &str,
        worker: &Worker,
        leased: LeasedThrottles,
    ) -> Result<ThrottleWorker, LinkError> {
        let t = self.transport.clone();
        let (name, instance, state) = (
            name.to_owned(),
            worker.instance().to_owned(),
            worker.state(),
        );
        let started =
            async move { ThrottleWorker::start(t, cfg, &name, &instance, state, leased).await };
        on(&self.arbiter, started).await?.map_err(LinkError::Worker)
    }

    /// Stops the arbiter (and with it the connection and the agents' tasks).
    pub fn stop(self) {
        self.arbiter.stop();
    }
}

/// Runs `fut` on `arbiter` and returns its output.
async fn on<T: Send + 'static>(
    arbiter: &Arbiter,
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, LinkError> {
    let (tx, rx) = oneshot::channel();
    if !arbiter.spawn(async move {
        let _ = tx.send(fut.await);
    }) {
        return Err(LinkError::Stopped);
    }
    rx.await.map_err(|_| LinkError::Stopped)
}

/// The fingerprint of a build with these scenarios.
pub(crate) fn fingerprint(names: &[&str]) -> Fingerprint {
    Fingerprint::new(names.iter().copied())
}
