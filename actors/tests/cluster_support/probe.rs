//! Real-process tests whose nodes run a probe scenario: the test binary itself, re-run as
//! `amoc` (a `Runner` of that scenario) through a "test" that does nothing otherwise, so every
//! node has the same build; each node logs times on `CLOCK_MONOTONIC` to a file of its own.

use std::net::SocketAddr;
use std::path::Path;

use super::{http_addr, node_command, Nats, Proc};

/// The body of the node-process test: when `var` holds a command line, runs it as `amoc`
/// with `runner` and exits with its outcome; otherwise returns (a plain test run).
pub fn run_node_if_asked(var: &str, runner: impl FnOnce() -> amoc_actors::Runner) {
    let Ok(args) = std::env::var(var) else {
        return;
    };
    let args = std::iter::once("amoc").chain(args.split(' '));
    let code = runner().main_from(args);
    let ok = format!("{code:?}") == format!("{:?}", std::process::ExitCode::SUCCESS);
    std::process::exit(if ok { 0 } else { 1 });
}

/// A node of `cluster`: this test binary re-run as its test `test`, with the command line
/// `args` in `var`.
pub fn node(cluster: &str, test: &str, var: &str, args: &str) -> Proc {
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = node_command(exe, cluster);
    cmd.args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env(var, args);
    Proc::spawn(cmd)
}

/// The master (`serve --cluster`, one shard) as such a node; its API address.
pub fn master(nats: &Nats, cluster: &str, test: &str, var: &str) -> (Proc, SocketAddr) {
    let args = format!(
        "serve --listen 127.0.0.1:0 --shards 1 --cluster {}",
        nats.url
    );
    let mut m = node(cluster, test, var, &args);
    m.line("master of cluster");
    let api = http_addr(&m.line("control API on http://"));
    (m, api)
}

/// The files of `dir` as records of `N` little-endian u64s, per file.
pub fn records<const N: usize>(dir: &Path) -> Vec<Vec<[u64; N]>> {
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the log directory") {
        let bytes = std::fs::read(entry.expect("an entry").path()).expect("a log");
        let log = bytes
            .chunks_exact(8 * N)
            .map(|c| std::array::from_fn(|i| read_u64(&c[8 * i..8 * i + 8])))
            .collect();
        logs.push(log);
    }
    logs
}

fn read_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

/// Every time (ns) in the logs of `dir`, per file, sorted.
pub fn times(dir: &Path) -> Vec<Vec<u64>> {
    records::<1>(dir)
        .into_iter()
        .map(|log| {
            let mut t: Vec<u64> = log.into_iter().map(|[t]| t).collect();
            t.sort_unstable();
            t
        })
        .collect()
}
