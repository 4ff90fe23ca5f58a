//! A scenario-like struct with three configured parameters.
//!
//! Run it as:
//!
//! ```sh
//! AMOC_INTERVAL_MS=250 cargo run --example configured_scenario
//! ```
//!
//! `interval_ms` is verified (it must be between 1 and 60 000) and can change while the run
//! goes on (its callback fires); `target` has a default and `protocol` must be one of a list.
//! Try `AMOC_INTERVAL_MS=0` (refused) or `AMOC_PROTOCOL='two words'` (a warning, default used).

use amoc::config::{Config, Declarations, Param, ParamDecl, Verdict};
use amoc::telemetry::Telemetry;
use serde_json::json;
use tokio::sync::mpsc;

const INTERVAL_MS: Param<u64> = Param::new("interval_ms");
const TARGET: Param<String> = Param::new("target");
const PROTOCOL: Param<String> = Param::new("protocol");

/// Stands in for a scenario until the `Scenario` trait exists.
struct PingScenario;

impl PingScenario {
    fn params(&self, changed: mpsc::UnboundedSender<u64>) -> Vec<ParamDecl> {
        vec![
            INTERVAL_MS
                .spec("pause between two pings of one user, in ms")
                .default(1000)
                .verify(|ms| match *ms {
                    1..=60_000 => Verdict::Accept,
                    _ => Verdict::RejectWith("must be between 1 and 60000 ms".into()),
                })
                .on_update(move |name, ms| {
                    println!("callback: {name} changed to {ms} ms");
                    let _ = changed.send(*ms);
                })
                .into(),
            TARGET
                .spec("host:port to ping")
                .default("localhost:8080".into())
                .into(),
            PROTOCOL
                .spec("wire protocol")
                .one_of(vec!["http".into(), "ws".into()])
                .default("http".into())
                .into(),
        ]
    }
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let config = Config::new(Telemetry::new()); // reads AMOC_* from the process environment
    config.start();

    let (changed_tx, mut changed) = mpsc::unbounded_channel();
    let decls = Declarations::collect([("ping_scenario", PingScenario.params(changed_tx))])?;
    config.resolve(decls, vec![]).await?;

    let view = config.view();
    println!("interval_ms = {}", INTERVAL_MS.get(&view)?);
    println!("target      = {}", TARGET.get(&view)?);
    println!("protocol    = {}", PROTOCOL.get(&view)?);

    println!("updating interval_ms to 100 at run time");
    config
        .update_settings(vec![("interval_ms".into(), json!(100))])
        .await?;
    println!(
        "interval_ms = {} (read right after the update)",
        INTERVAL_MS.get(&view)?
    );
    let fired = tokio::time::timeout(std::time::Duration::from_secs(2), changed.recv()).await;
    println!("callback fired: {}", matches!(fired, Ok(Some(100))));

    let refused = config
        .update_settings(vec![("target".into(), json!("elsewhere:80"))])
        .await;
    println!(
        "updating the read-only target: {}",
        refused.map_or_else(|e| e.to_string(), |_| "ok".into())
    );
    Ok(())
}
