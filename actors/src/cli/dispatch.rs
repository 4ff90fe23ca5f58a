//! Running a parsed command: `run`, `demo`, `list`, `serve`.

use amoc::Value;
use anyhow::Context as _;

use super::args::{Command, RunArgs};
use super::{report, Failure, Parsed, DEMO_USER_RATE};
use crate::runner::{LoadTest, Registry};
use crate::scenarios::HttpScenario;
use crate::TestTarget;
use amoc::scenario::Scenario as _;

/// Runs `parsed` with `registry`'s scenarios; returns the exit code of a command that ran.
pub(super) fn dispatch(parsed: Parsed, registry: Registry) -> Result<u8, Failure> {
    match parsed {
        Parsed::Other(Command::List) => {
            print!("{}", report::list(&registry.list()));
            Ok(0)
        }
        Parsed::Other(Command::Serve(args)) => {
            actix_rt::System::new().block_on(super::serve::serve(args, registry))?;
            Ok(0)
        }
        Parsed::Other(Command::Worker(a)) => {
            let worker = crate::cluster::worker::run(a, registry);
            actix_rt::System::new().block_on(worker)?;
            Ok(0)
        }
        Parsed::Other(Command::Run {
            name,
            scenario,
            args,
        }) => {
            let name = match name.or(scenario) {
                Some(name) => name,
                None => registry.default_name().map(str::to_owned).ok_or_else(|| {
                    Failure::Usage(format!(
                        "name the scenario to run: one of {}",
                        registry.names().join(", ")
                    ))
                })?,
            };
            if !registry.contains(&name) {
                return Err(Failure::Run(anyhow::anyhow!(
                    "no scenario named {name:?} (scenarios: {})",
                    registry.names().join(", ")
                )));
            }
            actix_rt::System::new().block_on(run(registry, &name, args))
        }
        Parsed::Demo(mut args) => actix_rt::System::new().block_on(async move {
            // One worker per core, as the users have one shard per core: with one, the target
            // was the demo's bottleneck (~2x fewer requests on 2 cores).
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            let target =
                TestTarget::start(0, workers).context("cannot start the embedded target")?;
            println!("embedded target listening on {}", target.url());
            if !args.settings.iter().any(|(k, _)| k == "url") {
                args.settings
                    .push(("url".into(), Value::from(target.url())));
            }
            if args.user_rate.is_none() && !args.settings.iter().any(|(k, _)| k == "user_rate") {
                args.user_rate = Some(Value::from(DEMO_USER_RATE));
            }
            let code = run(registry, HttpScenario::NAME, args).await;
            target.stop().await;
            code
        }),
    }
}

/// One test of `scenario`; the summary is printed before any error about the events file.
async fn run(registry: Registry, scenario: &str, args: RunArgs) -> Result<u8, Failure> {
    let mut test = LoadTest::of(registry, scenario)
        .users(args.users)
        .duration(args.duration);
    for (name, value) in args.settings {
        test = test.set(name, value);
    }
    if let Some(rate) = args.user_rate {
        test = test.set("user_rate", rate);
    }
    if let Some(path) = args.events {
        test = test.events(path);
    }
    if let Some(n) = args.shards {
        test = test.shards(n);
    }
    for path in args.reports {
        test = test.report(path);
    }
    for t in args.thresholds {
        test = test.threshold(t);
    }
    if let Some(url) = args.cluster {
        test = test.cluster(url).workers(args.workers.unwrap_or(1));
        if let Some(d) = args.join_timeout {
            test = test.join_timeout(d);
        }
    }
    let outcome = match test.run().await {
        Ok(outcome) => outcome,
        Err(e) => {
            let code = e.exit_code();
            eprintln!("error: {}", super::one_line(&e.into()));
            return Ok(code);
        }
    };
    if let Some(e) = &outcome.events_error {
        eprintln!("error: {e}");
    }
    if let Some(e) = &outcome.report_error {
        let cause = std::error::Error::source(e).map_or(String::new(), |c| format!(": {c}"));
        eprintln!("error: {e}{cause}");
    }
    Ok(outcome.exit_code())
}
