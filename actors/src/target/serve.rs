//! One connection of the embedded target: parse requests, route them, answer.

use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::http::chunked::ChunkedDecoder;

/// A connection's buffers to begin with.
const BUF: usize = 1024;
/// A request head larger than this is answered 431 and the connection closed.
const MAX_HEAD: usize = 64 * 1024;
/// A request body larger than this is answered 413 and the connection closed.
const MAX_BODY: usize = 16 << 20;
/// The longest `/delay/{ms}`.
const MAX_DELAY_MS: u64 = 10_000;
/// A TLS handshake that takes longer is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every connection of a server shares.
#[derive(Debug)]
pub(super) struct Shared {
    /// Requests answered.
    pub(super) requests: AtomicU64,
    /// Set by `stop`: connections close once they have answered what they received.
    pub(super) stopping: AtomicBool,
    /// Connections answered at least once.
    pub(super) first_answers: AtomicU64,
    /// When the latest of those first answers was ready, in ns since `started`.
    pub(super) last_first_answer_ns: AtomicU64,
    /// When the server started.
    pub(super) started: Instant,
}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            requests: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            first_answers: AtomicU64::new(0),
            last_first_answer_ns: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Counts a connection's first answer, about to be written.
    fn first_answer(&self) {
        let ns = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_first_answer_ns.fetch_max(ns, Ordering::AcqRel);
        self.first_answers.fetch_add(1, Ordering::AcqRel);
    }
}

/// One accepted connection.
pub(super) struct Connection {
    shared: Arc<Shared>,
    /// The worker's count of connections with a request in progress.
    busy: Arc<AtomicUsize>,
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Root,
    Delay(u64),
    Status(u16),
    Echo,
    SetCookie(Range<usize>),
    Whoami,
    NotFound,
    BadRequest(&'static str),
}

/// A complete request head.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    len: usize,
    route: Route,
    length: usize,
    chunked: bool,
    close: bool,
    cookie: Option<Range<usize>>,
}

impl Connection {
    pub(super) fn new(shared: Arc<Shared>, busy: Arc<AtomicUsize>) -> Self {
        Self { shared, busy }
    }

    pub(super) async fn serve(self, stream: TcpStream) {
        let _ = self.run(stream).await;
    }

    pub(super) async fn serve_tls(self, acceptor: TlsAcceptor, stream: TcpStream) {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
        {
            let _ = self.run(stream).await;
        }
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(self, mut stream: S) -> io::Result<()> {
        let mut busy = Busy {
            count: &self.busy,
            now: false,
        };
        let mut buf = Vec::with_capacity(BUF);
        let mut out = Vec::with_capacity(BUF);
        let mut answered = false;
        loop {
            let mut start = 0;
            let mut close = false;
            while start < buf.len() {
                let pending = &buf[start..];
                let parsed = match parse(pending) {
                    Ok(Some(p)) => p,
                    Ok(None) if pending.len() > MAX_HEAD => {
                        respond(&mut out, 431, &[], b"", true);
                        close = true;
                        break;
                    }
                    Ok(None) => break,
                    Err(why) => {
                        respond(&mut out, 400, &[], why.as_bytes(), true);
                        close = true;
                        break;
                    }
                };
                let (body, used) = match body(&pending[parsed.len..], &parsed) {
                    Ok(Some(b)) => b,
                    Ok(None) => break,
                    Err(status) => {
                        respond(&mut out, status, &[], b"", true);
                        close = true;
                        break;
                    }
                };
                if let Route::Delay(ms) = parsed.route {
                    // Answer what came before, then wait.
                    if !answered && !out.is_empty() {
                        answered = true;
                        self.shared.first_answer();
                    }
                    stream.write_all(&out).await?;
                    out.clear();
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                self.answer(&mut out, pending, &parsed, &body);
                start += parsed.len + used;
                if parsed.close {
                    close = true;
                    break;
                }
            }
            buf.drain(..start);
            if !out.is_empty() {
                // Counted before it is written, so a client that has the answer sees the count.
                if !answered {
                    answered = true;
                    self.shared.first_answer();
                }
                stream.write_all(&out).await?;
                stream.flush().await?;
                out.clear();
            }
            if buf.is_empty() {
                busy.set(false);
            }
            if close || (buf.is_empty() && self.shared.stopping.load(Ordering::Acquire)) {
                return stream.shutdown().await;
            }
            if buf.capacity() - buf.len() < BUF / 2 {
                buf.reserve(buf.capacity().max(BUF));
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
            busy.set(true);
        }
    }

    /// Appends the answer to `parsed` (whose head starts `request`) to `out`, and counts it.
    fn answer(&self, out: &mut Vec<u8>, request: &[u8], parsed: &Parsed, body: &[u8]) {
        let close = parsed.close;
        match &parsed.route {
            Route::Root | Route::Delay(_) => respond(out, 200, &[], b"ok", close),
            Route::Status(code) => respond(out, *code, &[], b"", close),
            Route::Echo => respond(out, 200, &[], body, close),
            Route::SetCookie(value) => {
                let mut header = b"set-cookie: amoc=".to_vec();
                header.extend_from_slice(&request[value.clone()]);
                header.extend_from_slice(b"; Path=/; HttpOnly\r\n");
                respond(out, 200, &header, b"ok", close);
            }
            Route::Whoami => {
                let cookie = parsed.cookie.clone().map_or(&b""[..], |r| &request[r]);
                respond(out, 200, &[], cookie, close);
            }
            Route::NotFound => respond(out, 404, &[], b"", close),
            Route::BadRequest(why) => respond(out, 400, &[], why.as_bytes(), close),
        }
        self.shared.requests.fetch_add(1, Ordering::AcqRel);
    }
}

/// Counts its connection in the worker's busy connections while a request is in progress
/// (from its first byte to its answer written), however the connection ends.
struct Busy<'a> {
    count: &'a AtomicUsize,
    now: bool,
}

impl Busy<'_> {
    fn set(&mut self, busy: bool) {
        if busy != self.now {
            self.now = busy;
            if busy {
                self.count.fetch_add(1, Ordering::AcqRel);
            } else {
                self.count.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.set(false);
    }
}

/// Appends a response: status line, `content-length`, `extra` (whole header lines), body.
fn respond(out: &mut Vec<u8>, status: u16, extra: &[u8], body: &[u8], close: bool) {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    use std::io::Write;
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n",
        body.len()
    );
    out.extend_from_slice(extra);
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// The body of `parsed` at the start of `rest` and the bytes it takes there; `None` while
/// incomplete; an error status when it cannot be read.
fn body(rest: &[u8], parsed: &Parsed) -> Result<Option<(Vec<u8>, usize)>, u16> {
    if parsed.chunked {
        let mut decoder = ChunkedDecoder::new();
        let mut body = Vec::new();
        let used = decoder.decode(rest, &mut body).map_err(|_| 400u16)?;
        return match (decoder.is_done(), body.len() > MAX_BODY) {
            (_, true) => Err(413),
            (true, _) => Ok(Some((body, used))),
            (false, _) => Ok(None),
        };
    }
    if parsed.length > MAX_BODY {
        return Err(413);
    }
    Ok((rest.len() >= parsed.length).then(|| (rest[..parsed.length].to_vec(), parsed.length)))
}

/// Parses the request head at the start of `buf`: `Ok(None)` while incomplete.
fn parse(buf: &[u8]) -> Result<Option<Parsed>, &'static str> {
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut fields);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err("malformed request"),
    };
    let offset = |part: &[u8]| {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        start..start + part.len()
    };
    let (mut length, mut chunked, mut cookie) = (0, false, None);
    let mut close = request.version == Some(0);
    for f in request.headers.iter() {
        if f.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(f.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or("invalid content-length")?;
        } else if f.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = f.value.to_ascii_lowercase().ends_with(b"chunked");
        } else if f.name.eq_ignore_ascii_case("connection") {
            let v = f.value.to_ascii_lowercase();
            close = (close && !v.windows(10).any(|w| w == b"keep-alive"))
                || v.windows(5).any(|w| w == b"close");
        } else if f.name.eq_ignore_ascii_case("cookie") {
            cookie = Some(offset(f.value));
        }
    }
    let method = request.method.unwrap_or("");
    let target = request.path.unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let segment = |prefix: &str| path.strip_prefix(prefix).filter(|s| !s.contains('/'));
    let route = match (method, path) {
        ("GET", "/") => Route::Root,
        ("GET", "/whoami") => Route::Whoami,
        ("POST", "/echo") => Route::Echo,
        ("GET", _) => {
            if let Some(ms) = segment("/delay/") {
                ms.parse::<u64>()
                    .map_or(Route::BadRequest("invalid delay"), |ms| {
                        Route::Delay(ms.min(MAX_DELAY_MS))
                    })
            } else if let Some(code) = segment("/status/") {
                match code.parse::<u16>() {
                    Ok(code @ 200..=999) => Route::Status(code),
                    _ => Route::BadRequest("invalid status code"),
                }
            } else if let Some(value) = segment("/cookie/").filter(|v| !v.is_empty()) {
                Route::SetCookie(offset(value.as_bytes()))
            } else {
                Route::NotFound
            }
        }
        _ => Route::NotFound,
    };
    Ok(Some(Parsed {
        len,
        route,
        length,
        chunked,
        close,
        cookie,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Parsed {
        parse(text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn routes() {
        let req = |line: &str| parsed(&format!("{line} HTTP/1.1\r\nhost: x\r\n\r\n")).route;
        assert_eq!(req("GET /"), Route::Root);
        assert_eq!(req("GET /?a=b"), Route::Root);
        assert_eq!(req("GET /delay/20"), Route::Delay(20));
        assert_eq!(req("GET /delay/99999"), Route::Delay(MAX_DELAY_MS));
        assert_eq!(req("GET /status/503"), Route::Status(503));
        assert!(matches!(req("GET /status/42"), Route::BadRequest(_)));
        assert!(matches!(req("GET /delay/x"), Route::BadRequest(_)));
        assert_eq!(req("POST /echo"), Route::Echo);
        assert_eq!(req("GET /cookie/abc"), Route::SetCookie(12..15));
        assert_eq!(req("GET /whoami"), Route::Whoami);
        assert_eq!(req("GET /nothing"), Route::NotFound);
        assert_eq!(req("POST /"), Route::NotFound);
    }

    #[test]
    fn reads_framing_and_keep_alive() {
        let p = parsed("POST /echo HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
        assert_eq!((p.length, p.chunked, p.close), (3, false, true));
        assert_eq!(body(b"abcGET", &p), Ok(Some((b"abc".to_vec(), 3))));
        assert_eq!(body(b"ab", &p), Ok(None));
        let p = parsed("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(p.chunked && p.close, "HTTP/1.0 closes by default");
        assert_eq!(
            body(b"2\r\nhi\r\n0\r\n\r\n", &p),
            Ok(Some((b"hi".to_vec(), 12)))
        );
        let p = parsed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(!p.close);
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse(b"\x00\x01 nonsense\r\n\r\n").is_err());
        assert!(parse(b"GET / HTTP/1.1\r\ncontent-length: x\r\n\r\n").is_err());
        assert_eq!(parse(b"GET / HTTP/1.1\r\nhost"), Ok(None));
    }

    #[test]
    fn responds_with_length_and_close() {
        let mut out = Vec::new();
        respond(&mut out, 200, b"x-a: 1\r\n", b"ok", true);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\nconnection: close\r\n\r\nok"
        );
    }
}
