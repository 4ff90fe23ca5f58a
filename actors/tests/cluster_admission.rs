//! Admission with real processes: a second worker under a taken name is refused with the
//! reason, told once on each side although it retries every half second, and a second
//! master of a live cluster stops with one line and exit 1.

mod cluster_support;

use std::process::Stdio;
use std::time::Duration;

use cluster_support::{node_command, worker, Cluster, Nats};

#[test]
fn a_duplicate_name_is_refused_once_with_its_reason() {
    let mut c = Cluster::start(Nats::start(), "admission", &["w1"]);
    let mut dup = worker(&c.nats, &c.name, "w1");
    let line = dup.line("refused by the master:");
    assert!(line.contains("duplicate node name \"w1\""), "{line}");
    c.m.proc.line("node w1 refused: duplicate node name");
    // Several retries later (every 0.5 s), then a marker line on each side.
    std::thread::sleep(Duration::from_secs(2));
    dup.signal("TERM");
    dup.line("shutting down");
    let _w2 = worker(&c.nats, &c.name, "w2");
    c.m.proc.line("node w2 connected");
    assert_eq!(dup.seen.matches("refused").count(), 1, "{}", dup.seen);
    assert_eq!(
        c.m.proc.seen.matches("refused").count(),
        1,
        "{}",
        c.m.proc.seen
    );
}

#[test]
fn a_second_master_of_a_live_cluster_stops_with_one_line() {
    let c = Cluster::start(Nats::start(), "two-masters", &["w1"]);
    let out = node_command(env!("CARGO_BIN_EXE_amoc"), &c.name)
        .args(["serve", "--listen", "127.0.0.1:0", "--cluster", &c.nats.url])
        .stdin(Stdio::null())
        .output()
        .expect("run a second master");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: the cluster already has a live master"),
        "{stderr}"
    );
}
