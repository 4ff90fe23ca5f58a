//! The operator's side of a cluster master (`amoc serve --cluster`): the cluster-wide rate
//! of a throttle seen and changed through the control API (the new rate reaches the workers'
//! shares and their pace), and `--report FILE` writing each finished run's merged report.
//! Real processes: a `nats-server`, the master, two workers, a ground-truth target.

mod cluster_support;
mod ground_truth;

use std::time::{Duration, Instant};

use cluster_support::{call, cluster_name, http_addr, node_command, until, worker, Nats, Proc};
use ground_truth::{Behaviour, GroundTruth};
use serde_json::{json, Value};

/// The `http_requests` throttle in `GET /throttles`, when it has a share for both workers.
fn both_shared(v: &Value) -> bool {
    let nodes = &v["throttles"]["http_requests"]["nodes"];
    nodes["w1"].is_object() && nodes["w2"].is_object()
}

#[test]
fn a_masters_throttle_rate_and_report_files() {
    let target = GroundTruth::start(Behaviour::default());
    let nats = Nats::start();
    let cluster = cluster_name("operator");
    let dir = std::env::temp_dir().join(format!("amoc-{cluster}"));
    std::fs::create_dir_all(&dir).expect("a report directory");
    let template = dir.join("run-{run}.json");
    let mut cmd = node_command(env!("CARGO_BIN_EXE_amoc"), &cluster);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--shards", "1"])
        .args(["--cluster", &nats.url, "--report"])
        .arg(&template);
    let mut m = Proc::spawn(cmd);
    m.line("master of cluster");
    let api = http_addr(&m.line("control API on http://"));
    let mut workers = Vec::new();
    for name in ["w1", "w2"] {
        let mut w = worker(&nats, &cluster, name);
        w.line("joined cluster");
        m.line(&format!("node {name} connected"));
        workers.push(w);
    }
    let start = json!({"scenario": "http", "users": 10,
        "settings": {"url": target.url(), "user_rate": "infinity", "request_rate": 400}});
    let (code, r) = call(api, "PATCH", "/execution/start", Some(start));
    assert_eq!(code, 200, "{r}");

    let before = until(api, "/throttles", both_shared);
    let t = &before["throttles"]["http_requests"];
    assert_eq!(
        (t["rate"].as_u64(), t["interval_ms"].as_u64()),
        (Some(400), Some(1000)),
        "{before}"
    );
    // Each worker's own figures, as it reports them to the master, and their sums.
    let used = until(api, "/throttles", |v| {
        let nodes = &v["throttles"]["http_requests"]["nodes"];
        let granted = |n: &str| nodes[n]["granted"].as_u64().unwrap_or(0);
        granted("w1") > 0 && granted("w2") > 0
    });
    let t = &used["throttles"]["http_requests"];
    let sum = |field: &str| -> u64 {
        ["w1", "w2"]
            .iter()
            .map(|n| t["nodes"][n][field].as_u64().expect("a number"))
            .sum()
    };
    assert_eq!(t["granted"].as_u64(), Some(sum("granted")), "{used}");
    assert_eq!(t["waiting"].as_u64(), Some(sum("waiting")), "{used}");
    assert_eq!(t["missed"].as_u64(), Some(sum("missed")), "{used}");
    let (code, r) = call(api, "PATCH", "/throttles/nope", Some(json!({"rate": 5})));
    assert_eq!(code, 404, "{r}");
    let (code, r) = call(
        api,
        "PATCH",
        "/throttles/http_requests",
        Some(json!({"concurrency": 3})),
    );
    assert_eq!(code, 422, "a cluster throttle's rate is finite: {r}");
    let (code, r) = call(
        api,
        "PATCH",
        "/throttles/http_requests",
        Some(json!({"rate": 800, "interval_ms": 1000})),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["throttle"]["rate"], 800, "{r}");
    // The new rate is split between the workers: never more than it, all of it in the end.
    until(api, "/throttles", |v| {
        let t = &v["throttles"]["http_requests"];
        let shared = t["shared"].as_u64().unwrap_or(0);
        assert!(shared <= t["rate"].as_u64().unwrap_or(0), "{v}");
        let share = |n: &str| t["nodes"][n]["share"].as_u64().unwrap_or(0);
        t["rate"] == 800 && shared == 800 && share("w1") > 0 && share("w2") > 0
    });
    // And the workers go at it: well above the old 400/s.
    let (n0, t0) = (target.seen().len(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let per_s = (target.seen().len() - n0) as f64 / t0.elapsed().as_secs_f64();
    assert!(
        per_s > 480.0 && per_s <= 880.0,
        "{per_s:.1} requests/s at 800/s"
    );
    // Lowered to 20/s (a permit every 100 ms per node): too low to split, it goes home on
    // the master, which grants every permit; the nodes still show what they report.
    let (code, r) = call(
        api,
        "PATCH",
        "/throttles/http_requests",
        Some(json!({"rate": 20, "interval_ms": 1000})),
    );
    assert_eq!(code, 200, "{r}");
    let home = until(api, "/throttles", |v| {
        let t = &v["throttles"]["http_requests"];
        t["home"] == true && t["shared"] == 0 && t["rate"] == 20
    });
    assert!(both_shared(&home), "{home}");

    let (code, r) = call(api, "PATCH", "/execution/stop", Some(json!({})));
    assert_eq!(code, 200, "{r}");
    let written = m.line("report of run 1 written to ");
    let path = dir.join("run-1.json");
    assert!(written.ends_with(&*path.to_string_lossy()), "{written}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the report")).expect("JSON");
    // Each worker's `init` probes the target once: not a counted request.
    let seen = target.seen().len() as u64 - 2;
    assert_eq!(
        report["totals"]["count"].as_u64(),
        Some(seen),
        "{}",
        report["totals"]
    );
    let (code, last) = call(api, "GET", "/report", None);
    assert_eq!(code, 200);
    assert_eq!(last["totals"]["count"], report["totals"]["count"]);
    for w in &mut workers {
        assert!(w.alive());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
