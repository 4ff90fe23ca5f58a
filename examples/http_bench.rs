//! How fast users start sending: the built-in `http` scenario against the embedded target,
//! measured by the target.
//!
//! `cargo run --release --example http_bench -- --users 10000 --seconds 5 [--target-workers W] [--shards N]`
//!
//! Starts a [`TestTarget`] in a child process (this program with `--serve`; one process could
//! not hold the descriptors of 10,000 users and their 10,000 connections at the target), runs
//! `--users` users of the `http` scenario against it, all started at once
//! (`user_rate=infinity`), for `--seconds`, and prints one line:
//! `http_bench users=N seconds=S requests=R rate_per_s=X target_served=Q connections_answered=C
//! first_request_all_users_ms=T`.
//!
//! `--serve S` only serves the target for S seconds (or until a line `stop` on stdin; `0`: until
//! then or the end of stdin); it
//! prints `http_bench target=URL` first, and what it served at the end. To measure another
//! generator (wrk) against the same target: `http_bench --serve 30 & wrk -t2 -c100 -d10s URL`.
//!
//! `first_request_all_users_ms` is the time from the start of the test (before the app and its
//! shards start) until the target wrote the first answer on the last connection it answered:
//! each user keeps one connection, so once `connections_answered` is users + 1 (the scenario's
//! reachability probe in `init` is one more), every user had its first request answered. More
//! connections mean some were opened again (refused or timed out), and the figure is then the
//! time of the last first answer on any of them.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amoc_actors::scenarios::HttpScenario;
use amoc_actors::{LoadTest, Progress, TestTarget};
use anyhow::{bail, Context as _};

/// Same allocator as the `amoc` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: http_bench [--users N (default 10000)] [--seconds S (default 5)] \
[--target-workers W (default: one per core)] [--shards N (default: one per core)] \
[--serve S (only serve the target for S seconds)]";

struct Args {
    users: u64,
    seconds: u64,
    target_workers: usize,
    shards: Option<usize>,
    serve: Option<u64>,
}

/// The arguments, or `None` when `--help` asked for the usage.
fn parse() -> anyhow::Result<Option<Args>> {
    let mut a = Args {
        users: 10_000,
        seconds: 5,
        target_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        shards: None,
        serve: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        if k == "--help" || k == "-h" {
            return Ok(None);
        }
        let v = it
            .next()
            .with_context(|| format!("{k} needs a value\n{USAGE}"))?;
        let n: u64 = v
            .parse()
            .with_context(|| format!("{k} {v}: not a whole number\n{USAGE}"))?;
        match k.as_str() {
            "--users" => a.users = n,
            "--seconds" => a.seconds = n,
            "--target-workers" => a.target_workers = usize::try_from(n)?,
            "--shards" => a.shards = Some(usize::try_from(n)?),
            "--serve" => a.serve = Some(n),
            _ => bail!("unknown argument {k}\n{USAGE}"),
        }
    }
    if a.users == 0 || a.seconds == 0 {
        bail!("--users and --seconds must be at least 1\n{USAGE}");
    }
    Ok(Some(a))
}

fn main() -> anyhow::Result<()> {
    let Some(args) = parse()? else {
        println!("{USAGE}");
        return Ok(());
    };
    actix_rt::System::new().block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(seconds) = args.serve {
        return serve(args.target_workers, seconds).await;
    }
    let mut target = Child::spawn(args.target_workers)?;
    let mut test = LoadTest::new(HttpScenario)
        .users(args.users)
        .duration(Duration::from_secs(args.seconds))
        .set("url", target.url.clone())
        .set("user_rate", "infinity")
        .progress(Progress::Off);
    if let Some(n) = args.shards {
        test = test.shards(n);
    }
    let start = unix_ns(SystemTime::now());
    let outcome = test.run().await;
    let served = target.stop()?;
    let outcome = outcome?;
    let first_ms = served.last_first_answer_unix_ns.saturating_sub(start) as f64 / 1e6;
    let requests = outcome.stats.requests;
    println!(
        "http_bench users={} seconds={} requests={} rate_per_s={:.0} target_served={} \
         connections_answered={} first_request_all_users_ms={:.0}",
        args.users,
        args.seconds,
        requests,
        requests as f64 / outcome.elapsed.as_secs_f64(),
        served.requests,
        served.connections,
        first_ms,
    );
    if served.connections < args.users + 1 {
        bail!(
            "only {} of {} users had a request answered",
            served.connections.saturating_sub(1),
            args.users
        );
    }
    Ok(())
}

/// `--serve`: serves until `seconds` have passed or a line `stop` comes on stdin (0 seconds:
/// until `stop` or the end of stdin), then prints what the target served (the parent reads it).
async fn serve(workers: usize, seconds: u64) -> anyhow::Result<()> {
    let target = TestTarget::start(0, workers).context("starting the target")?;
    println!("http_bench target={}", target.url());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            if line.trim() == "stop" {
                let _ = stop_tx.send(());
                return;
            }
            line.clear();
        }
        if seconds == 0 {
            // The parent has gone.
            let _ = stop_tx.send(());
        } else {
            // A background job's empty input: serve the whole time.
            std::mem::forget(stop_tx);
        }
    });
    let limit = Duration::from_secs(if seconds == 0 { u64::MAX / 4 } else { seconds });
    tokio::select! {
        () = tokio::time::sleep(limit) => {}
        _ = stop_rx => {}
    }
    let answered = target.first_answers();
    // Wall-clock time, which the parent process shares.
    let last = answered.last.map_or(0, |at| {
        unix_ns(SystemTime::now()).saturating_sub(ns(at.elapsed()))
    });
    println!(
        "http_bench served={} connections_answered={} last_first_answer_unix_ns={last}",
        target.requests(),
        answered.connections
    );
    target.stop().await;
    Ok(())
}

/// What the target process served.
struct Served {
    requests: u64,
    connections: u64,
    last_first_answer_unix_ns: u64,
}

/// The target in a child process (this program with `--serve`): a process has a limit of
/// open files, and the target's connections are as many as the users'.
struct Child {
    process: std::process::Child,
    url: String,
    out: BufReader<ChildStdout>,
}

impl Child {
    fn spawn(workers: usize) -> anyhow::Result<Self> {
        let mut process = Command::new(std::env::current_exe()?)
            .args(["--serve", "0", "--target-workers", &workers.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the target process")?;
        let mut out = BufReader::new(process.stdout.take().context("no stdout")?);
        let mut line = String::new();
        out.read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("http_bench target=")
            .with_context(|| format!("the target process said {line:?}"))?
            .to_owned();
        Ok(Self { process, url, out })
    }

    /// Stops the target and reads what it served.
    fn stop(&mut self) -> anyhow::Result<Served> {
        writeln!(self.process.stdin.as_mut().context("no stdin")?, "stop")?;
        let mut line = String::new();
        self.out.read_line(&mut line)?;
        self.process.wait()?;
        let field = |name: &str| -> anyhow::Result<u64> {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("no {name} in {line:?}"))
        };
        Ok(Served {
            requests: field("served")?,
            connections: field("connections_answered")?,
            last_first_answer_unix_ns: field("last_first_answer_unix_ns")?,
        })
    }
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn unix_ns(t: SystemTime) -> u64 {
    ns(t.duration_since(UNIX_EPOCH).unwrap_or_default())
}
