//! A ground-truth target: an HTTP/1.1 server on 127.0.0.1 that logs every request it saw
//! (when it arrived, when it was answered, how) and misbehaves on purpose: it can delay every
//! Nth response, stall every response for a period, answer 500 to every Nth request, or close
//! the connection in the middle of every Nth response. Tests compare amoc's figures with its
//! log.
//!
//! Plain threads and blocking sockets (one thread per connection): it shares no runtime with
//! the code under test, so a stall in amoc cannot hide one in the target or the other way.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the target misbehaves; everything off by default. Request numbers count from 1 in
/// arrival order.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Every Nth response is delayed this long.
    pub delay_every: Option<(u64, Duration)>,
    /// Starting this long after the first request and lasting the second duration, no
    /// response leaves: each is held until the stall ends.
    pub stall: Option<(Duration, Duration)>,
    /// Every Nth request is answered 500.
    pub error_every: Option<u64>,
    /// Every Nth response is cut: the head and part of the body, then the connection closes.
    pub close_every: Option<u64>,
}

/// How the target answered one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A whole response with this status.
    Status(u16),
    /// The connection closed in the middle of the response.
    Closed,
}

/// One request the target saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// 1, 2, ... in arrival order.
    pub number: u64,
    /// When its head had arrived whole.
    pub arrived: Instant,
    /// When its answer was written.
    pub answered: Instant,
    /// The request path.
    pub path: String,
    /// How it was answered.
    pub answer: Answer,
}

#[derive(Debug, Default)]
struct Log {
    first: Option<Instant>,
    next: u64,
    seen: Vec<Seen>,
}

/// A running ground-truth target; stops when dropped.
#[derive(Debug)]
pub struct GroundTruth {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
}

impl GroundTruth {
    /// Starts it on a free port of 127.0.0.1.
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s, b) = (log.clone(), stop.clone(), Arc::new(behaviour));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Acquire) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (l, s, b) = (l.clone(), s.clone(), b.clone());
                thread::spawn(move || serve(stream, &l, &s, &b));
            }
        });
        Self { addr, log, stop }
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().seen.clone()
    }

    /// When the first request arrived.
    pub fn first_arrival(&self) -> Option<Instant> {
        self.log.lock().unwrap().first
    }
}

impl Drop for GroundTruth {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Serves one connection: keep-alive, one request at a time.
fn serve(mut stream: TcpStream, log: &Mutex<Log>, stop: &AtomicBool, b: &Behaviour) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = Vec::with_capacity(1024);
    loop {
        let Some((path, body_len, head_len)) = read_head(&mut stream, &mut buf, stop) else {
            return;
        };
        let arrived = Instant::now();
        while buf.len() < head_len + body_len {
            if !fill(&mut stream, &mut buf, stop) {
                return;
            }
        }
        buf.drain(..head_len + body_len);
        let (number, first) = {
            let mut l = log.lock().unwrap();
            l.next += 1;
            (l.next, *l.first.get_or_insert(arrived))
        };
        let every = |n: Option<u64>| n.is_some_and(|n| n > 0 && number % n == 0);
        if let Some((n, delay)) = b.delay_every {
            if n > 0 && number % n == 0 {
                thread::sleep(delay);
            }
        }
        if let Some((after, length)) = b.stall {
            let (from, to) = (first + after, first + after + length);
            let now = Instant::now();
            if now >= from && now < to {
                thread::sleep(to - now);
            }
        }
        let answer = if every(b.close_every) {
            Answer::Closed
        } else if every(b.error_every) {
            Answer::Status(500)
        } else {
            Answer::Status(200)
        };
        let written = match answer {
            Answer::Closed => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npart");
                let _ = stream.flush();
                let _ = stream.shutdown(Shutdown::Both);
                false
            }
            Answer::Status(500) => stream
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\n\r\noops\n")
                .is_ok(),
            Answer::Status(_) => stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
                .is_ok(),
        };
        log.lock().unwrap().seen.push(Seen {
            number,
            arrived,
            answered: Instant::now(),
            path,
            answer,
        });
        if !written {
            return;
        }
    }
}

/// Reads until a whole request head is in `buf`: its path, body length and head length.
fn read_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    stop: &AtomicBool,
) -> Option<(String, usize, usize)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let body_len = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            return Some((path, body_len, end + 4));
        }
        if !fill(stream, buf, stop) {
            return None;
        }
    }
}

/// Reads more bytes; false when the peer closed or the target stops.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, stop: &AtomicBool) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// The schedule-derived truth of a paced run against a stalling target: for each slot due
/// every `1 / rate` from `from` to `to`, its latency measured from when it was due: the time
/// to the stall's end for a slot due during the stall, else `service`.
pub fn scheduled_latencies(
    from: Instant,
    to: Instant,
    rate_per_s: f64,
    stall: (Instant, Instant),
    service: Duration,
) -> Vec<Duration> {
    let spacing = Duration::from_secs_f64(1.0 / rate_per_s);
    let mut out = Vec::new();
    let mut due = from;
    while due < to {
        let latency = if due >= stall.0 && due < stall.1 {
            (stall.1 - due) + service
        } else {
            service
        };
        out.push(latency);
        due += spacing;
    }
    out
}

/// The value at quantile `q` of `values` (sorted here).
pub fn quantile(mut values: Vec<Duration>, q: f64) -> Duration {
    values.sort();
    let i = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len().max(1)) - 1;
    values.get(i).copied().unwrap_or_default()
}
