//! An embedded HTTP target: a small HTTP/1.1 server on loopback, so a load test runs with no
//! setup.
//!
//! Routes: `GET /` → 200 `ok`; `GET /delay/{ms}` → 200 after `ms` milliseconds (at most
//! 10 s); `GET /status/{code}` → that status (200–999; others 400); `POST /echo` → the body
//! back; `GET /cookie/{v}` → sets cookie `amoc={v}`; `GET /whoami` → the request's `Cookie`
//! header; anything else 404. The server counts the requests it answered
//! ([`TestTarget::requests`]), so a test can compare a report with what the target saw, and
//! the connections it answered with when the last of them got its first answer
//! ([`TestTarget::first_answers`]): how long users took to send their first requests.
//! [`TestTarget::start_tls`] serves HTTPS.
//!
//! It is built to be cheaper per request than any load generator it serves (so `amoc demo`
//! measures amoc, not its target): each worker is a thread with its own single-threaded
//! runtime accepting from the shared socket, and a connection is one task parsing requests
//! with `httparse` in one reused buffer (pipelined requests are answered in one write).
//! Thousands of users may connect at once: the socket listens with a large backlog, and a
//! worker accepts every waiting connection in one go, ahead of the requests of those already
//! connected (new users get their first answer within a round of the running ones).

mod serve;

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Connections waiting to be accepted (the kernel caps it at `net.core.somaxconn`, 4096 by
/// default). std's 128 drops the connections of thousands of users starting at once, and a
/// dropped connection is tried again by the client's kernel only after 1 s, then 3 s.
const BACKLOG: i32 = 65_535;

/// Pause after a failed `accept` (out of descriptors), so the worker does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// How often a stopping worker checks whether its requests in progress are answered.
const STOP_POLL: Duration = Duration::from_millis(1);

/// The embedded target server.
///
/// ```
/// # actix_rt::System::new().block_on(async {
/// let target = amoc_actors::TestTarget::start(0, 1).unwrap();
/// assert!(target.url().starts_with("http://127.0.0.1:"));
/// target.stop().await;
/// # });
/// ```
#[derive(Debug)]
pub struct TestTarget {
    addr: SocketAddr,
    shared: Arc<serve::Shared>,
    tls: bool,
    shutdown: watch::Sender<bool>,
    stopped: Vec<oneshot::Receiver<()>>,
}

impl TestTarget {
    /// Starts the server on `127.0.0.1:port` (0 = any free port) with `workers` threads.
    pub fn start(port: u16, workers: usize) -> io::Result<Self> {
        Self::spawn(port, workers, None)
    }

    /// As [`start`](Self::start), serving HTTPS with `config` (a certificate and its key).
    pub fn start_tls(port: u16, workers: usize, config: rustls::ServerConfig) -> io::Result<Self> {
        Self::spawn(port, workers, Some(TlsAcceptor::from(Arc::new(config))))
    }

    fn spawn(port: u16, workers: usize, tls: Option<TlsAcceptor>) -> io::Result<Self> {
        let listener = listen(port)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(serve::Shared::new());
        let (shutdown, _) = watch::channel(false);
        let mut stopped = Vec::new();
        for i in 0..workers.max(1) {
            let worker = Worker {
                listener: listener.try_clone()?,
                shared: shared.clone(),
                tls: tls.clone(),
                shutdown: shutdown.subscribe(),
            };
            let (done, stopped_rx) = oneshot::channel();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            std::thread::Builder::new()
                .name(format!("amoc-target-{i}"))
                .spawn(move || {
                    runtime.block_on(worker.run());
                    // Closes the idle connections left.
                    drop(runtime);
                    let _ = done.send(());
                })?;
            stopped.push(stopped_rx);
        }
        Ok(Self {
            addr,
            shared,
            tls: tls.is_some(),
            shutdown,
            stopped,
        })
    }

    /// Requests answered so far (every route counts).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Acquire)
    }

    /// Connections answered at least once so far, and when the latest of them got its first
    /// answer (ready to write; counted before a client can read it); `None` before any answer. With one connection per user,
    /// the time all users had their first request answered.
    pub fn first_answers(&self) -> FirstAnswers {
        let connections = self.shared.first_answers.load(Ordering::Acquire);
        let ns = self.shared.last_first_answer_ns.load(Ordering::Acquire);
        let last = (connections > 0).then(|| self.shared.started + Duration::from_nanos(ns));
        FirstAnswers { connections, last }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/` (`https://` when serving TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// Stops the server: no new connection is accepted, requests in progress are answered,
    /// then every connection is closed. Returns when all workers have ended.
    pub async fn stop(mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shutdown.send_replace(true);
        for stopped in std::mem::take(&mut self.stopped) {
            let _ = stopped.await;
        }
    }
}

impl Drop for TestTarget {
    /// A target dropped without [`stop`](TestTarget::stop) stops the same way, unawaited.
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shutdown.send_replace(true);
    }
}

/// A non-blocking socket listening on `127.0.0.1:port` with a backlog of [`BACKLOG`].
fn listen(port: u16) -> io::Result<StdListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    // As std does: a restarted target gets its port back at once.
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The connections a [`TestTarget`] has answered, see [`TestTarget::first_answers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstAnswers {
    /// Connections answered at least once.
    pub connections: u64,
    /// When the latest of them got its first answer.
    pub last: Option<std::time::Instant>,
}

/// One worker thread's share of the server.
struct Worker {
    listener: StdListener,
    shared: Arc<serve::Shared>,
    tls: Option<TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
}

impl Worker {
    async fn run(self) {
        let Worker {
            listener,
            shared,
            tls,
            shutdown,
        } = self;
        // Connections of this worker with a request in progress.
        let busy = Arc::new(AtomicUsize::new(0));
        let mut stop = shutdown;
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "the embedded target cannot listen");
                return;
            }
        };
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let mut next = Some(accepted);
                    while let Some(accepted) = next.take() {
                        match accepted {
                            Ok((stream, _)) => {
                                let _ = stream.set_nodelay(true);
                                let conn = serve::Connection::new(shared.clone(), busy.clone());
                                match tls.clone() {
                                    None => connections.spawn(conn.serve(stream)),
                                    Some(acceptor) => {
                                        connections.spawn(conn.serve_tls(acceptor, stream))
                                    }
                                };
                            }
                            // Out of descriptors, say: the connections already accepted carry on.
                            Err(e) => {
                                tracing::warn!(error = %e, "the embedded target cannot accept");
                                tokio::time::sleep(ACCEPT_BACKOFF).await;
                                break;
                            }
                        }
                        // Every connection already waiting is taken now, past the task budget
                        // (which would make this loop wait behind every busy connection after
                        // 128 accepts): users starting are not kept waiting by those running.
                        next = tokio::task::unconstrained(listener.accept()).now_or_never();
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
        drop(listener);
        // Requests in progress are answered; idle connections end with the runtime.
        while busy.load(Ordering::Acquire) > 0 && !connections.is_empty() {
            tokio::select! {
                _ = connections.join_next() => {}
                () = tokio::time::sleep(STOP_POLL) => {}
            }
        }
    }
}
