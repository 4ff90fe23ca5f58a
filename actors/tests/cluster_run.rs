//! `amoc run --cluster URL`: the process that runs the test is the cluster's master. Real
//! processes: a `nats-server` on a free loopback port, two `amoc worker`s, and `amoc run`
//! against a target that logs every request it saw (the ground truth).

mod cluster_support;
mod ground_truth;

use std::path::Path;
use std::process::Output;

use cluster_support::{cluster_name, master, node_command, worker, Nats, Proc};
use ground_truth::{Behaviour, GroundTruth};
use serde_json::Value;

/// `amoc run http --cluster URL ARGS...` for cluster `cluster`, to the end.
fn run(nats: &Nats, cluster: &str, args: &[&str]) -> Output {
    let mut cmd = node_command(env!("CARGO_BIN_EXE_amoc"), cluster);
    cmd.args(["run", "http", "--cluster", &nats.url]).args(args);
    cmd.env_remove("RUST_LOG");
    cmd.output().expect("run amoc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The request total of the summary (`requests    total N ...`).
fn summary_total(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("requests    total"))
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"));
    line.split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no total in {line:?}"))
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit code")
}

#[test]
fn a_cluster_run_counts_what_the_target_saw_and_leaves_its_workers_up() {
    let target = GroundTruth::start(Behaviour {
        error_every: Some(7),
        ..Behaviour::default()
    });
    let nats = Nats::start();
    let cluster = cluster_name("run");
    let mut workers: Vec<Proc> = ["w1", "w2"]
        .iter()
        .map(|n| worker(&nats, &cluster, n))
        .collect();
    let dir = std::env::temp_dir().join(format!("amoc-{cluster}"));
    std::fs::create_dir_all(&dir).expect("a report directory");
    let report = dir.join("r.json");
    let url = format!("url={}", target.url());
    let out = run(
        &nats,
        &cluster,
        &[
            "--workers",
            "2",
            "--users",
            "20",
            "--duration",
            "3s",
            "--user-rate",
            "infinity",
            "--set",
            &url,
            "--set",
            "request_rate=200",
            "--report",
            &report.to_string_lossy(),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("master of cluster"), "{stdout}");
    assert!(
        stdout.contains("running scenario http with 20 users on 2 workers (w1, w2)"),
        "{stdout}"
    );
    assert!(stdout.contains("req/s"), "a progress line: {stdout}");
    // The cluster's throttle, as a one-node summary shows it: the rate is the cluster's.
    assert!(
        stdout.contains("throttle    http_requests  asked 200/s"),
        "{stdout}"
    );
    let total = summary_total(&stdout);
    // Each worker's `init` probes the target once: not a counted request.
    let seen = target.seen().len() as u64 - 2;
    assert_eq!(total, seen, "the summary counts what the target saw");
    assert!(total > 50, "{stdout}");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report")).expect("JSON");
    assert_eq!(r["totals"]["count"].as_u64(), Some(total), "{r}");
    let failed = r["totals"]["failed"].as_u64().unwrap_or(0);
    assert!(failed > 0 && failed < total, "the 500s are merged too: {r}");
    assert_eq!(r["users"]["started"].as_u64(), Some(20), "{}", r["users"]);
    // As the workers last reported it (each second): at most a second behind the requests.
    let granted = r["throttles"][0]["granted"].as_u64().expect("granted");
    assert!(
        granted + 250 >= total && granted <= total + 20,
        "{total} requests: {}",
        r["throttles"]
    );
    for w in &mut workers {
        assert!(w.alive(), "a worker stays up after the run");
    }

    // The workers join the next master (once their lease on the first one lapsed) and run
    // its test; a broken threshold is exit code 99.
    let before = target.seen().len();
    let out = run(
        &nats,
        &cluster,
        &[
            "--workers",
            "2",
            "--users",
            "4",
            "--duration",
            "2s",
            "--user-rate",
            "infinity",
            "--set",
            &url,
            "--threshold",
            "errors<1%",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 99, "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("threshold   broken errors<1%"), "{stdout}");
    let seen = (target.seen().len() - before) as u64 - 2;
    assert_eq!(summary_total(&stdout), seen, "{stdout}");
    for w in &mut workers {
        assert!(w.alive(), "a worker stays up after the second run");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_worker_in_time_is_one_line_and_exit_code_4() {
    let nats = Nats::start();
    let cluster = cluster_name("run-alone");
    let out = run(
        &nats,
        &cluster,
        &[
            "--join-timeout",
            "1s",
            "--users",
            "5",
            "--set",
            "url=http://127.0.0.1:9/",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 4, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: 0 of 1 workers joined within 1s (none)"),
        "{stderr}"
    );
    assert!(
        lines[0].contains("amoc worker --name NAME --cluster"),
        "{stderr}"
    );
}

#[test]
fn a_live_master_refuses_a_second_one_with_exit_code_3() {
    let nats = Nats::start();
    let cluster = cluster_name("run-second");
    let _m = master(&nats, &cluster);
    let out = run(
        &nats,
        &cluster,
        &["--users", "5", "--set", "url=http://127.0.0.1:9/"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 3, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("the cluster already has a live master"),
        "{stderr}"
    );
}

#[test]
fn cluster_options_need_cluster() {
    let mut cmd = node_command(Path::new(env!("CARGO_BIN_EXE_amoc")), "none");
    let out = cmd
        .args(["run", "http", "--workers", "2"])
        .output()
        .expect("run amoc");
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--cluster"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn sigterm_stops_a_cluster_run_after_its_summary_and_report() {
    let target = GroundTruth::start(Behaviour::default());
    let nats = Nats::start();
    let cluster = cluster_name("run-term");
    let mut w = worker(&nats, &cluster, "w1");
    let dir = std::env::temp_dir().join(format!("amoc-{cluster}"));
    std::fs::create_dir_all(&dir).expect("a report directory");
    let report = dir.join("r.json");
    let mut cmd = node_command(env!("CARGO_BIN_EXE_amoc"), &cluster);
    cmd.args(["run", "http", "--cluster", &nats.url, "--duration", "60s"])
        .args(["--users", "3", "--user-rate", "infinity", "--set"])
        .arg(format!("url={}", target.url()))
        .args(["--set", "request_rate=50", "--report"])
        .arg(&report);
    let mut run = Proc::spawn(cmd);
    run.line("req/s");
    run.signal("TERM");
    run.line("terminated (SIGTERM): stopping the test");
    let total = run.line("requests    total");
    run.line("report written to");
    let status = run.child.wait().expect("the exit status");
    assert_eq!(status.code(), Some(143), "{}", run.seen);
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report")).expect("JSON");
    let count = r["totals"]["count"].as_u64().expect("a count");
    assert!(total.contains(&count.to_string()), "{total}");
    assert_eq!(count, target.seen().len() as u64 - 1, "{}", r["totals"]);
    assert!(w.alive(), "the worker stays up");
    w.line("joined cluster");
    let _ = std::fs::remove_dir_all(&dir);
}
