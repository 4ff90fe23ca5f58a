//! Real-process cluster tests: a `nats-server` of their own on a free loopback port, the
//! `amoc` binary as master (`serve --cluster`) and workers (`worker`), driven through the
//! master's control API with plain HTTP/1.1. Every child is killed when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The bound on every wait (heartbeat timeouts are 5–6 s; CI is a busy 2-core machine).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// A unique cluster name per test, so tests never see each other's nodes.
pub fn cluster_name(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{test}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A child process whose stdout lines arrive on a channel.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    /// Lines read but not matched yet (a wait for one line never hides another).
    pending: Vec<String>,
    pub seen: String,
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env_remove("RUST_LOG");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Proc {
            child,
            lines,
            pending: Vec::new(),
            seen: String::new(),
        }
    }

    /// Waits for a line containing `needle` not matched before (lines read while waiting for
    /// another stay available); returns it. Panics after `TIMEOUT`.
    pub fn line(&mut self, needle: &str) -> String {
        if let Some(i) = self.pending.iter().position(|l| l.contains(needle)) {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                    self.pending.push(line);
                }
                Err(_) => panic!(
                    "no line with {needle:?} in time; output so far:\n{}",
                    self.seen
                ),
            }
        }
    }

    /// Sends `signal` (KILL, STOP, CONT) with kill(1).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} failed");
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `nats-server` on a free loopback port.
pub struct Nats {
    pub url: String,
    _proc: Proc,
}

impl Nats {
    /// Starts it; panics with the install hint when `nats-server` is not installed.
    pub fn start() -> Nats {
        let installed = Command::new("nats-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        assert!(
            installed,
            "nats-server is not on PATH: these tests need it (apt-get install -y nats-server; \
             .ci/run installs it)"
        );
        let port = free_port();
        let mut cmd = Command::new("nats-server");
        cmd.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
        let proc = Proc::spawn(cmd);
        let deadline = Instant::now() + TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nats {
            url: format!("nats://127.0.0.1:{port}"),
            _proc: proc,
        }
    }
}

fn amoc(args: &[&str], cluster: &str) -> Command {
    let mut cmd = node_command(env!("CARGO_BIN_EXE_amoc"), cluster);
    cmd.args(args);
    cmd
}

/// A command of program `exe` for a node of `cluster`: no `AMOC_*` variable but
/// `AMOC_CLUSTER`.
pub fn node_command(exe: impl AsRef<std::ffi::OsStr>, cluster: &str) -> Command {
    let mut cmd = Command::new(exe);
    for (k, _) in std::env::vars() {
        if k.starts_with("AMOC_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AMOC_CLUSTER", cluster);
    cmd
}

/// A master: `amoc serve --cluster URL` with the embedded target.
pub struct MasterProc {
    pub proc: Proc,
    pub api: SocketAddr,
    pub target: String,
}

/// Starts a master of `cluster` on `nats`; returns once its API listens.
pub fn master(nats: &Nats, cluster: &str) -> MasterProc {
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--target",
        "--shards",
        "1",
        "--cluster",
        &nats.url,
    ];
    let mut proc = Proc::spawn(amoc(&args, cluster));
    proc.line("master of cluster");
    let target = proc.line("embedded target listening on ");
    let target = target.rsplit(' ').next().unwrap_or_default().to_owned();
    let api = proc.line("control API on http://");
    let api = api["control API on http://".len()..]
        .split_whitespace()
        .next()
        .and_then(|a| a.parse().ok())
        .expect("the API address");
    MasterProc { proc, api, target }
}

/// Starts worker `name` of `cluster` on `nats`; returns once it runs (not yet joined).
pub fn worker(nats: &Nats, cluster: &str, name: &str) -> Proc {
    let args = [
        "worker",
        "--name",
        name,
        "--cluster",
        &nats.url,
        "--shards",
        "1",
    ];
    let mut proc = Proc::spawn(amoc(&args, cluster));
    proc.line("joining");
    proc
}

/// One HTTP/1.1 request to the API; the status code and the JSON body.
pub fn call(api: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (code, text) = call_text(api, method, path, body);
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits until `GET path` answers a JSON body satisfying `f`; returns it.
pub fn until(api: SocketAddr, path: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (_, body) = call(api, "GET", path, None);
        if f(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} never got there: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of the Prometheus counter `amoc_events_total{event="EVENT"}` (0 if absent).
pub fn events_total(api: SocketAddr, event: &str) -> u64 {
    let (_, text) = call_text(api, "GET", "/metrics", None);
    let label = format!("event=\"{event}\"");
    text.lines()
        .filter(|l| l.starts_with("amoc_events_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// One HTTP/1.1 request to the API; the status code and the body as text.
pub fn call_text(api: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(api).expect("connect to the API");
    s.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the answer");
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (code, body)
}
