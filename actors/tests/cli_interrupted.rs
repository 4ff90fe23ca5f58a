//! An interrupted test ends as shells expect: the summary, then 130 (Ctrl-C) or 143 (SIGTERM).

mod cli_support;

use cli_support::{amoc_bin, kill, read_rest, read_until, spawn};

fn interrupted_with(signal: &str) -> (Option<i32>, String) {
    let (mut child, mut stdout) =
        spawn(amoc_bin(), &["demo", "--users", "3", "--duration", "120s"]);
    let seen = read_until(&mut stdout, "req/s");
    kill(&child, signal);
    let rest = read_rest(&mut stdout);
    let code = child.wait().expect("wait").code();
    (code, format!("{seen}{rest}"))
}

#[test]
fn ctrl_c_exits_130_after_the_summary() {
    let (code, out) = interrupted_with("INT");
    assert_eq!(code, Some(130), "{out}");
    assert!(
        out.contains("interrupted (Ctrl-C): stopping the test"),
        "{out}"
    );
    assert!(out.contains("== amoc summary: scenario http"), "{out}");
}

#[test]
fn sigterm_exits_143_after_the_summary() {
    let (code, out) = interrupted_with("TERM");
    assert_eq!(code, Some(143), "{out}");
    assert!(
        out.contains("terminated (SIGTERM): stopping the test"),
        "{out}"
    );
    assert!(out.contains("== amoc summary: scenario http"), "{out}");
}
