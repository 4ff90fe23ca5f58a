//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use amoc::Value;
use clap::{Args, Parser, Subcommand};

/// amoc-rs: a load-testing framework on actix.
#[derive(Debug, Parser)]
#[command(
    name = "amoc",
    version,
    about = "amoc-rs: run load-test scenarios with many simulated users (try `amoc demo`)"
)]
pub struct Cli {
    /// Log framework activity (info level) to stderr; RUST_LOG overrides.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in HTTP scenario against an embedded target on 127.0.0.1.
    Demo(RunArgs),
    /// Run a scenario (default: http) against the URL given with --set url=...
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
}

/// Settings shared by `demo` and `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Users to start.
    #[arg(long, default_value_t = 100)]
    pub users: u64,
    /// How long to run before stopping: 20s, 500ms, 2m, or seconds.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Users started per minute, or "infinity".
    #[arg(long, value_parser = parse_user_rate)]
    pub user_rate: Option<Value>,
    /// A scenario parameter: name=value (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, Value)>,
    /// Append every amoc event to this file as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// User shards (one arbiter thread each); default: one per core.
    #[arg(long)]
    pub shards: Option<usize>,
}

/// Parses `20s`, `500ms`, `2m`, `1h` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
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

fn parse_user_rate(text: &str) -> Result<Value, String> {
    if text == "infinity" {
        return Ok(Value::from("infinity"));
    }
    text.parse::<u64>().map(Value::from).map_err(|_| {
        format!(
            "invalid user rate {text:?}: a non-negative integer (users per minute) or \"infinity\""
        )
    })
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
