//! Progress fits where it goes: timestamped lines into a pipe, one status line redrawn in
//! place on a terminal.

mod cli_support;

use cli_support::{amoc, amoc_bin, on_a_terminal, text};

/// `2026-12-01T20:31:05Z [   1s] users ...`
fn is_timestamped_progress(line: &str) -> bool {
    let b = line.as_bytes();
    line.len() > 22
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'Z'
        && line[..4].bytes().all(|c| c.is_ascii_digit())
        && line[20..].starts_with(" [")
        && line.contains("req/s")
}

#[test]
fn into_a_pipe_progress_is_plain_timestamped_lines() {
    let out = amoc(&["demo", "--users", "2", "--duration", "3s"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let progress: Vec<_> = stdout.lines().filter(|l| l.contains("req/s")).collect();
    // One line a second; a stall of the busy CI machine can swallow some (seen: 2.3 s).
    assert!(!progress.is_empty(), "{stdout}");
    assert!(
        progress.iter().all(|l| is_timestamped_progress(l)),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "{stdout:?}"
    );
}

#[test]
fn on_a_terminal_progress_is_one_line_redrawn_in_place() {
    let bin = amoc_bin().display().to_string();
    let out = on_a_terminal(&format!("{bin} demo --users 2 --duration 3s"));
    let screen = text(&out.stdout);
    assert!(
        screen.contains("== amoc summary: scenario http"),
        "{screen:?}"
    );
    // Redrawn: the status line is cleared and rewritten, never a new timestamped line.
    assert!(
        screen.contains("\u{1b}[2K") || screen.contains('\r'),
        "{screen:?}"
    );
    let redraws = screen.matches("req/s").count();
    assert!(redraws >= 2, "{screen:?}");
    assert!(!screen.lines().any(is_timestamped_progress), "{screen:?}");
}
