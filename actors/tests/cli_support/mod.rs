//! Running a CLI binary as a user would: a child process, its output, its exit code.
#![allow(dead_code)]

#[path = "../wait/mod.rs"]
pub mod wait;
#[allow(unused_imports)]
pub use wait::{poll_until, TIMEOUT};

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

/// The built `amoc` binary.
pub fn amoc_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_amoc"))
}

/// A command for `bin args` with a clean environment for amoc (no RUST_LOG, no AMOC_*).
pub fn command(bin: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args).env_remove("RUST_LOG").env_remove("NO_COLOR");
    for (k, _) in std::env::vars() {
        if k.starts_with("AMOC_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `amoc args` to the end.
pub fn amoc(args: &[&str]) -> Output {
    command(amoc_bin(), args).output().expect("run amoc")
}

/// Runs `amoc args` with extra environment variables.
pub fn amoc_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(amoc_bin(), args);
    cmd.envs(env.iter().copied());
    cmd.output().expect("run amoc")
}

/// Starts `bin args` with its output piped; its stdout, to read line by line.
pub fn spawn(bin: &Path, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = command(bin, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    (child, stdout)
}

/// Reads lines until one contains `needle`; returns all read. Panics at the end of output.
pub fn read_until(stdout: &mut impl BufRead, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("read") == 0 {
            panic!("output ended before {needle:?}: {seen}");
        }
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
    }
}

/// The rest of the output.
pub fn read_rest(stdout: &mut impl Read) -> String {
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read the rest");
    rest
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The non-empty lines of `out`.
pub fn lines(out: &[u8]) -> Vec<String> {
    text(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Exit `code` and exactly one line on stderr, an `error: ` containing `needle`.
pub fn assert_one_line_error(out: &Output, code: i32, needle: &str) {
    let stderr = lines(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {stderr:?}",
        text(&out.stdout)
    );
    assert_eq!(stderr.len(), 1, "one line expected: {stderr:?}");
    assert!(stderr[0].starts_with("error: "), "{stderr:?}");
    assert!(stderr[0].contains(needle), "{needle:?} not in {stderr:?}");
}

/// A number in the summary line starting with `label`, after the word `key`.
pub fn summary_number(stdout: &str, label: &str, key: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == key)
        .unwrap_or_else(|| panic!("no {key:?} in {line:?}"));
    words[at + 1]
        .trim_end_matches("/s")
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("no number after {key:?} in {line:?}")) as u64
}

/// Sends `signal` (`INT`, `TERM`) to the child.
pub fn kill(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// Runs `shell_command` under a pseudo-terminal (`script`), returns what the terminal showed.
pub fn on_a_terminal(shell_command: &str) -> Output {
    Command::new("script")
        .args(["-qec", shell_command, "/dev/null"])
        .env_remove("RUST_LOG")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)")
}
