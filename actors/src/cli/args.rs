//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use amoc::Value;
use clap::{Args, Parser, Subcommand};

use crate::report::{ReportFormat, Threshold};

/// The command line of a [`Runner`](crate::Runner) (`amoc` is one).
#[derive(Debug, Parser)]
#[command(
    name = "amoc",
    version,
    about = "amoc-rs: run load-test scenarios with many simulated users"
)]
pub struct Cli {
    /// Log framework activity (info level) to stderr; RUST_LOG overrides.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands (and `demo`, added by [`Runner::http_demo`](crate::Runner::http_demo)).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario (its name may be left out when there is only one).
    Run {
        /// The scenario (also --scenario).
        #[arg(value_name = "SCENARIO")]
        name: Option<String>,
        /// The scenario.
        #[arg(long = "scenario", conflicts_with = "name")]
        scenario: Option<String>,
        /// Test settings.
        #[command(flatten)]
        args: RunArgs,
    },
    /// List the scenarios and their parameters.
    List,
    /// Serve the HTTP control API: start, grow, shrink and stop tests with curl.
    Serve(ServeArgs),
    /// Join a cluster as a worker: run the users its master gives this node.
    Worker(WorkerArgs),
}

/// Settings of `worker` (cluster name from AMOC_CLUSTER, credentials from AMOC_NATS_*).
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// This node's name in the cluster: letters, digits, '_', '-' or '@'.
    #[arg(long, value_parser = parse_node_name)]
    pub name: String,
    /// The NATS server: nats://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub cluster: String,
    /// User shards (one arbiter thread each); default: one per core.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Serve this node's Prometheus metrics (GET /metrics, labelled node=NAME) on HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics: Option<String>,
}

/// Parses a cluster node name.
pub fn parse_node_name(text: &str) -> Result<String, String> {
    if amoc::cluster::admission::valid_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "invalid node name {text:?}: use letters, digits, '_', '-' or '@'"
        ))
    }
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the control API listens on: HOST:PORT, HOST an address or a name (also
    /// accepted in the Host header). Beyond loopback every request needs the token.
    #[arg(long, default_value = "127.0.0.1:4000")]
    pub listen: String,
    /// A file holding the API token (else AMOC_API_TOKEN; else, beyond loopback, a token is
    /// generated and printed once).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve TLS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also start the embedded target on 127.0.0.1 and print its URL (for the http scenario).
    #[arg(long)]
    pub target: bool,
    /// User shards (one arbiter thread each); default: one per core.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Be the master of the cluster on this NATS server (nats://HOST:PORT): runs start on
    /// the workers, this node runs no users (cluster name from AMOC_CLUSTER).
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,
    /// Write each finished run's report to FILE.json or FILE.html ("{run}" in the name is
    /// replaced by the run's number; without it each run replaces the last) (repeatable).
    #[arg(long = "report", value_name = "FILE", value_parser = parse_report_path)]
    pub reports: Vec<PathBuf>,
}

/// Settings shared by `demo` and `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Users to start (at least 1).
    #[arg(long, value_name = "N", default_value = "100", value_parser = parse_users, allow_hyphen_values = true)]
    pub users: u64,
    /// How long to run before stopping: 20s, 500ms, 2m, or seconds (the test ends earlier
    /// when every user has ended).
    #[arg(long, default_value = "20s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub duration: Duration,
    /// Users started per minute (at least 1), or "infinity" [default: 1200, or AMOC_USER_RATE].
    #[arg(long, value_name = "RATE", value_parser = parse_user_rate, allow_hyphen_values = true)]
    pub user_rate: Option<Value>,
    /// A scenario parameter: name=value (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, Value)>,
    /// Append every amoc event to this file as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Write the run's report to FILE.json (data, histograms) or FILE.html (one page with
    /// charts), also when the run is interrupted (repeatable: both formats at once).
    #[arg(long = "report", value_name = "FILE", value_parser = parse_report_path)]
    pub reports: Vec<PathBuf>,
    /// A pass/fail threshold (repeatable): p99<200ms, errors<1%, rate>=99%, login.p95<100ms.
    /// A broken one makes the exit code 99.
    #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
    pub thresholds: Vec<Threshold>,
    /// User shards (one arbiter thread each); default: one per core.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Run on a cluster as its master (NATS server nats://HOST:PORT, cluster name from
    /// AMOC_CLUSTER): the workers run the users, this process merges their numbers. Exit 3
    /// when another master is live.
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,
    /// With --cluster: start once N workers have joined (default 1; AMOC_NODES names workers
    /// to wait for too).
    #[arg(long, value_name = "N", requires = "cluster", value_parser = parse_workers)]
    pub workers: Option<usize>,
    /// With --cluster: how long to wait for the workers (exit 4 when they do not come)
    /// [default: 30s].
    #[arg(long, value_name = "DURATION", requires = "cluster", value_parser = parse_duration)]
    pub join_timeout: Option<Duration>,
}

/// Parses `--workers`: a whole number of at least 1.
pub fn parse_workers(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of workers: give a whole number, at least 1"
        )),
    }
}

/// Parses `20s`, `500ms`, `2m`, `1h` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("invalid duration {text:?}: must be positive"));
    }
    let (num, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 20s, 500ms, 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration unit in {text:?}: use ms, s, m or h"
            ))
        }
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!("invalid duration {text:?}: must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `--threshold`: see [`Threshold::parse`].
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text).map_err(|e| e.to_string())
}

/// Parses `--report`: a path ending in `.json` or `.html`.
pub fn parse_report_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match ReportFormat::of(&path) {
        Some(_) => Ok(path),
        None => Err(format!("{text:?} must end in .json or .html")),
    }
}

/// Parses `name=value`; the value as in `AMOC_*` variables (JSON, or a bare word).
pub fn parse_setting(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid setting {text:?}: expected name=value"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("invalid setting {text:?}: empty name"));
    }
    let value =
        amoc::config::parse_value(value).map_err(|e| format!("invalid value for {name}: {e}"))?;
    Ok((name.to_owned(), value))
}

/// Parses `--users`: a whole number of at least 1.
pub fn parse_users(text: &str) -> Result<u64, String> {
    match text.trim().parse::<i128>() {
        Ok(n) if n >= 1 => u64::try_from(n).map_err(|_| format!("{text} users is too many")),
        Ok(0) => Err("a test needs at least 1 user (`serve` starts with none)".to_owned()),
        Ok(_) => Err(format!(
            "{text} is negative: give the number of users, at least 1"
        )),
        Err(_) => Err(format!(
            "{text:?} is not a number of users: give a whole number, at least 1"
        )),
    }
}

/// Parses `--user-rate`: users per minute (at least 1), or `infinity`.
pub fn parse_user_rate(text: &str) -> Result<Value, String> {
    if text == "infinity" {
        return Ok(Value::from("infinity"));
    }
    match text.trim().parse::<i128>() {
        Ok(0) => Err(
            "0 would start nobody: give users per minute, at least 1, or \"infinity\"".to_owned(),
        ),
        Ok(n) => u64::try_from(n).map(Value::from).map_err(|_| {
            format!("{text} is not a user rate: users per minute, at least 1, or \"infinity\"")
        }),
        Err(_) => Err(format!(
            "{text:?} is not a user rate: users per minute, at least 1, or \"infinity\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn users_and_user_rates_say_what_is_wrong_with_the_value() {
        assert_eq!(parse_users("5"), Ok(5));
        assert!(parse_users("0").unwrap_err().contains("at least 1 user"));
        assert!(parse_users("-5").unwrap_err().contains("-5 is negative"));
        assert!(parse_users("five")
            .unwrap_err()
            .contains("not a number of users"));
        assert_eq!(parse_user_rate("60"), Ok(Value::from(60)));
        assert_eq!(parse_user_rate("infinity"), Ok(Value::from("infinity")));
        assert!(parse_user_rate("0")
            .unwrap_err()
            .contains("would start nobody"));
        assert!(parse_user_rate("-1")
            .unwrap_err()
            .contains("not a user rate"));
        assert!(parse_duration("-5s")
            .unwrap_err()
            .contains("must be positive"));
    }

    #[test]
    fn workers_are_at_least_one() {
        assert_eq!(parse_workers("2"), Ok(2));
        assert!(parse_workers("0").unwrap_err().contains("at least 1"));
        assert!(parse_workers("two").is_err());
    }

    #[test]
    fn settings() {
        assert_eq!(
            parse_setting("url=http://127.0.0.1:1/"),
            Ok(("url".into(), Value::from("http://127.0.0.1:1/")))
        );
        assert_eq!(parse_setting("n=5"), Ok(("n".into(), Value::from(5))));
        assert!(parse_setting("novalue").is_err());
        assert!(parse_setting("=5").is_err());
        assert!(parse_setting("x=two words").is_err());
    }
}
