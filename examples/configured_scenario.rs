//! A scenario with three configured parameters, run by the controller.
//!
//! ```sh
//! AMOC_INTERVAL_MS=250 cargo run --example configured_scenario
//! ```
//!
//! Ten users "tick" (count a ping, no network) every `interval_ms`. `interval_ms` is verified
//! (between 1 and 60 000) and updatable while the run goes on: halfway through, the example
//! sets it to 50 and the tick rate goes up, which its update callback announces. `target` has
//! a default and `protocol` must be one of a list. Try `AMOC_INTERVAL_MS=0` (the run is
//! refused, with the reason) or `AMOC_PROTOCOL='two words'` (a warning; the default is used).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amoc::app::App;
use amoc::config::{Param, ParamDecl, Verdict};
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::user_rate::UserRate;
use amoc::users::Received;
use amoc::Value;

const INTERVAL_MS: Param<u64> = Param::new("interval_ms");
const TARGET: Param<String> = Param::new("target");
const PROTOCOL: Param<String> = Param::new("protocol");

/// Users tick every `interval_ms` until asked to stop.
#[derive(Default)]
struct Ping {
    ticks: Arc<AtomicU64>,
}

impl Scenario for Ping {
    const NAME: &'static str = "ping";
    type State = String;
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![
            INTERVAL_MS
                .spec("pause between two ticks of one user, in ms")
                .default(1000)
                .verify(|ms| match *ms {
                    1..=60_000 => Verdict::Accept,
                    _ => Verdict::RejectWith("must be between 1 and 60000 ms".into()),
                })
                .on_update(|name, ms| println!("update callback: {name} is now {ms} ms"))
                .into(),
            TARGET
                .spec("host:port the users would ping")
                .default("127.0.0.1:8080".into())
                .into(),
            PROTOCOL
                .spec("wire protocol")
                .one_of(vec!["http".into(), "ws".into()])
                .default("http".into())
                .into(),
        ]
    }

    async fn init(&self, ctx: RunContext) -> Result<String, ScenarioError> {
        let view = ctx.config();
        let (target, protocol) = (TARGET.get(view)?, PROTOCOL.get(view)?);
        println!(
            "init: interval_ms = {}, target = {target}, protocol = {protocol}",
            INTERVAL_MS.get(view)?
        );
        Ok(format!("{protocol}://{target}"))
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        loop {
            // Read on every tick, so an update applies to running users at once.
            let pause = Duration::from_millis(INTERVAL_MS.get(user.config())?);
            match user.recv_timeout(pause).await {
                Received::StopRequested => return Ok(()),
                Received::Timeout | Received::Message(()) => {
                    self.ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let ping = Ping::default();
    let ticks = ping.ticks.clone();
    // The app reads AMOC_* variables from the process environment.
    let app = App::builder().scenario(ping).start().await?;
    let c = app.controller();
    let settings = vec![UserRate::Infinity.setting()];
    if let Err(e) = c.run(Ping::NAME, 10, settings).await {
        println!("the run was refused: {e}");
        app.shutdown().await;
        return Ok(());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = ticks.swap(0, Ordering::Relaxed);
    println!("first 2 s: {before} ticks from 10 users");

    c.update_settings(vec![("interval_ms".into(), Value::from(50))])
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "next 2 s, interval_ms = 50: {} ticks",
        ticks.load(Ordering::Relaxed)
    );

    let refused = c
        .update_settings(vec![("target".into(), Value::from("127.0.0.1:9090"))])
        .await;
    println!(
        "updating the read-only target: {}",
        refused.map_or_else(|e| e.to_string(), |()| "accepted".into())
    );
    c.stop_scenario().await?;
    c.wait_finished().await;
    app.shutdown().await;
    Ok(())
}
