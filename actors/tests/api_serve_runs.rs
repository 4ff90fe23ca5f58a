//! `amoc serve` gives each run its own summary: a run stopped and reset between two progress
//! lines is still summarised, and its requests are never counted in the next run. The API of
//! the process asks for the token given in `AMOC_API_TOKEN`.

mod api_support;

use std::io::{BufRead, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use api_support::{poll_until, request, Response, TIMEOUT};
use serde_json::{json, Value};

const TOKEN: &str = "serve-test-token";

async fn call(api: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Response {
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    request(api, method, path, &headers, body.as_bytes()).await
}

/// Waits until the run's users have made `n` requests (per the target's counter in the
/// Prometheus metrics of the API).
async fn requests_at_least(api: SocketAddr, n: u64) {
    let every = Duration::from_millis(20);
    poll_until(&format!("{n} requests"), every, TIMEOUT, || async {
        let text = call(api, "GET", "/metrics", None).await.text();
        let seen: u64 = text
            .lines()
            .filter(|l| l.starts_with("amoc_http_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|v| v as u64)
            .sum();
        (seen >= n).then_some(())
    })
    .await;
}

/// `(total, rate)` of each summary's requests line.
fn summaries(out: &str) -> Vec<(u64, f64)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("requests    total"))
        .map(|rest| {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let total = words[0].parse().unwrap();
            let rate = words[2].trim_end_matches("/s").parse().unwrap();
            (total, rate)
        })
        .collect()
}

#[test]
fn each_run_gets_its_own_summary() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amoc"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--target",
            "--shards",
            "1",
        ])
        .env("AMOC_API_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run amoc");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut api, mut target) = (None, None);
    let mut head = String::new();
    while api.is_none() {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "amoc ended: {head}"
        );
        head.push_str(&line);
        if let Some(url) = line.strip_prefix("embedded target listening on ") {
            target = Some(url.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("control API on http://") {
            api = rest.split_whitespace().next().map(|a| a.parse().unwrap());
        }
    }
    assert!(
        !head.contains("API token"),
        "no token printed on loopback: {head}"
    );
    let (api, target): (SocketAddr, String) = (api.unwrap(), target.unwrap());
    actix_rt::System::new().block_on(async move {
        let res = request(api, "GET", "/status", &[], b"").await;
        assert_eq!(res.status, 401, "the configured token is required");
        let res = call(api, "GET", "/report", None).await;
        assert_eq!(res.status, 409, "no report before any run: {}", res.text());
        let start = json!({"scenario": "http", "users": 2,
            "settings": {"url": target, "user_rate": "infinity", "request_rate": 40}});
        // Run 1: stopped and reset at once, between two progress lines.
        let res = call(api, "PATCH", "/execution/start", Some(start.clone())).await;
        assert_eq!(res.status, 200, "{}", res.text());
        requests_at_least(api, 10).await;
        assert_eq!(
            call(api, "PATCH", "/execution/stop", None).await.status,
            200
        );
        assert_eq!(
            call(api, "PATCH", "/execution/reset", None).await.status,
            200
        );
        let status = call(api, "GET", "/status", None).await.json();
        assert_eq!(status["controller"]["users"]["ended"], 0, "{status}");
        // Run 2: a while at 40 requests/s.
        let res = call(api, "POST", "/execution/start", Some(start)).await;
        assert_eq!(res.status, 200, "{}", res.text());
        // A while at that rate: elapsed time is the subject.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            call(api, "PATCH", "/execution/stop", None).await.status,
            200
        );
    });
    // The second summary is printed once the run has finished; then stop the process.
    let mut out = String::new();
    while summaries(&out).len() < 2 {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "amoc ended: {out}"
        );
        out.push_str(&line);
    }
    // The last run's report is offered, with the numbers of its summary.
    let (report, page) = actix_rt::System::new().block_on(async move {
        let report = call(api, "GET", "/report", None).await.json();
        let page = call(api, "GET", "/report?format=html", None).await;
        (report, page)
    });
    assert_eq!(page.status, 200);
    assert!(page.text().starts_with("<!DOCTYPE html>"));
    let last = summaries(&out)[1].0;
    assert_eq!(report["totals"]["count"], last, "{report}");
    assert_eq!(report["schema"], "amoc-report/1");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    stdout.read_to_string(&mut out).unwrap();
    assert!(child.wait().unwrap().success(), "{out}");
    let runs = summaries(&out);
    assert_eq!(runs.len(), 2, "one summary per run: {out}");
    assert!(runs[0].0 >= 10, "run 1 counted its requests: {out}");
    // 40 requests/s over ~2.5 s: the first run's requests are not added.
    let (total, rate) = runs[1];
    assert!((40..=130).contains(&total), "run 2 alone: {out}");
    assert!((20.0..55.0).contains(&rate), "run 2's rate: {out}");
}
