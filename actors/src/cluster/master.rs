//! `amoc serve --cluster URL`: the control API's node becomes the cluster's master. One line
//! on stdout per membership change (node connected, down, refused, failed to connect).
//! `AMOC_NODES` names the workers it expects (see [`amoc::cluster::expected`]).

use amoc::cluster::expected::parse_nodes;
use amoc::cluster::{ClusterConfig, ClusterEvent, Fingerprint, Master};
use amoc::telemetry::Telemetry;
use tokio::sync::broadcast::error::RecvError;

use super::{cluster_name, ClusterLink, NatsOptions};

/// Connects to NATS and becomes the master; prints membership changes until the link stops.
pub(crate) async fn start(
    url: &str,
    fingerprint: Fingerprint,
    telemetry: Telemetry,
) -> anyhow::Result<(ClusterLink, Master)> {
    let cluster = cluster_name();
    let nodes = std::env::var("AMOC_NODES").ok();
    let cfg = ClusterConfig {
        nodes: parse_nodes(nodes.as_deref())?,
        ..ClusterConfig::new(&cluster)
    };
    let expected = cfg.nodes.join(", ");
    let link = ClusterLink::connect(NatsOptions::from_env(url), "amoc master").await?;
    let master = match link.master(cfg, fingerprint, telemetry).await {
        Ok(m) => m,
        Err(e) => {
            link.stop();
            return Err(e.into());
        }
    };
    let cfg = ClusterConfig::new(&cluster);
    if let Err(e) = link.throttle_master(cfg, master.clone()).await {
        link.stop();
        return Err(e.into());
    }
    println!(
        "master of cluster {cluster} on {url} (instance {}); workers join with: amoc worker --name NAME --cluster {url}",
        master.instance()
    );
    if !expected.is_empty() {
        println!("expecting nodes {expected} (AMOC_NODES)");
    }
    let mut events = master.events();
    actix_rt::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ClusterEvent::Connected { node, rejoin }) => {
                    let again = if rejoin { " again" } else { "" };
                    println!("node {node} connected{again}");
                }
                Ok(ClusterEvent::Down { node, reason }) => println!("node {node} down: {reason}"),
                Ok(ClusterEvent::FailedToConnect { node }) => {
                    println!("node {node} failed to connect (expected by AMOC_NODES)");
                }
                Ok(ClusterEvent::Refused { node, refusal }) => {
                    println!("node {node} refused: {refusal}");
                }
                Err(RecvError::Lagged(n)) => println!("({n} membership changes not shown)"),
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok((link, master))
}
