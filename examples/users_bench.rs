//! How many idle users amoc-rs holds, how fast it starts them and how fast it stops them.
//!
//! ```sh
//! cargo run --release --example users_bench -- --users 1000000
//! ```
//!
//! Starts `N` users that only await their mailbox, with an unlimited user rate and one shard
//! per core, waits until all of them run, then stops the scenario and waits for `Finished`.
//! The last line printed is
//! `users_bench users=N start_s=S users_per_s=R rss_bytes_per_user=B stop_s=T`, where the RSS
//! per user is the growth of the resident set (from `/proc/self/statm`) between just before
//! `add_users` and the moment all users run, divided by `N`.

//!
//! It runs on mimalloc, as the `amoc` binary does: a user is a handful of small allocations,
//! and glibc's malloc made starting a million of them about 45 % slower (README, Benchmarks).

use std::time::{Duration, Instant};

use amoc::app::App;
use amoc::config::MapEnv;
use amoc::controller::StatusKind;
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::user_rate::UserRate;
use amoc::users::Received;
use anyhow::{bail, Context as _};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Users wait on their mailbox until asked to stop.
struct IdleUser;

impl Scenario for IdleUser {
    const NAME: &'static str = "idle_user";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        while !matches!(user.recv().await, Received::StopRequested) {}
        Ok(())
    }
}

fn users_arg() -> anyhow::Result<u64> {
    let mut users = 100_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => {
                let v = args.next().context("--users needs a value")?;
                users = v
                    .replace('_', "")
                    .parse()
                    .context("--users: not a number")?;
            }
            "--help" | "-h" => {
                println!("usage: users_bench [--users N (default 100000)]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (usage: users_bench --users N)"),
        }
    }
    if users == 0 {
        bail!("--users must be at least 1");
    }
    Ok(users)
}

/// Resident set size in bytes: resident pages from `/proc/self/statm` × page size.
fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .context("malformed /proc/self/statm")?
        .parse()?;
    Ok(pages * page_size())
}

/// The kernel page size, from `/proc/self/smaps` (4 KiB if it cannot be read).
fn page_size() -> u64 {
    std::fs::read_to_string("/proc/self/smaps")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("KernelPageSize:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(4096, |kb| kb * 1024)
}

/// Polls `f` every millisecond, at most `limit`.
async fn wait_until(
    limit: Duration,
    what: &str,
    mut f: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !f() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    let n = users_arg()?;
    // Generous: a busy machine may be slow, but a stuck run must not hang forever.
    let limit = Duration::from_secs(60 + n / 10_000);
    let app = App::builder()
        .scenario(IdleUser)
        .env(MapEnv::new())
        .start()
        .await?;
    let c = app.controller();
    let settings = vec![UserRate::Infinity.setting()];
    c.start_scenario(IdleUser::NAME, settings).await?;

    let rss_before = rss_bytes()?;
    let t0 = Instant::now();
    c.add_users(n).await?;
    wait_until(limit, "users to start", || c.status().users.running == n)
        .await
        .with_context(|| format!("status: {:?}", c.status()))?;
    let start_s = t0.elapsed().as_secs_f64();
    let rss_after = rss_bytes()?;

    let t1 = Instant::now();
    c.stop_scenario().await?;
    wait_until(limit, "the run to finish", || {
        c.status().kind == StatusKind::Finished
    })
    .await
    .with_context(|| format!("status: {:?}", c.status()))?;
    let stop_s = t1.elapsed().as_secs_f64();
    app.shutdown().await;

    let per_user = rss_after.saturating_sub(rss_before) / n;
    println!(
        "users_bench users={n} start_s={start_s:.3} users_per_s={:.0} rss_bytes_per_user={per_user} stop_s={stop_s:.3}",
        n as f64 / start_s
    );
    Ok(())
}
