//! `amoc worker --name NAME --cluster nats://HOST:PORT [--metrics HOST:PORT]`: a node that
//! runs the users a master gives it. It stays up across masters: when its master is lost it stops its run and waits
//! for the next one. One line on stdout per change (joined, refused, master lost, run stopped).

use std::time::Duration;

use amoc::app::App;
use amoc::cluster::{ClusterConfig, WorkerState};
use amoc::controller::StatusKind;
use anyhow::Context as _;

use super::{cluster_name, fingerprint, ClusterLink, NatsOptions};
use crate::cli::WorkerArgs;
use crate::runner::Registry;

/// How long a stopping run may take at exit before the process ends anyway.
const EXIT_GRACE: Duration = Duration::from_secs(30);

/// Runs the worker until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: WorkerArgs, registry: Registry) -> anyhow::Result<()> {
    let fp = fingerprint(&registry.names());
    let mut builder = registry.register_on(App::builder());
    if let Some(n) = args.shards {
        builder = builder.shards(n);
    }
    let app = builder.start().await?;
    let metrics = match &args.metrics {
        Some(addr) => match super::metrics::serve(&app, &args.name, addr).await {
            Ok(server) => Some(server),
            Err(e) => {
                app.shutdown().await;
                return Err(e);
            }
        },
        None => None,
    };
    let result = serve(&app, &args.name, &args.cluster, fp).await;
    if let Some(server) = metrics {
        server.stop(true).await;
    }
    app.shutdown().await;
    result
}

async fn serve(
    app: &App,
    name: &str,
    url: &str,
    fp: amoc::cluster::Fingerprint,
) -> anyhow::Result<()> {
    let cluster = cluster_name();
    let link =
        ClusterLink::connect(NatsOptions::from_env(url), &format!("amoc worker {name}")).await?;
    let c = app.controller().clone();
    let leased = app.throttles().lease_shares();
    let worker = link
        .worker(
            ClusterConfig::new(&cluster),
            name,
            fp,
            c.clone(),
            app.telemetry().clone(),
        )
        .await
        .context("cannot start the worker")?;
    let cfg = ClusterConfig::new(&cluster);
    let throttles = link.throttle_worker(cfg, name, &worker, leased).await?;
    println!("worker {name} of cluster {cluster} on {url}: joining (Ctrl-C stops)");
    let mut state = worker.state();
    let stop = crate::runner::stop_signal();
    tokio::pin!(stop);
    let mut member = false;
    loop {
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = state.borrow_and_update().clone();
                match now {
                    WorkerState::Member { master } => {
                        member = true;
                        println!("joined cluster {cluster} (master {master})");
                    }
                    WorkerState::Joining { refused: Some(r) } => {
                        println!("refused by the master: {r}");
                    }
                    WorkerState::Joining { refused: None } if member => {
                        member = false;
                        println!("master lost: stopping the run, waiting for a master");
                        let c = c.clone();
                        actix_rt::spawn(async move {
                            c.wait_finished().await;
                            let users = c.users().read();
                            println!(
                                "run stopped: {} users live",
                                users.waiting + users.running + users.stopping
                            );
                        });
                    }
                    WorkerState::Joining { refused: None } => {}
                }
            }
            _ = &mut stop => break,
        }
    }
    println!("worker {name}: shutting down");
    worker.shutdown();
    throttles.shutdown();
    if matches!(c.status().kind, StatusKind::Running) {
        let _ = c.stop_scenario().await;
    }
    let _ = tokio::time::timeout(EXIT_GRACE, c.wait_finished()).await;
    link.stop();
    Ok(())
}
