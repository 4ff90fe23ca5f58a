//! A user's program with two scenarios and a one-line `main` (`examples/custom_runner.rs`)
//! gets the whole command line: spawned as a process, its output read as a user reads it.

mod cli_support;

use std::path::PathBuf;
use std::process::Command;

use cli_support::{assert_one_line_error, command, summary_number, text};

/// Builds the example (a no-op when `cargo test` built it already) and returns its path.
fn custom_runner() -> PathBuf {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path", manifest])
        .args([
            "-p",
            "amoc",
            "--example",
            "custom_runner",
            "--message-format=json",
        ])
        .output()
        .expect("cargo build");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "custom_runner")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("the example's executable")
}

#[test]
fn a_custom_runner_gets_the_whole_command_line() {
    let bin = custom_runner();

    // list: both scenarios and their parameters.
    let out = command(&bin, &["list"]).output().expect("run");
    let listed = text(&out.stdout);
    assert!(out.status.success(), "{listed}");
    for word in ["browse", "url", "requests_per_second", "walk", "steps"] {
        assert!(listed.contains(word), "{word:?} in {listed}");
    }

    // run walk: every user ends, so the test ends before its duration; summary parsed.
    let out = command(
        &bin,
        &["run", "walk", "--users", "5", "--user-rate", "infinity"],
    )
    .args(["--duration", "60s", "--set", "steps=3"])
    .output()
    .expect("run");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("all 5 users have ended"), "{stdout}");
    assert!(stdout.contains("walk: 15 steps in all"), "{stdout}");
    assert!(
        stdout.contains("== amoc summary: scenario walk"),
        "{stdout}"
    );
    assert_eq!(summary_number(&stdout, "users ", "started"), 5, "{stdout}");
    assert_eq!(summary_number(&stdout, "users ", "ended"), 5, "{stdout}");

    // With two scenarios, `run` needs a name; a wrong one is named in the error.
    let out = command(&bin, &["run"]).output().expect("run");
    assert_one_line_error(&out, 2, "name the scenario to run: one of browse, walk");
    let out = command(&bin, &["run", "shop"]).output().expect("run");
    assert_one_line_error(&out, 1, "no scenario named \"shop\"");
}

#[test]
fn a_custom_runner_runs_throttled_http_users() {
    let bin = custom_runner();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let target = amoc_actors::TestTarget::start(0, 1).expect("target");
            url_tx.send(target.url()).expect("send url");
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            target.stop().await;
        })
    });
    let url = url_rx.recv().expect("target url");
    let out = command(&bin, &["run", "browse", "--users", "4", "--duration", "3s"])
        .args(["--user-rate", "infinity", "--set", &format!("url={url}")])
        .args(["--set", "requests_per_second=100"])
        .output()
        .expect("run");
    let _ = stop_tx.send(());
    let _ = server.join();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("== amoc summary: scenario browse"),
        "{stdout}"
    );
    let total = summary_number(&stdout, "requests", "total");
    let errors = summary_number(&stdout, "requests", "errors");
    // 100 per second for about 3 s: the throttle holds (bounds loose for a busy machine).
    assert!((100..=400).contains(&total), "{total} requests: {stdout}");
    assert_eq!(errors, 0, "{stdout}");
    // Named requests: one line per name; each user sent `home` once, the rest were `page`.
    assert!(stdout.contains("by name"), "{stdout}");
    let home = count_of(&stdout, "home");
    let page = count_of(&stdout, "page");
    assert_eq!(home, 4, "{stdout}");
    assert_eq!(home + page, total, "{stdout}");
}

/// The request count on the summary's per-name line of `name`.
fn count_of(stdout: &str, name: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(name)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no per-name line for {name}: {stdout}"))
}

#[test]
fn a_custom_runner_serves_its_own_scenarios() {
    use cli_support::{read_until, spawn};
    let bin = custom_runner();
    let (mut child, mut stdout) = spawn(&bin, &["serve", "--listen", "127.0.0.1:0"]);
    let seen = read_until(&mut stdout, "control API on ");
    let api = seen
        .lines()
        .find_map(|l| l.strip_prefix("control API on "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the API's URL")
        .to_owned();
    let listed = actix_rt::System::new().block_on(async move {
        let mut res = awc::Client::default()
            .get(format!("{api}/scenarios"))
            .send()
            .await
            .expect("GET /scenarios");
        String::from_utf8_lossy(&res.body().await.expect("body")).into_owned()
    });
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(
        listed.contains("browse") && listed.contains("walk"),
        "{listed}"
    );
}
