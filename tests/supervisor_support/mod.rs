//! Shared helpers for the supervisor tests: a paused-clock actix system, a test worker
//! that can be told to panic, stop or ignore stop requests, and start functions whose
//! behaviour can be switched at run time.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, Context, Handler, Message};
use amoc::supervisor::*;

/// The bound on every wait in these tests (virtual time where the clock is paused).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` in an actix System on a current-thread runtime with a paused clock.
pub fn run<F, Fut>(f: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    actix_rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    })
    .block_on(async move {
        tokio::time::timeout(TIMEOUT * 10, f())
            .await
            .expect("test timed out")
    });
}

/// Lets `d` of virtual time go by (the clock is paused: it jumps once every task is idle).
/// For tests whose subject is elapsed time: restart windows, retries while restarting.
pub async fn elapse(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Awaits `fut`, failing the test after [`TIMEOUT`].
pub async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, fut).await.expect("timed out")
}

/// Polls `cond` (every virtual millisecond) until true, failing after [`TIMEOUT`].
pub async fn eventually<Fut: Future<Output = bool>>(mut cond: impl FnMut() -> Fut) {
    within(async {
        while !cond().await {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
}

/// An event log shared by test workers ("start id", "stop id").
#[derive(Clone, Default, Debug)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    pub fn stops(&self) -> Vec<String> {
        self.take()
            .into_iter()
            .filter_map(|s| s.strip_prefix("stop ").map(str::to_owned))
            .collect()
    }
    pub fn starts(&self) -> Vec<String> {
        self.take()
            .into_iter()
            .filter_map(|s| s.strip_prefix("start ").map(str::to_owned))
            .collect()
    }
}

/// What the start function does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Start a worker that obeys stop requests.
    Start,
    /// Start a worker that ignores stop requests.
    StartDeaf,
    /// Start a worker and return extra info.
    StartInfo,
    /// Return `Ignore`.
    Ignore,
    /// Return an error.
    Fail,
    /// Return an error once, then start.
    FailOnce,
    /// Panic in the start function.
    Panic,
    /// Sleep this long, then fail.
    SlowFail(Duration),
}

/// A switch for a start function's behaviour.
#[derive(Clone, Debug)]
pub struct Ctl(Arc<Mutex<Mode>>);

impl Default for Ctl {
    fn default() -> Self {
        Ctl(Arc::new(Mutex::new(Mode::Start)))
    }
}

impl Ctl {
    pub fn new(mode: Mode) -> Self {
        Ctl(Arc::new(Mutex::new(mode)))
    }
    pub fn set(&self, mode: Mode) {
        *self.0.lock().unwrap() = mode;
    }
    pub fn get(&self) -> Mode {
        *self.0.lock().unwrap()
    }
}

/// The test worker.
pub struct Worker {
    pub id: String,
    pub cx: ChildContext,
    pub log: Log,
}

impl Actor for Worker {
    type Context = Context<Self>;
    fn started(&mut self, _: &mut Context<Self>) {
        self.log.push(format!("start {}", self.id));
    }
    fn stopped(&mut self, _: &mut Context<Self>) {
        self.log.push(format!("stop {}", self.id));
    }
}

/// Answers with the worker's id.
#[derive(Message)]
#[rtype(result = "String")]
pub struct Ping;

impl Handler<Ping> for Worker {
    type Result = String;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> String {
        self.id.clone()
    }
}

/// Makes the worker panic.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Crash;

impl Handler<Crash> for Worker {
    type Result = ();
    fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("worker {} crashed on purpose", self.id);
    }
}

/// Makes the worker stop with a reason.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Exit(pub ExitReason);

impl Handler<Exit> for Worker {
    type Result = ();
    fn handle(&mut self, msg: Exit, ctx: &mut Context<Self>) {
        self.cx.stop_with(ctx, msg.0);
    }
}

/// Blocks the worker's thread (never yields) for a while; says when it started.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Block(pub Duration, pub tokio::sync::oneshot::Sender<()>);

impl Handler<Block> for Worker {
    type Result = ();
    fn handle(&mut self, msg: Block, _: &mut Context<Self>) {
        let _ = msg.1.send(());
        std::thread::sleep(msg.0);
    }
}

/// Spawns a worker as the given mode says.
pub async fn start_worker(
    starter: ChildStarter,
    id: String,
    ctl: Ctl,
    log: Log,
) -> Result<Start, StartError> {
    let make = |cx| Worker { id, cx, log };
    match ctl.get() {
        Mode::Start => Ok(Start::Started(starter.spawn_local(make).1, None)),
        Mode::StartInfo => {
            let info = serde_json::json!({"info": true});
            Ok(Start::Started(starter.spawn_local(make).1, Some(info)))
        }
        Mode::StartDeaf => {
            let (_, h) = starter.spawn_local_trapping(make, |_: &mut Worker, _, _| {});
            Ok(Start::Started(h, None))
        }
        Mode::Ignore => Ok(Start::Ignore),
        Mode::Fail => Err(StartError::new("start failed on purpose")),
        Mode::FailOnce => {
            ctl.set(Mode::Start);
            Err(StartError::new("start failed once on purpose"))
        }
        Mode::Panic => panic!("start panicked on purpose"),
        Mode::SlowFail(d) => {
            tokio::time::sleep(d).await;
            Err(StartError::new("slow failure"))
        }
    }
}

/// A worker spec whose start function follows `ctl`.
pub fn spec(id: &str, ctl: &Ctl, log: &Log) -> ChildSpec {
    let (id2, ctl, log) = (id.to_owned(), ctl.clone(), log.clone());
    ChildSpec::new(id, move |starter| {
        start_worker(starter, id2.clone(), ctl.clone(), log.clone())
    })
}

/// A worker spec that just starts.
pub fn worker(id: &str) -> ChildSpec {
    spec(id, &Ctl::default(), &Log::default())
}

/// A dynamic template: args are the worker's name.
pub fn template(ctl: &Ctl, log: &Log) -> ChildSpec<String> {
    let (ctl, log) = (ctl.clone(), log.clone());
    ChildSpec::with_args("dyn", move |starter, name: String| {
        start_worker(starter, name, ctl.clone(), log.clone())
    })
}

/// The default test flags: one_for_one, intensity 2, period 3600 s.
pub fn flags(strategy: Strategy) -> SupFlags {
    SupFlags::new(strategy).intensity(2, Duration::from_secs(3600))
}

/// Starts a static supervisor that must start.
pub async fn start_sup(flags: SupFlags, specs: Vec<ChildSpec>) -> SupervisorRef {
    within(Supervisor::start(move || Init::Supervise(flags, specs)))
        .await
        .unwrap()
        .running()
        .unwrap()
}

/// The running child with this id.
pub async fn child(sup: &SupervisorRef, id: &str) -> ChildRef {
    within(sup.which_child(id))
        .await
        .unwrap()
        .child()
        .cloned()
        .unwrap_or_else(|| panic!("{id} is not running"))
}

/// Counts as OTP's list.
pub async fn counts(sup: &SupervisorRef) -> [usize; 4] {
    within(sup.count_children()).await.unwrap().as_array()
}

/// Counts of a dynamic supervisor.
pub async fn dcounts<A: Clone + Send + 'static>(sup: &DynamicSupervisorRef<A>) -> [usize; 4] {
    within(sup.count_children()).await.unwrap().as_array()
}

/// Asks a test worker for its id (None if it does not answer).
pub async fn ping(c: &ChildRef) -> Option<String> {
    let addr = c.addr::<Worker>()?;
    tokio::time::timeout(TIMEOUT, addr.send(Ping))
        .await
        .ok()?
        .ok()
}

/// Kills a child (abort) and waits until it is gone.
pub async fn kill(c: &ChildRef) -> ExitReason {
    c.kill();
    within(c.wait()).await
}

/// Makes a test worker exit with `reason` and waits until it is gone.
pub async fn exit(c: &ChildRef, reason: ExitReason) -> ExitReason {
    c.addr::<Worker>().unwrap().do_send(Exit(reason));
    within(c.wait()).await
}

/// Waits until `id` runs as a child other than `old`; the new child.
pub async fn replaced(sup: &SupervisorRef, id: &str, old: &ChildRef) -> ChildRef {
    within(async {
        loop {
            if let Some(c) = sup
                .which_child(id)
                .await
                .ok()
                .and_then(|i| i.child().cloned())
            {
                if &c != old {
                    return c;
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
}

/// Waits until the supervisor has exited; its reason.
pub async fn sup_exit(sup: &SupervisorRef) -> ExitReason {
    within(sup.wait()).await
}

/// Lets queued messages run (the supervisor handles exit notices asynchronously).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}
