//! Real-process cluster tests: a `nats-server` of their own on a free loopback port, the
//! `amoc` binary as master (`serve --cluster`) and workers (`worker`), driven through the
//! master's control API with plain HTTP/1.1. Every child is killed when dropped.
#![allow(dead_code)]

pub mod probe;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

/// One `nats-server` of a [`Nats`].
pub struct Server {
    pub port: u16,
    monitor: u16,
    proc: Option<Proc>,
}

/// `nats-server`s on free loopback ports: one, or several routed into one NATS cluster.
pub struct Nats {
    /// Every server's URL, comma-separated (as `--cluster` takes them).
    pub url: String,
    pub servers: Vec<Server>,
}

/// Whether `port` listens before `proc` exits (a port taken meanwhile makes it exit).
fn listens(proc: &mut Proc, port: u16) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if !proc.alive() || Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Servers on fresh ports, all listening (a few tries: a free port may be taken before the
/// server binds it).
fn spawn_servers(n: usize, extra: &[&str]) -> Vec<Server> {
    for _ in 0..5 {
        let mut ports: Vec<u16> = (0..3 * n).map(|_| free_port()).collect();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() < 3 * n {
            continue;
        }
        let (clients, rest) = ports.split_at(n);
        let (routes, monitors) = rest.split_at(n);
        let mut servers = Vec::new();
        for i in 0..n {
            let mut cmd = Command::new("nats-server");
            cmd.args(["-a", "127.0.0.1", "-p", &clients[i].to_string()]);
            cmd.args(["-m", &monitors[i].to_string()]);
            cmd.args(extra);
            if n > 1 {
                let others: Vec<String> = (0..n)
                    .filter(|j| *j != i)
                    .map(|j| format!("nats://127.0.0.1:{}", routes[j]))
                    .collect();
                cmd.args(["--cluster_name", "amoc-test"]);
                cmd.args(["--cluster", &format!("nats://127.0.0.1:{}", routes[i])]);
                cmd.args(["--routes", &others.join(",")]);
            }
            servers.push(Server {
                port: clients[i],
                monitor: monitors[i],
                proc: Some(Proc::spawn(cmd)),
            });
        }
        let all = servers.iter_mut().all(|s| {
            let (port, monitor) = (s.port, s.monitor);
            let p = s.proc.as_mut().expect("just spawned");
            listens(p, port) && listens(p, monitor)
        });
        if all {
            return servers;
        }
    }
    panic!("nats-server did not start on free ports in 5 tries");
}

impl Nats {
    /// One server; panics with the install hint when `nats-server` is not installed.
    pub fn start() -> Nats {
        Nats::routed(1)
    }

    /// `n` servers with routes to each other (`--cluster`/`--routes`), each with its
    /// monitoring port; returns once every route is up.
    pub fn routed(n: usize) -> Nats {
        Nats::launch(n, &[])
    }

    /// One server with more `nats-server` arguments (`--auth TOKEN`, `--tls`...).
    pub fn start_with(extra: &[&str]) -> Nats {
        Nats::launch(1, extra)
    }

    fn launch(n: usize, extra: &[&str]) -> Nats {
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
        let servers = spawn_servers(n, extra);
        let nats = Nats {
            url: servers
                .iter()
                .map(|s| format!("nats://127.0.0.1:{}", s.port))
                .collect::<Vec<_>>()
                .join(","),
            servers,
        };
        for i in 0..n {
            let routes = |v: &Value| v["num_routes"].as_u64() == Some(n as u64 - 1);
            nats.monitor_until(i, "/routez", routes);
        }
        nats
    }

    /// Waits until server `i`'s monitoring page `path` satisfies `f`; returns it.
    pub fn monitor_until(&self, i: usize, path: &str, f: impl Fn(&Value) -> bool) -> Value {
        let addr: SocketAddr = ([127, 0, 0, 1], self.servers[i].monitor).into();
        until(addr, path, f)
    }

    /// The index of the live server a client named `name` is connected to, once it is.
    pub fn server_of(&self, name: &str) -> usize {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            for (i, s) in self.servers.iter().enumerate() {
                if s.proc.is_none() {
                    continue;
                }
                let addr: SocketAddr = ([127, 0, 0, 1], s.monitor).into();
                let (_, connz) = call(addr, "GET", "/connz", None);
                let conns = connz["connections"].as_array().cloned().unwrap_or_default();
                if conns.iter().any(|c| c["name"] == name) {
                    return i;
                }
            }
            assert!(Instant::now() < deadline, "no server has a client {name:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs server `i`.
    pub fn kill(&mut self, i: usize) {
        let proc = self.servers[i].proc.take().expect("a live server");
        proc.signal("KILL");
    }

    /// Starts the killed server `i` of a single-server [`Nats`] again on its ports.
    pub fn restart(&mut self, i: usize) {
        let s = &mut self.servers[i];
        let mut cmd = Command::new("nats-server");
        cmd.args(["-a", "127.0.0.1", "-p", &s.port.to_string()]);
        cmd.args(["-m", &s.monitor.to_string()]);
        let mut proc = Proc::spawn(cmd);
        assert!(listens(&mut proc, s.port), "nats-server did not restart");
        s.proc = Some(proc);
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
    master_with(nats, cluster, &[])
}

/// [`master`] with extra environment variables (`AMOC_NODES`...).
pub fn master_with(nats: &Nats, cluster: &str, env: &[(&str, &str)]) -> MasterProc {
    master_at(&nats.url, cluster, env)
}

/// [`master_with`] on the NATS URL `url` (a `tls://` one...).
pub fn master_at(url: &str, cluster: &str, env: &[(&str, &str)]) -> MasterProc {
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--target",
        "--shards",
        "1",
        "--cluster",
        url,
    ];
    let mut cmd = amoc(&args, cluster);
    cmd.envs(env.iter().copied());
    let mut proc = Proc::spawn(cmd);
    proc.line("master of cluster");
    let target = proc.line("embedded target listening on ");
    let target = target.rsplit(' ').next().unwrap_or_default().to_owned();
    let api = http_addr(&proc.line("control API on http://"));
    MasterProc { proc, api, target }
}

/// Starts worker `name` of `cluster` on `nats`; returns once it runs (not yet joined).
pub fn worker(nats: &Nats, cluster: &str, name: &str) -> Proc {
    worker_with(nats, cluster, name, &[])
}

/// [`worker`] with more arguments (`--metrics 127.0.0.1:0`...).
pub fn worker_with(nats: &Nats, cluster: &str, name: &str, more: &[&str]) -> Proc {
    let mut args = vec![
        "worker",
        "--name",
        name,
        "--cluster",
        &nats.url,
        "--shards",
        "1",
    ];
    args.extend_from_slice(more);
    let mut proc = Proc::spawn(amoc(&args, cluster));
    proc.line("joining");
    proc
}

/// The address in a line `... on http://ADDR/...` (or `... on http://ADDR ...`).
pub fn http_addr(line: &str) -> SocketAddr {
    let rest = &line[line.find("http://").expect("an http:// address") + "http://".len()..];
    rest.split(['/', ' '])
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// The sum of the samples of Prometheus series `name` with label `label` (`node="w1"`) in a
/// text exposition.
pub fn series_sum(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// A NATS server (or several), a master and workers that joined it.
pub struct Cluster {
    pub nats: Nats,
    pub name: String,
    pub m: MasterProc,
    pub workers: Vec<Proc>,
}

impl Cluster {
    /// Starts a master and the named workers of a cluster of its own on `nats`; returns once
    /// every worker joined.
    pub fn start(nats: Nats, test: &str, workers: &[&str]) -> Cluster {
        let name = cluster_name(test);
        let mut m = master(&nats, &name);
        let mut procs = Vec::new();
        for w in workers {
            let mut p = worker(&nats, &name, w);
            p.line("joined cluster");
            m.proc.line(&format!("node {w} connected"));
            procs.push(p);
        }
        Cluster {
            nats,
            name,
            m,
            workers: procs,
        }
    }

    /// Starts a run of the `http` scenario against the master's target with `users` users
    /// (20 requests/s each); the answer.
    pub fn start_http(&self, users: u64) -> Value {
        let start = json!({"scenario": "http", "users": users,
            "settings": {"url": self.m.target, "user_rate": "infinity", "request_rate": 20}});
        let (code, r) = call(self.m.api, "PATCH", "/execution/start", Some(start));
        assert_eq!(code, 200, "{r}");
        r
    }

    /// Adds `users` through the master; the answer.
    pub fn add(&self, users: u64) -> (u16, Value) {
        let add = json!({ "users": users });
        call(self.m.api, "PATCH", "/execution/add_users", Some(add))
    }
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
    series_sum(&text, "amoc_events_total", &format!("event=\"{event}\""))
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
