//! A two-level supervision tree with a crashing worker.
//!
//! `root` (one_for_one, 1 restart per 5 s) supervises `workers` (one_for_one, 2 restarts per
//! second), which supervises a steady worker and one that panics 300 ms after each start.
//! Watch the log: `workers` restarts the crasher twice, then gives up
//! (`reached_max_restart_intensity`) and exits; `root` restarts `workers` once; the second
//! time `root`'s own budget is exceeded and the whole tree stops.
//!
//! Run with `cargo run --example supervision_tree` (set `RUST_LOG=debug` for more).

use std::time::Duration;

use actix::{Actor, AsyncContext, Context};
use amoc::supervisor::*;

/// Panics `after` its start (a bug in a handler).
struct Crasher;

impl Actor for Crasher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("crasher started");
        ctx.run_later(Duration::from_millis(300), |_, _| {
            panic!("crasher hit a bug")
        });
    }
}

/// Does nothing, and is stopped with its supervisor.
struct Steady;

impl Actor for Steady {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        tracing::info!("steady worker started");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        tracing::info!("steady worker stopped");
    }
}

fn workers() -> Init {
    let steady = ChildSpec::new("steady", |starter| async move {
        Ok(Start::Started(starter.spawn_local(|_| Steady).1, None))
    });
    let crasher = ChildSpec::new("crasher", |starter| async move {
        Ok(Start::Started(starter.spawn_local(|_| Crasher).1, None))
    });
    let flags = SupFlags::new(Strategy::OneForOne).intensity(2, Duration::from_secs(1));
    Init::Supervise(flags, vec![steady, crasher])
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    std::panic::set_hook(Box::new(|info| tracing::warn!("panic: {info}")));

    let root_flags = SupFlags::new(Strategy::OneForOne).intensity(1, Duration::from_secs(5));
    let root = Supervisor::start(move || {
        Init::Supervise(root_flags, vec![Supervisor::child_spec("workers", workers)])
    })
    .await?
    .running()
    .ok_or_else(|| anyhow::anyhow!("root ignored"))?;

    let reason = tokio::time::timeout(Duration::from_secs(10), root.wait()).await?;
    tracing::info!(%reason, "root supervisor exited");
    Ok(())
}
