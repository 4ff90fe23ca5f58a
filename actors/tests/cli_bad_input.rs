//! The `amoc` binary given bad input, as a new user would give it: each answer is one true
//! line about the value, with a documented exit code.

mod cli_support;

use cli_support::{amoc, amoc_env, assert_one_line_error, lines, summary_number, text};

#[test]
fn zero_users_is_refused_with_a_reason() {
    let out = amoc(&[
        "run",
        "http",
        "--users",
        "0",
        "--set",
        "url=http://127.0.0.1:9/",
    ]);
    assert_one_line_error(&out, 2, "at least 1 user");
}

#[test]
fn negative_users_get_a_message_about_the_value() {
    let out = amoc(&["run", "http", "--users", "-5"]);
    assert_one_line_error(&out, 2, "-5 is negative");
    assert!(!text(&out.stderr).contains("unexpected argument"));
}

#[test]
fn a_user_rate_of_zero_is_refused() {
    let out = amoc(&["demo", "--user-rate", "0", "--duration", "1s"]);
    assert_one_line_error(&out, 2, "0 would start nobody");
}

#[test]
fn a_user_rate_of_zero_from_a_setting_is_one_warning_line() {
    let out = amoc(&[
        "demo",
        "--users",
        "2",
        "--duration",
        "1s",
        "--set",
        "user_rate=0",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        lines(&out.stderr),
        ["warning: user_rate is 0: no user starts until it is raised"]
    );
    assert_eq!(summary_number(&stdout, "users ", "started"), 0, "{stdout}");
}

#[test]
fn type_errors_say_what_is_expected_in_words() {
    let out = amoc(&["run", "http", "--set", "url=5", "--duration", "1s"]);
    assert_one_line_error(&out, 1, "url = 5: expected text");
    let out = amoc(&["demo", "--set", "user_rate=fast", "--duration", "1s"]);
    assert_one_line_error(
        &out,
        1,
        "user_rate = \"fast\": expected a non-negative integer or \"infinity\"",
    );
    let out = amoc(&["demo", "--set", "request_rate=-1", "--duration", "1s"]);
    assert_one_line_error(
        &out,
        1,
        "request_rate = -1: expected a non-negative integer",
    );
    assert!(!text(&out.stderr).contains("::"), "no Rust paths");
}

#[test]
fn an_unparsable_required_variable_is_the_one_error_line() {
    let out = amoc_env(
        &["run", "http", "--duration", "1s"],
        &[("AMOC_URL", "two words")],
    );
    assert_one_line_error(&out, 1, "AMOC_URL=\"two words\" does not parse");
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("WARN") && !stderr.contains("default"),
        "{stderr}"
    );
}

#[test]
fn an_unparsable_variable_with_a_default_is_one_true_warning_without_colour() {
    let out = amoc_env(
        &["demo", "--users", "1", "--duration", "1s"],
        &[("AMOC_THINK_TIME_MS", "[1,")],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    let stderr = lines(&out.stderr);
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(stderr[0].contains("WARN"), "{stderr:?}");
    assert!(
        stderr[0].contains("cannot parse AMOC_THINK_TIME_MS=\"[1,\"")
            && stderr[0].ends_with("using the default 0"),
        "{stderr:?}"
    );
    assert!(
        !stderr[0].contains('\u{1b}'),
        "no colour into a pipe: {stderr:?}"
    );
}

#[test]
fn log_lines_are_coloured_on_a_terminal() {
    let bin = cli_support::amoc_bin().display().to_string();
    let out = cli_support::on_a_terminal(&format!(
        "AMOC_THINK_TIME_MS='[1,' {bin} demo --users 1 --duration 1s"
    ));
    let screen = text(&out.stdout);
    let warn = screen
        .lines()
        .find(|l| l.contains("cannot parse AMOC_THINK_TIME_MS"))
        .unwrap_or_else(|| panic!("no warning on the terminal: {screen:?}"));
    assert!(warn.contains("\u{1b}["), "coloured on a terminal: {warn:?}");
}

#[test]
fn an_unwritable_events_file_is_reported_once_and_fails() {
    let out = amoc(&[
        "demo",
        "--users",
        "5",
        "--duration",
        "60s",
        "--events",
        "/dev/full",
    ]);
    let stdout = text(&out.stdout);
    assert_one_line_error(&out, 1, "cannot write events to /dev/full");
    assert!(
        stdout.contains("== amoc summary: scenario http"),
        "{stdout}"
    );
    // The test stopped when the file failed, not after its 60 s.
    let seconds: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("== amoc summary: scenario http, "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the summary's duration");
    assert!(seconds < 30.0, "{stdout}");
}

#[test]
fn serve_accepts_a_host_name() {
    use cli_support::{read_rest, read_until, spawn};
    let (mut child, mut stdout) = spawn(
        cli_support::amoc_bin(),
        &["serve", "--listen", "localhost:0", "--shards", "1"],
    );
    let seen = read_until(&mut stdout, "control API on ");
    assert!(seen.contains("control API on http://"), "{seen}");
    child.kill().expect("kill");
    let _ = read_rest(&mut stdout);
    let _ = child.wait();
}

#[test]
fn demo_help_says_its_default_user_rate() {
    let out = amoc(&["demo", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    let line = help
        .lines()
        .skip_while(|l| !l.contains("--user-rate"))
        .take(2)
        .collect::<String>();
    assert!(line.contains("[default: 6000]"), "{help}");
}

#[test]
fn readme_says_the_first_command_builds_for_a_few_minutes() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    let first = readme
        .find("cargo run --release -- demo")
        .expect("the first command");
    let note = readme.find("builds the release binary first: a few minutes");
    assert!(
        note.is_some_and(|n| n > first && n - first < 400),
        "next to the command"
    );
}
