//! The cluster bench's throttle figures: after the users part, the run is stopped and a
//! `throttle_probe` run starts on every worker (users waiting on one throttle of 1 000 000/s
//! cluster-wide, grants logged on `CLOCK_MONOTONIC`). The logs merged: the most grants in any
//! one-second window (never above the rate) and the rate achieved while every node granted
//! (goal ≥ 99 %). Then the same at a rate too low to split ([`LOW_RATE`], kept home on the
//! master and granted per permit): achieved, the most in any second, and the closest two
//! grants cluster-wide (even spacing: 1 s / rate).

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use amoc::throttle::max_in_window;
use anyhow::{bail, Context as _};
use serde_json::json;

use super::call;

/// The cluster-wide rate, per second.
const RATE: u64 = 1_000_000;
/// Users waiting on it (over all workers).
const USERS: u64 = 3_000;
/// How long the probe runs.
const RUN: Duration = Duration::from_secs(8);
/// The low cluster-wide rate, per second (per-node spacing over 10 ms: home on the master).
pub const LOW_RATE: u64 = 50;
/// Users waiting on it.
const LOW_USERS: u64 = 60;

/// The figures for the bench's last line.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    rate: u64,
    achieved: f64,
    max_in_window: u64,
    /// The closest two grants, all nodes merged.
    min_gap_ns: u64,
}

impl Figures {
    /// The low-rate line: `cluster_bench low_rate=R achieved_per_s=A max_in_window=M min_gap_ms=G`.
    pub fn low_line(&self) -> String {
        format!(
            "cluster_bench low_rate={} achieved_per_s={:.2} max_in_window={} min_gap_ms={:.1}",
            self.rate,
            self.achieved,
            self.max_in_window,
            self.min_gap_ns as f64 / 1e6
        )
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "throttle_rate={} throttle_achieved_per_s={:.0} max_in_window={}",
            self.rate, self.achieved, self.max_in_window
        )
    }
}

fn wait_finished(api: SocketAddr, nodes: &[String], limit: Duration) -> anyhow::Result<()> {
    let t0 = Instant::now();
    for name in nodes {
        loop {
            let (_, s) = call(api, "GET", &format!("/status/{name}"), None)?;
            let status = s["controller"]["status"].as_str().unwrap_or_default();
            if matches!(status, "finished" | "idle") {
                break;
            }
            if t0.elapsed() > limit {
                bail!("{name} still {status:?} after the stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// Stops the current run, runs the probe at [`RATE`] on `nodes` and measures it.
pub fn measure(api: SocketAddr, nodes: &[String], limit: Duration) -> anyhow::Result<Figures> {
    let (code, r) = call(api, "PATCH", "/execution/stop", None)?;
    if code != 200 {
        bail!("stop refused ({code}): {r}");
    }
    wait_finished(api, nodes, limit)?;
    let dir = std::env::temp_dir().join(format!("amoc-cluster-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let figures = probe(api, nodes, limit, &dir, RATE, USERS);
    let _ = std::fs::remove_dir_all(&dir);
    figures
}

/// Runs the probe at [`LOW_RATE`] on `nodes` (after [`measure`]) and measures it.
pub fn measure_low(api: SocketAddr, nodes: &[String], limit: Duration) -> anyhow::Result<Figures> {
    let dir = std::env::temp_dir().join(format!("amoc-cluster-bench-low-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let figures = probe(api, nodes, limit, &dir, LOW_RATE, LOW_USERS);
    let _ = std::fs::remove_dir_all(&dir);
    figures
}

fn probe(
    api: SocketAddr,
    nodes: &[String],
    limit: Duration,
    dir: &Path,
    rate: u64,
    users: u64,
) -> anyhow::Result<Figures> {
    let prefix = dir.join("grants");
    let start = json!({"scenario": "throttle_probe", "users": users,
        "settings": {"user_rate": "infinity", "probe_rate": rate,
                     "probe_log": prefix.to_string_lossy()}});
    let (code, r) = call(api, "PATCH", "/execution/start", Some(start))?;
    if code != 200 {
        bail!("probe start refused ({code}): {r}");
    }
    std::thread::sleep(RUN);
    let (code, r) = call(api, "PATCH", "/execution/stop", None)?;
    if code != 200 {
        bail!("probe stop refused ({code}): {r}");
    }
    wait_finished(api, nodes, limit)?;
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let bytes = std::fs::read(entry?.path())?;
        let mut times: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        times.sort_unstable();
        logs.push(times);
    }
    if logs.len() != nodes.len() {
        bail!("{} grant logs for {} workers", logs.len(), nodes.len());
    }
    let first = logs
        .iter()
        .filter_map(|l| l.first())
        .max()
        .context("no grant")?;
    let last = logs
        .iter()
        .filter_map(|l| l.last())
        .min()
        .context("no grant")?;
    // Every node granting, after a second of start-up, until just before the stop.
    let (from, to) = (first + 1_000_000_000, last.saturating_sub(200_000_000));
    if to <= from {
        bail!("the nodes did not grant together long enough");
    }
    let mut all = logs.concat();
    all.sort_unstable();
    let span: Vec<u64> = all
        .iter()
        .copied()
        .filter(|t| *t >= from && *t < to)
        .collect();
    Ok(Figures {
        rate,
        achieved: span.len() as f64 * 1e9 / (to - from) as f64,
        max_in_window: max_in_window(&all, 1_000_000_000),
        min_gap_ns: span.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(0),
    })
}
