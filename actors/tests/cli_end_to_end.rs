//! The `amoc` binary as a user runs it: a short demo, and bad input.

mod cli_support;

use std::process::{Command, Output};

use cli_support::{amoc, poll_until, spawn, text, TIMEOUT};

fn spawn_amoc(
    args: &[&str],
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
) {
    spawn(cli_support::amoc_bin(), args)
}

#[test]
fn demo_runs_a_real_load_test_and_prints_a_summary() {
    let out = amoc(&[
        "demo",
        "--users",
        "20",
        "--duration",
        "3s",
        "--user-rate",
        "infinity",
    ]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("embedded target listening on http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("== amoc summary: scenario http"),
        "{stdout}"
    );
    let requests_line = stdout
        .lines()
        .find(|l| l.starts_with("requests"))
        .expect("requests line");
    let total: u64 = requests_line
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .expect("total requests");
    assert!(total > 100, "only {total} requests: {stdout}");
    assert!(requests_line.contains("errors        0"), "{requests_line}");
    let users_line = stdout
        .lines()
        .find(|l| l.starts_with("users "))
        .expect("users line");
    assert!(users_line.contains("started         20"), "{users_line}");
}

fn assert_one_line_error(out: &Output, needle: &str) {
    cli_support::assert_one_line_error(out, 1, needle);
}

#[test]
fn unknown_scenario_is_a_one_line_error() {
    let out = amoc(&["run", "nope", "--duration", "1s"]);
    assert_one_line_error(&out, "no scenario named \"nope\"");
}

#[test]
fn unreachable_url_is_a_one_line_error() {
    // Port 9 on loopback (discard) is closed on a test machine.
    let out = amoc(&[
        "run",
        "http",
        "--set",
        "url=http://127.0.0.1:9/",
        "--duration",
        "1s",
    ]);
    assert_one_line_error(&out, "cannot reach http://127.0.0.1:9/");
}

#[test]
fn missing_url_is_a_one_line_error() {
    let out = amoc(&["run", "--scenario", "http", "--duration", "1s"]);
    assert_one_line_error(&out, "url");
}

#[test]
fn malformed_setting_is_rejected() {
    let out = amoc(&["run", "http", "--set", "novalue"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "unparsable arguments exit with 2"
    );
    let stderr = text(&out.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains("expected name=value"), "{stderr}");
}

#[test]
fn list_shows_the_http_scenario_and_its_parameters() {
    let out = amoc(&["list"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("http") && stdout.contains("url") && stdout.contains("required"),
        "{stdout}"
    );
}

#[test]
fn ctrl_c_stops_the_test_and_still_prints_the_summary() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};

    let (mut child, mut stdout) = spawn_amoc(&["demo", "--users", "5", "--duration", "120s"]);
    // Wait for the first progress line: the test is under way.
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("read") == 0 {
            panic!("amoc ended before any progress line: {seen}");
        }
        seen.push_str(&line);
        if line.contains("req/s") {
            break;
        }
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("read the rest");
    let status = child.wait().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(130), "{status:?}\n{seen}{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    assert!(rest.contains("== amoc summary: scenario http"), "{rest}");
    assert!(rest.contains("started          5"), "{rest}");
}

#[test]
fn serve_runs_tests_started_through_the_control_api() {
    use std::io::{BufRead, Read};

    let (mut child, mut stdout) = spawn_amoc(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--target",
        "--shards",
        "1",
    ]);
    let (mut api, mut target) = (None, None);
    while api.is_none() {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).expect("read") > 0, "amoc ended");
        if let Some(url) = line.strip_prefix("embedded target listening on ") {
            target = Some(url.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("control API on ") {
            api = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    let (api, target) = (api.unwrap(), target.expect("target url"));
    actix_rt::System::new().block_on(async move {
        let client = awc::Client::default();
        let start = serde_json::json!({
            "scenario": "http", "users": 5,
            "settings": {"url": target, "user_rate": "infinity"}
        });
        let res = client
            .post(format!("{api}/execution/start"))
            .send_json(&start)
            .await
            .expect("start");
        assert_eq!(res.status().as_u16(), 200);
        let every = std::time::Duration::from_millis(10);
        poll_until("5 users running", every, TIMEOUT, || async {
            let mut res = client
                .get(format!("{api}/status"))
                .send()
                .await
                .expect("status");
            let status: serde_json::Value = res.json().await.expect("json");
            (status["controller"]["users"]["running"] == 5).then_some(())
        })
        .await;
        // Prometheus sees the users and their requests.
        poll_until(
            "users and requests in the metrics",
            every,
            TIMEOUT,
            || async {
                let mut res = client
                    .get(format!("{api}/metrics"))
                    .send()
                    .await
                    .expect("metrics");
                let text = String::from_utf8_lossy(&res.body().await.expect("body")).into_owned();
                (text.contains("amoc_users{state=\"running\"} 5")
                    && text.contains("amoc_http_requests_total{status=\"200\"}"))
                .then_some(())
            },
        )
        .await;
    });
    // Interrupted once the progress shows a request rate.
    let mut seen = String::new();
    while !seen.contains("req/s") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "amoc ended: {seen}"
        );
        seen.push_str(&line);
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let mut rest = seen;
    stdout.read_to_string(&mut rest).expect("read the rest");
    assert!(child.wait().expect("wait").success(), "{rest}");
    assert!(rest.contains("req/s"), "a progress line: {rest}");
    assert!(rest.contains("== amoc summary: scenario http"), "{rest}");
    assert!(rest.contains("started          5"), "{rest}");
}
