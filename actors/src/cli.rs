//! The command line of a [`Runner`](crate::Runner): run a load test, watch it live, read its
//! summary. `amoc` is the runner of the built-in scenarios:
//!
//! ```text
//! amoc demo                          # the built-in HTTP scenario against an embedded target
//! amoc run http --set url=http://127.0.0.1:8080/ --users 50 --duration 30s
//! amoc list                          # scenarios and their parameters
//! amoc serve --target                # the HTTP control API on 127.0.0.1:4000 (see `ControlApi`)
//! amoc worker --name w1 --cluster nats://127.0.0.1:4222   # a cluster worker (docs/cluster.md)
//! amoc run http --cluster nats://127.0.0.1:4222 --workers 2 --users 1000   # this process the master
//! ```
//!
//! Settings come from `--set name=value` (values parsed as in `AMOC_*` variables: JSON, or a
//! bare word), then `AMOC_<NAME>` environment variables, then defaults.
//!
//! Exit codes: 0 the test ran (and every `--threshold` held); 1 it could not run (an unknown
//! scenario, a refused setting, a failing `init`, NATS unreachable, a worker refusing the
//! start) or its events or report file could not be written; 2 the arguments do not parse (a
//! bad `--threshold` expression included); 3 `run --cluster`: another master is live on the
//! cluster; 4 `run --cluster`: the workers did not join within `--join-timeout`; 99 a
//! threshold broke (as k6); 130 / 143 Ctrl-C / SIGTERM stopped it (after the summary and the
//! report). Every error is one line on stderr. Log lines (`-v`, `RUST_LOG`) are coloured only when stderr is a terminal.

mod args;
mod dispatch;
pub(crate) mod report;
mod report_files;
mod serve;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args as _, CommandFactory, FromArgMatches};

pub use args::{
    parse_duration, parse_node_name, parse_report_path, parse_setting, parse_threshold,
    parse_user_rate, parse_users, parse_workers, Cli, Command, RunArgs, ServeArgs, WorkerArgs,
};
pub(crate) use report_files::ReportFiles;

use crate::runner::Registry;

/// The user rate of `demo` when `--user-rate` is not given.
pub(crate) const DEMO_USER_RATE: u64 = 6000;

/// What the process was asked to do.
#[derive(Debug)]
pub(crate) enum Parsed {
    Demo(RunArgs),
    Other(Command),
}

/// Parses `args` (the program name first), runs the command, returns the exit code.
pub(crate) fn main(
    registry: Registry,
    demo: bool,
    about: Option<&str>,
    args: Vec<OsString>,
) -> ExitCode {
    let mut cmd = Cli::command();
    if let Some(name) = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .and_then(|s| s.to_str())
    {
        // clap keeps `&'static str` names; one per process.
        cmd = cmd.name(&*Box::leak(name.to_owned().into_boxed_str()));
    }
    if let Some(about) = about {
        cmd = cmd.about(about.to_owned());
    }
    if demo {
        let demo = RunArgs::augment_args(clap::Command::new("demo"))
            .about("Run the built-in HTTP scenario against an embedded target on 127.0.0.1")
            .display_order(0)
            .mut_arg("user_rate", |a| {
                a.help(format!(
                    "Users started per minute (at least 1), or \"infinity\" [default: {DEMO_USER_RATE}]"
                ))
            });
        cmd = cmd.subcommand(demo).mut_subcommand("run", |run| {
            run.about("Run a scenario (default: http) against the URL given with --set url=...")
        });
    }
    let parsed = cmd.try_get_matches_from(args).and_then(|m| {
        let verbose = m.get_flag("verbose");
        let parsed = match m.subcommand() {
            Some(("demo", sub)) => Parsed::Demo(RunArgs::from_arg_matches(sub)?),
            _ => Parsed::Other(Cli::from_arg_matches(&m)?.command),
        };
        Ok((verbose, parsed))
    });
    let (verbose, parsed) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(e),
    };
    init_logging(verbose);
    match dispatch::dispatch(parsed, registry) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Usage(text)) => {
            eprintln!("error: {text} (see --help)");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// Why a command failed: its arguments (exit 2) or its run (exit 1).
#[derive(Debug)]
pub(crate) enum Failure {
    Usage(String),
    Run(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Run(e.into())
    }
}

/// Help and version go to stdout as clap prints them; an error is one line, exit 2.
fn usage_error(e: clap::Error) -> ExitCode {
    if !e.use_stderr()
        || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    // clap's first line names the bad argument; the usage block that follows would bury
    // it, so it is left to `--help`.
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().skip_while(|l| l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    let mut first = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    // "the following required arguments were not provided:" names them on the next lines.
    if first.ends_with(':') {
        let named: Vec<&str> = lines
            .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
            .map(str::trim)
            .collect();
        first = format!("{first} {}", named.join(", "));
    }
    eprintln!("error: {first} (see --help)");
    ExitCode::from(2)
}

/// The error and its causes on one line, skipping causes its text already shows (and a
/// cause that only repeats the one before with a prefix replaces it).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut last = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !last.is_empty() && text.contains(&last) {
            // "authorization violation" then "nats: authorization violation": keep one.
            line.truncate(line.len() - last.len());
        } else if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
        last = text;
    }
    line.replace('\n', " ")
}

/// Log lines on stderr, coloured only on a terminal (and never with `NO_COLOR` set).
fn init_logging(verbose: bool) {
    // async-nats logs its connection errors itself; the node says them once in its own
    // words (the error line, or the cluster's connection warnings).
    let default = if verbose {
        "info"
    } else {
        "warn,async_nats=off"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .try_init();
}

/// Completes on Ctrl-C or SIGTERM (for `serve`).
pub(crate) async fn stop_signal() {
    let _ = crate::runner::stop_signal().await;
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct E {
        text: &'static str,
        #[source]
        source: Option<Box<E>>,
    }

    fn chain(texts: &[&'static str]) -> anyhow::Error {
        let mut e: Option<Box<E>> = None;
        for text in texts.iter().rev() {
            e = Some(Box::new(E { text, source: e }));
        }
        anyhow::Error::new(*e.expect("one text at least"))
    }

    #[test]
    fn causes_are_joined_once() {
        let e = chain(&["cannot connect to NATS at nats://h:1", "timed out"]);
        assert_eq!(
            one_line(&e),
            "cannot connect to NATS at nats://h:1: timed out"
        );
        let e = chain(&["a: b", "b"]);
        assert_eq!(one_line(&e), "a: b");
        let e = chain(&[
            "cannot connect",
            "authorization violation",
            "nats: authorization violation",
        ]);
        assert_eq!(
            one_line(&e),
            "cannot connect: nats: authorization violation"
        );
        let e = chain(&["two\nlines"]);
        assert_eq!(one_line(&e), "two lines");
    }
}
