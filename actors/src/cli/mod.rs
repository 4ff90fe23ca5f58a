//! The `amoc` command line: run a load test, watch it live, read its summary.
//!
//! ```text
//! amoc demo                          # the built-in HTTP scenario against an embedded target
//! amoc run http --set url=http://127.0.0.1:8080/ --users 50 --duration 30s
//! amoc list                          # scenarios and their parameters
//! amoc serve --target                # the HTTP control API on 127.0.0.1:4000 (see `ControlApi`)
//! ```
//!
//! Settings come from `--set name=value` (values parsed as in `AMOC_*` variables: JSON, or a
//! bare word), then `AMOC_<NAME>` environment variables, then defaults. Bad input ends with a
//! one-line error and exit status 1 (2 for unparsable arguments). Ctrl-C stops the test
//! gracefully and still prints the summary.

mod args;
mod report;
mod runner;
mod serve;

use std::process::ExitCode;

use clap::Parser;

pub use args::{parse_duration, parse_setting, Cli, Command, RunArgs, ServeArgs};
pub use runner::{run, Outcome};

/// Parses the process arguments, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help, --version, and a bare `amoc` (its help is the useful answer).
        Err(e)
            if !e.use_stderr()
                || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        Err(e) => {
            // clap's first line names the bad argument; the usage block that follows would
            // bury it, so it is left to `--help`.
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first} (see --help)");
            return ExitCode::from(2);
        }
    };
    init_logging(cli.verbose);
    match runner::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, skipping causes its text already shows.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line.replace('\n', " ")
}

fn init_logging(verbose: bool) {
    let default = if verbose { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Completes on Ctrl-C, or on SIGTERM (as `docker stop` and CI runners send it), so both stop
/// a test gracefully.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
