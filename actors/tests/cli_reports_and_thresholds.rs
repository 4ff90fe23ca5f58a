//! `--report` and `--threshold` through the real `amoc` binary: the JSON report follows its
//! documented schema and its histograms decode and merge; the HTML page renders in a headless
//! Chromium with the run's numbers; thresholds give exit codes 0, 99 and 2; an interrupted
//! run still writes its report.

mod cli_support;
mod schema_check;

use std::path::{Path, PathBuf};
use std::process::Command;

use amoc_actors::report::histogram;
use cli_support::{
    amoc, amoc_bin, assert_one_line_error, kill, read_rest, read_until, spawn, text,
};
use serde_json::Value;

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn in_dir(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn the_json_report_follows_its_schema_and_its_histograms_merge() {
    let dir = tempfile::tempdir().unwrap();
    let json = in_dir(&dir, "run.json");
    let out = amoc(&[
        "demo",
        "--users",
        "4",
        "--duration",
        "2s",
        "--set",
        "request_rate=400",
        "--report",
        json.to_str().unwrap(),
        "--threshold",
        "p99<10s",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("report written to"));
    let report = read_json(&json);
    let bad = schema_check::violations(&schema(), &report);
    assert!(bad.is_empty(), "{bad:#?}");

    let totals = &report["totals"];
    let names = report["names"].as_array().unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0]["count"], totals["count"]);
    assert!(totals["count"].as_u64().unwrap() > 100);
    let mut merged = amoc::metrics::new_histogram();
    for kind in ["service_ok", "service_failed"] {
        let h = histogram::decode(totals["histograms"][kind].as_str().unwrap()).unwrap();
        merged.add(&h).unwrap();
    }
    assert_eq!(
        merged.len(),
        totals["count"].as_u64().unwrap(),
        "ok + failed = all"
    );
    let p99_ms = merged.value_at_quantile(0.99) as f64 / 1000.0;
    let reported = totals["service"]["p99_ms"].as_f64().unwrap();
    assert!((p99_ms - reported).abs() < 1e-9, "{p99_ms} vs {reported}");
    let corrected = histogram::decode(totals["histograms"]["corrected"].as_str().unwrap()).unwrap();
    assert!(corrected.len() >= totals["count"].as_u64().unwrap());

    let throttle = &report["throttles"][0];
    assert_eq!(throttle["name"], "http_requests");
    assert_eq!(throttle["asked_per_s"], 400.0);
    assert!(!report["series"].as_array().unwrap().is_empty());
    assert_eq!(report["thresholds"][0]["passed"], true);
    assert_eq!(report["settings"]["request_rate"], 400);
}

#[test]
fn a_broken_threshold_exits_99_and_is_listed() {
    let out = amoc(&[
        "demo",
        "--users",
        "2",
        "--duration",
        "1s",
        "--threshold",
        "p99<0.001ms",
        "--threshold",
        "errors<1%",
        "--threshold",
        "GET /.count>=1",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}{}", text(&out.stderr));
    let broken: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("threshold"))
        .collect();
    assert_eq!(broken.len(), 1, "{stdout}");
    assert!(
        broken[0].contains("broken p99<0.001ms (measured "),
        "{stdout}"
    );
}

#[test]
fn a_bad_threshold_or_report_name_is_a_one_line_error_exit_2() {
    let out = amoc(&["demo", "--threshold", "p99<<3"]);
    assert_one_line_error(&out, 2, "invalid threshold \"p99<<3\"");
    let out = amoc(&["demo", "--threshold", "latency<3ms"]);
    assert_one_line_error(&out, 2, "unknown metric");
    let out = amoc(&["demo", "--report", "out.txt"]);
    assert_one_line_error(&out, 2, "must end in .json or .html");
}

#[test]
fn an_interrupted_run_still_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let json = in_dir(&dir, "interrupted.json");
    let (mut child, mut stdout) = spawn(
        amoc_bin(),
        &[
            "demo",
            "--users",
            "3",
            "--duration",
            "120s",
            "--report",
            json.to_str().unwrap(),
        ],
    );
    let seen = read_until(&mut stdout, "req/s");
    kill(&child, "INT");
    let rest = read_rest(&mut stdout);
    assert_eq!(child.wait().unwrap().code(), Some(130), "{seen}{rest}");
    let report = read_json(&json);
    assert_eq!(report["interrupted"], "interrupted (Ctrl-C)");
    assert!(schema_check::violations(&schema(), &report).is_empty());
    assert!(report["totals"]["count"].as_u64().unwrap() > 0);
}

/// The page as Chromium renders it (scripts run), or `None` when Chromium is missing here.
fn rendered_dom(page: &Path) -> Option<String> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {}", text(&out.stderr));
    Some(text(&out.stdout))
}

#[test]
fn the_html_report_renders_in_a_browser_with_the_runs_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (json, html) = (in_dir(&dir, "run.json"), in_dir(&dir, "run.html"));
    let out = amoc(&[
        "demo",
        "--users",
        "3",
        "--duration",
        "2s",
        "--report",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = read_json(&json);
    let Some(dom) = rendered_dom(&html) else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed (.ci/run installs it)");
        }
        eprintln!("skipped: no chromium on this machine");
        return;
    };
    assert!(
        dom.contains("id=\"rendered\""),
        "the page's script did not finish: {dom}"
    );
    assert!(
        dom.contains("<pre id=\"errors\" hidden=\"\"></pre>"),
        "errors shown: {dom}"
    );
    let count = report["names"][0]["count"].as_u64().unwrap();
    let p99 = report["names"][0]["corrected"]["p99_ms"].as_f64().unwrap();
    let row = format!("<td>GET /</td><td>{count}</td>");
    assert!(dom.contains(&row), "{row} not in the names table: {dom}");
    assert!(
        dom.contains(&format!("<td>{p99:.2}</td>")),
        "p99 {p99:.2} not shown"
    );
    let points = report["series"].as_array().unwrap().len();
    for chart in [
        "chart-users",
        "chart-rate",
        "chart-corrected",
        "chart-service",
    ] {
        assert!(dom.contains(&format!("id=\"{chart}\"")), "{chart} missing");
    }
    assert!(
        dom.contains(&format!("data-points=\"{points}\"")),
        "charts do not hold the {points} points of the series"
    );
    for table in ["errors-by-class", "settings"] {
        assert!(dom.contains(&format!("id=\"{table}\"")), "{table} missing");
    }
}
