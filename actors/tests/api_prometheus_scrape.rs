//! A real Prometheus (Debian's `prometheus`, installed by `.ci/run`) scrapes `amoc serve` on
//! loopback during a short load; what its HTTP API answers agrees with the run's summary.
//! Skipped, with a printed reason, only when the `prometheus` binary is absent.

mod api_support;

use std::io::{BufRead, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use api_support::{poll_until, request, try_request, TIMEOUT};
use serde_json::{json, Value};

/// Prometheus scrapes every second: re-ask its API at this pace, and wait a few scrapes.
const SCRAPE_RECHECK: Duration = Duration::from_millis(200);
const SCRAPE_TIMEOUT: Duration = TIMEOUT.saturating_mul(3);

/// Kills a child process when dropped (the test may fail half-way).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query's single result, if it has one.
async fn query(prometheus: SocketAddr, q: &str) -> Option<f64> {
    let path = format!("/api/v1/query?query={}", encode(q));
    let res = try_request(prometheus, "GET", &path, &[], b"").await?;
    let body: Value = serde_json::from_slice(&res.body).ok()?;
    body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

/// `(requests, p50 ms)` of the summary.
fn summary(out: &str) -> Option<(u64, f64)> {
    let requests = out
        .lines()
        .find_map(|l| l.strip_prefix("requests    total"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let p50 = out
        .lines()
        .find_map(|l| l.strip_prefix("latency ms  p50"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((requests, p50))
}

/// `promtool check metrics` on `text`, when promtool is installed.
fn promtool_check(text: &[u8]) {
    use std::io::Write;
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        println!("promtool check skipped: promtool is absent");
        return;
    };
    child.stdin.take().unwrap().write_all(text).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool: {said}");
}

#[test]
fn prometheus_scrapes_what_the_summary_says() {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: the prometheus binary is absent (apt-get install -y prometheus)");
        return;
    }
    let mut amoc = Command::new(env!("CARGO_BIN_EXE_amoc"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--target",
            "--shards",
            "1",
        ])
        .env_remove("RUST_LOG")
        .env_remove("AMOC_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(amoc.stdout.take().unwrap());
    let amoc = Reaped(amoc);
    let (mut api, mut target) = (None::<SocketAddr>, None);
    while api.is_none() {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "amoc ended");
        if let Some(url) = line.strip_prefix("embedded target listening on ") {
            target = Some(url.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("control API on http://") {
            api = rest.split_whitespace().next().map(|a| a.parse().unwrap());
        }
    }
    let (api, target) = (api.unwrap(), target.unwrap());

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: amoc\n    \
             static_configs:\n      - targets: ['{api}']\n"
        ),
    )
    .unwrap();
    let prometheus: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _prometheus = Reaped(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    actix_rt::System::new().block_on(async move {
        let json_type = [("content-type", "application/json")];
        let start = json!({"scenario": "http", "users": 4,
            "settings": {"url": target, "user_rate": "infinity", "request_rate": 100}});
        let start = start.to_string();
        let res = request(
            api,
            "PATCH",
            "/execution/start",
            &json_type,
            start.as_bytes(),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.text());
        // Prometheus scrapes during the load.
        poll_until(
            "Prometheus scraped a request",
            SCRAPE_RECHECK,
            SCRAPE_TIMEOUT,
            || async {
                let total = query(prometheus, "sum(amoc_http_requests_total)").await;
                total.filter(|t| *t >= 1.0)
            },
        )
        .await;
        // The load goes on, scraped all along, until Prometheus has seen 150 requests.
        poll_until(
            "Prometheus scraped 150 requests",
            SCRAPE_RECHECK,
            SCRAPE_TIMEOUT,
            || async {
                let total = query(prometheus, "sum(amoc_http_requests_total)").await;
                total.filter(|t| *t >= 150.0)
            },
        )
        .await;
        let res = request(api, "PATCH", "/execution/stop", &json_type, b"{}").await;
        assert_eq!(res.status, 200);
    });
    let mut out = String::new();
    while summary(&out).is_none() {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "amoc ended: {out}"
        );
        out.push_str(&line);
    }
    let (requests, p50_ms) = summary(&out).unwrap();
    assert!(requests > 100, "a real load: {out}");

    actix_rt::System::new().block_on(async move {
        // The classic text format passes promtool's checks (where promtool is installed).
        let text = request(api, "GET", "/metrics", &[], b"").await.body;
        promtool_check(&text);
        // The scrapes after the run's end see exactly the summary's requests.
        let total = poll_until(
            "Prometheus saw every request",
            SCRAPE_RECHECK,
            SCRAPE_TIMEOUT,
            || async {
                let total = query(prometheus, "sum(amoc_http_requests_total)").await;
                (total == Some(requests as f64)).then_some(total)
            },
        )
        .await;
        assert_eq!(total, Some(requests as f64), "Prometheus's count: {out}");
        let count = query(prometheus, "sum(amoc_http_request_duration_seconds_count)").await;
        assert_eq!(count, Some(requests as f64));
        // The histogram's median lies in the bucket of the summary's median.
        let q = "histogram_quantile(0.5, sum by (le) (amoc_http_request_duration_seconds_bucket))";
        let median = query(prometheus, q).await.expect("a median");
        let p50 = p50_ms / 1000.0;
        let buckets = amoc_actors::LATENCY_BUCKETS;
        // The summary prints p50 rounded to 0.01 ms and HdrHistogram rounds to 3 digits: at a
        // bucket edge the true median may sit in the neighbouring bucket, so allow one bucket
        // on either side of the summary's.
        let above = buckets.iter().position(|b| *b >= p50);
        let hi = above
            .and_then(|i| buckets.get(i + 1))
            .copied()
            .unwrap_or(f64::INFINITY);
        let lo = match above {
            Some(i) if i >= 2 => buckets[i - 2],
            _ => 0.0,
        };
        assert!(
            (lo..=hi).contains(&median),
            "Prometheus median {median} s, summary p50 {p50} s (bucket {lo}..{hi})"
        );
    });
    // Stop amoc the way an operator does.
    let pid = amoc.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
}
