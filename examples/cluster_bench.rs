//! Cluster mode on one machine: how fast a master and N workers start users, compared with
//! one node, and how long a killed worker takes to be marked down.
//!
//! ```sh
//! cargo run --release --example cluster_bench -- --users 1000000 --nodes 3
//! ```
//!
//! It starts `nats-server` on a free loopback port, itself as master (`serve --cluster`) and
//! as N workers (`worker`; the example is a `Runner` with an idle scenario), starts a run of
//! U idle users through the master's API with an unlimited user rate, and waits until every
//! node runs its block (asking each node, `GET /status/{node}`). The one-node figure starts the
//! same users in one process. Then it SIGKILLs one worker and times the master's
//! `node … down: no responders` line (its ping meets NATS's no-responders), and SIGSTOPs
//! another and times `down: silent…` (missed heartbeats). Before the kills, the throttle
//! figures (`cluster_bench/throttle.rs`: 1 000 000/s cluster-wide, leased; then 50/s, kept
//! home on the master, on a line of its own:
//! `cluster_bench low_rate=50 achieved_per_s=A max_in_window=M min_gap_ms=G`). The last line is
//! `cluster_bench nodes=N users=U users_per_s=R one_node_users_per_s=R1 throttle_rate=T throttle_achieved_per_s=A max_in_window=M nodedown_ms=D`
//! (`nodedown_ms`: the SIGKILL figure).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use amoc::app::App;
use amoc::config::MapEnv;
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::user_rate::UserRate;
use amoc::users::Received;
use anyhow::{bail, Context as _};
use serde_json::{json, Value};

#[path = "cluster_bench/throttle.rs"]
mod throttle;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Users wait on their mailbox until asked to stop.
struct Idle;

impl Scenario for Idle {
    const NAME: &'static str = "idle";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        while !matches!(user.recv().await, Received::StopRequested) {}
        Ok(())
    }
}

/// A child whose stdout lines arrive on a channel; killed when dropped.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(mut cmd: Command) -> anyhow::Result<Proc> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot spawn {cmd:?}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Proc { child, lines })
    }

    fn line(&self, needle: &str, limit: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .with_context(|| format!("no line with {needle:?}"))?;
            if line.contains(needle) {
                return Ok(line);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn args() -> anyhow::Result<(u64, usize)> {
    let (mut users, mut nodes) = (100_000u64, 3usize);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| -> anyhow::Result<String> {
            Ok(args
                .next()
                .with_context(|| format!("{what} needs a value"))?
                .replace('_', ""))
        };
        match arg.as_str() {
            "--users" => users = value("--users")?.parse().context("--users: not a number")?,
            "--nodes" => nodes = value("--nodes")?.parse().context("--nodes: not a number")?,
            other => bail!("unknown argument {other:?} (usage: cluster_bench --users U --nodes N)"),
        }
    }
    if users == 0 || nodes < 2 {
        bail!("--users must be at least 1 and --nodes at least 2");
    }
    Ok((users, nodes))
}

/// One HTTP/1.1 request; the status code and the JSON body.
fn call(
    api: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(api)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("not HTTP")?;
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok());
    Ok((code, json.unwrap_or(Value::Null)))
}

/// Users per second of one node: the same users started in this process.
fn one_node(users: u64) -> anyhow::Result<f64> {
    actix_rt::System::new().block_on(async move {
        let app = App::builder()
            .scenario(Idle)
            .env(MapEnv::new())
            .start()
            .await?;
        let c = app.controller();
        c.start_scenario(Idle::NAME, vec![UserRate::Infinity.setting()])
            .await?;
        let t0 = Instant::now();
        c.add_users(users).await?;
        c.users().wait_until(|u| u.running == users).await;
        let rate = users as f64 / t0.elapsed().as_secs_f64();
        app.shutdown().await;
        Ok(rate)
    })
}

fn amoc(args: &[&str]) -> anyhow::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(args)
        .env("AMOC_CLUSTER", "cluster-bench")
        .env_remove("RUST_LOG");
    Ok(cmd)
}

/// A nats-server, a master and N workers on loopback.
struct Bench {
    api: SocketAddr,
    master: Proc,
    workers: Vec<(String, Proc)>,
    limit: Duration,
    _nats: Proc,
}

fn start_cluster(nodes: usize, limit: Duration) -> anyhow::Result<Bench> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut nats = Command::new("nats-server");
    nats.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
    let nats = Proc::spawn(nats)?;
    let url = format!("nats://127.0.0.1:{port}");
    let deadline = Instant::now() + limit;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nats-server did not listen");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let master = Proc::spawn(amoc(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cluster",
        &url,
    ])?)?;
    let api_line = master.line("control API on http://", limit)?;
    let api: SocketAddr = api_line["control API on http://".len()..]
        .split_whitespace()
        .next()
        .and_then(|a| a.parse().ok())
        .context("the API address")?;
    let mut workers = Vec::new();
    for i in 1..=nodes {
        let name = format!("w{i}");
        let worker = Proc::spawn(amoc(&["worker", "--name", &name, "--cluster", &url])?)?;
        workers.push((name, worker));
    }
    for _ in 0..nodes {
        master.line(" connected", limit)?;
    }
    Ok(Bench {
        api,
        master,
        workers,
        limit,
        _nats: nats,
    })
}

/// Users started per second cluster-wide: from the start request until every node runs
/// its block (asking each node, `GET /status/{node}`).
fn users_per_second(b: &Bench, users: u64) -> anyhow::Result<f64> {
    let start = json!({"scenario": "idle", "users": users, "settings": {"user_rate": "infinity"}});
    let t0 = Instant::now();
    let (code, r) = call(b.api, "PATCH", "/execution/start", Some(start))?;
    if code != 200 {
        bail!("start refused ({code}): {r}");
    }
    loop {
        let mut running = 0;
        for (name, _) in &b.workers {
            let (_, s) = call(b.api, "GET", &format!("/status/{name}"), None)?;
            running += s["controller"]["users"]["running"].as_u64().unwrap_or(0);
        }
        if running == users {
            return Ok(users as f64 / t0.elapsed().as_secs_f64());
        }
        if t0.elapsed() > b.limit {
            bail!("only {running} of {users} users started");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Milliseconds from a signal to the last worker until the master's `node ... down: WHY`.
fn nodedown_ms(b: &mut Bench, signal: &str, why: &str) -> anyhow::Result<u128> {
    let (name, worker) = b.workers.pop().context("no worker left")?;
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args([format!("-{signal}"), worker.child.id().to_string()])
        .status()?
        .success();
    if !ok {
        bail!("kill -{signal} failed");
    }
    b.master
        .line(&format!("node {name} down: {why}"), b.limit)?;
    Ok(sent.elapsed().as_millis())
}

fn bench() -> anyhow::Result<()> {
    let (users, nodes) = args()?;
    let limit = Duration::from_secs(60 + users / 10_000);
    let one_node_rate = one_node(users)?;
    let mut b = start_cluster(nodes, limit)?;
    let cluster_rate = users_per_second(&b, users)?;
    // Stops the users' run, then runs the throttle probe on every worker.
    let names: Vec<String> = b.workers.iter().map(|(name, _)| name.clone()).collect();
    let t = throttle::measure(b.api, &names, b.limit)?;
    let low = throttle::measure_low(b.api, &names, b.limit)?;
    println!("{}", low.low_line());
    // The master's ping meets no-responders as soon as the killed worker's connection is
    // gone; a frozen worker keeps its connection and is found by its missing heartbeats.
    let nodedown = nodedown_ms(&mut b, "KILL", "no responders")?;
    let by_heartbeat = nodedown_ms(&mut b, "STOP", "silent")?;
    println!("nodedown by heartbeat (SIGSTOP): {by_heartbeat} ms");
    println!(
        "cluster_bench nodes={nodes} users={users} users_per_s={cluster_rate:.0} \
         one_node_users_per_s={one_node_rate:.0} {t} nodedown_ms={nodedown}"
    );
    Ok(())
}

fn main() -> ExitCode {
    let role = std::env::args().nth(1);
    if matches!(role.as_deref(), Some("serve" | "worker")) {
        let probe = amoc_actors::scenarios::ThrottleProbe;
        return amoc_actors::Runner::new()
            .scenario(Idle)
            .scenario(probe)
            .main();
    }
    if Command::new("nats-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("cluster_bench: needs nats-server on PATH (apt-get install -y nats-server)");
        return ExitCode::from(1);
    }
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster_bench: {e:#}");
            ExitCode::from(1)
        }
    }
}
