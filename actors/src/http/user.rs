//! One user's HTTP handle: its connection, timer, path cache, cookies and recorder.

use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amoc::metrics::{Outcome, Recorder, Sample};
use amoc::{measurements, metadata};
use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue, SET_COOKIE};
use http::uri::PathAndQuery;
use http::Method;
use tokio::time::{Instant, Sleep};

use super::conn::{self, Received, Stream};
use super::{wire, HttpClient, HttpError, HTTP_REQUEST};

/// Paths a user handle keeps parsed; more distinct paths are parsed on each use.
const PATH_CACHE: usize = 16;

/// A connection idle for longer than this is checked (without waiting) before it is used:
/// has the target closed it? One system call, saved while requests follow each other.
const STALE_CHECK_AFTER: Duration = Duration::from_millis(1);

/// One user's HTTP handle (see [the module](super)): make it with [`HttpClient::user`].
pub struct UserHttp {
    client: HttpClient,
    conn: Option<Stream>,
    /// The connection's buffer: the request, then the response (see [`conn`]).
    buf: BytesMut,
    timer: Option<Pin<Box<Sleep>>>,
    /// When the last response on `conn` ended.
    idle_since: Instant,
    paths: Vec<(Box<str>, PathAndQuery)>,
    cookies: Vec<(String, String)>,
    recorder: Recorder,
}

impl std::fmt::Debug for UserHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserHttp")
            .field("connected", &self.conn.is_some())
            .field("cookies", &self.cookies.len())
            .finish()
    }
}

/// A response, its body read whole.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// A request being built; [`send`](Request::send) sends it.
#[derive(Debug)]
#[must_use = "a request does nothing until sent"]
pub struct Request<'a> {
    http: &'a mut UserHttp,
    name: &'a str,
    request: Result<Outgoing, HttpError>,
    expect: Option<u16>,
    record: bool,
    due: Option<Instant>,
    expected_interval: Option<Duration>,
}

/// A request as built, before it is encoded on the connection.
#[derive(Debug)]
struct Outgoing {
    method: Method,
    path: PathAndQuery,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl UserHttp {
    pub(super) fn new(client: HttpClient) -> Self {
        let recorder = client.shared.stats.recorder();
        Self {
            client,
            conn: None,
            buf: BytesMut::new(),
            timer: None,
            idle_since: Instant::now(),
            paths: Vec::new(),
            cookies: Vec::new(),
            recorder,
        }
    }

    /// `GET path`, recorded as `name`. A path starting with `/` is joined to the client's
    /// base path; `""` is the base URL itself (path and query).
    pub fn get<'a>(&'a mut self, name: &'a str, path: &str) -> Request<'a> {
        self.request(Method::GET, name, path, Bytes::new())
    }

    /// `POST path` with `body`, recorded as `name`.
    pub fn post<'a>(
        &'a mut self,
        name: &'a str,
        path: &str,
        body: impl Into<Bytes>,
    ) -> Request<'a> {
        self.request(Method::POST, name, path, body.into())
    }

    /// A request of any method, recorded as `name`.
    pub fn request<'a>(
        &'a mut self,
        method: Method,
        name: &'a str,
        path: &str,
        body: Bytes,
    ) -> Request<'a> {
        let request = self.build(method, path, body);
        Request {
            http: self,
            name,
            request,
            expect: None,
            record: true,
            due: None,
            expected_interval: None,
        }
    }

    /// The value of this user's cookie `name`, if the target set it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn path(&mut self, path: &str) -> Result<PathAndQuery, HttpError> {
        if let Some((_, p)) = self.paths.iter().find(|(k, _)| &**k == path) {
            return Ok(p.clone());
        }
        let target = &self.client.shared.target;
        let parsed = if path.is_empty() {
            target.path.clone()
        } else {
            target.request_path(path)?
        };
        if self.paths.len() < PATH_CACHE {
            self.paths.push((path.into(), parsed.clone()));
        }
        Ok(parsed)
    }

    fn build(&mut self, method: Method, path: &str, body: Bytes) -> Result<Outgoing, HttpError> {
        Ok(Outgoing {
            method,
            path: self.path(path)?,
            headers: Vec::new(),
            body,
        })
    }

    /// Sends `request` within the timeout; a timed-out connection is dropped.
    async fn exchange(&mut self, request: &Outgoing) -> Result<Response, HttpError> {
        let timeout = self.client.shared.timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        let now = Instant::now();
        timer.as_mut().reset(now + timeout);
        // A connection used a moment ago is not checked: a closed-loop user saves a call.
        let idle = now.duration_since(self.idle_since) >= STALE_CHECK_AFTER;
        if let Some(stream) = self.conn.as_mut().filter(|_| idle) {
            if !conn::is_reusable(stream, &mut self.buf) {
                self.conn = None;
            }
        }
        let result = tokio::select! {
            biased;
            r = roundtrip(&mut self.conn, &mut self.buf, &self.client, &self.cookies, request) => Some(r),
            () = timer.as_mut() => None,
        };
        self.idle_since = Instant::now();
        match result {
            Some(r) => r,
            None => {
                self.conn = None;
                Err(HttpError::Timeout(timeout))
            }
        }
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            match self.cookies.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => value.clone_into(&mut slot.1),
                None => self.cookies.push((name.to_owned(), value.to_owned())),
            }
        }
    }
}

/// Sends on the user's connection (opening one if needed) and reads the whole response.
/// The connection is kept only after a complete exchange that allows it. A request that
/// found a kept-alive connection closed before any byte of its response came is sent once
/// more on a new connection, if its method is idempotent (the target may have closed the
/// connection while the request was on its way).
async fn roundtrip(
    slot: &mut Option<Stream>,
    buf: &mut BytesMut,
    client: &HttpClient,
    cookies: &[(String, String)],
    request: &Outgoing,
) -> Result<Response, HttpError> {
    let shared = &client.shared;
    let mut reused = slot.is_some();
    loop {
        let stream = match slot {
            Some(s) => s,
            None => {
                // Boxed: the rare connect keeps its state off the request's future.
                let opened = Box::pin(conn::connect(
                    &shared.target,
                    &shared.addrs,
                    shared.tls.as_ref(),
                ))
                .await?;
                slot.insert(opened)
            }
        };
        buf.clear();
        // Takes the buffer's memory back from the last response, if it was dropped.
        buf.reserve(conn::INITIAL_BUF);
        wire::encode_request(
            buf,
            &request.method,
            request.path.as_str(),
            &shared.target.host_header,
            if shared.cookies { cookies } else { &[] },
            &request.headers,
            request.body.len(),
        );
        let head_request = request.method == Method::HEAD;
        match conn::exchange(stream, buf, &request.body, head_request).await {
            Ok(Received {
                response,
                keep_alive,
            }) => {
                if !keep_alive {
                    *slot = None;
                }
                return Ok(response);
            }
            Err(failed) => {
                *slot = None;
                let retry = reused
                    && failed.nothing_received
                    && matches!(failed.error, HttpError::Closed)
                    && request.method.is_idempotent();
                if !retry {
                    return Err(failed.error);
                }
                reused = false;
            }
        }
    }
}

impl Request<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Ok(request) = &mut self.request {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(n), Ok(v)) => request.headers.push((n, v)),
                _ => self.request = Err(HttpError::InvalidHeader(format!("{name}: {value}"))),
            }
        }
        self
    }

    /// Makes [`send`](Request::send) fail with [`HttpError::UnexpectedStatus`] unless the
    /// response has this status (the request is recorded with its real status either way).
    pub fn expect_status(mut self, status: u16) -> Self {
        self.expect = Some(status);
        self
    }

    /// Sends without recording it in the run's statistics or emitting an event (for a
    /// reachability probe, say).
    pub fn unrecorded(mut self) -> Self {
        self.record = false;
        self
    }

    /// The request was due at `at` (a throttle permit's
    /// [`due_at`](amoc::throttle::Permit::due_at), say): besides its service time, its
    /// latency is recorded from `at` (corrected for coordinated omission, as wrk2 does).
    pub fn due(mut self, at: Instant) -> Self {
        self.due = Some(at);
        self
    }

    /// This user's requests are due every `interval` (its share of a rate: users ÷ rate):
    /// the slots it misses while this request runs are recorded as corrected latencies too
    /// (HdrHistogram's `record_correct`). Only with [`due`](Self::due).
    pub fn expected_interval(mut self, interval: Duration) -> Self {
        self.expected_interval = Some(interval);
        self
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self) -> Result<Response, HttpError> {
        let Request {
            http,
            name,
            request,
            expect,
            record,
            due,
            expected_interval,
        } = self;
        let request = request?;
        let start = Instant::now();
        let result = http.exchange(&request).await;
        if record {
            let end = Instant::now();
            let outcome = match &result {
                Ok(r) => Outcome::Status(r.status),
                Err(_) => Outcome::Failed,
            };
            let mut sample = Sample::new(outcome, end - start);
            if let Some(due) = due {
                sample = sample.due(end.saturating_duration_since(due), expected_interval);
            }
            if let Err(e) = &result {
                sample = sample.failure(e.class());
            }
            http.recorder.record_sample(name, &sample);
            report(http, name, &request.method, &result, &sample);
        }
        let response = result?;
        if http.client.shared.cookies {
            http.keep_cookies(&response.headers);
        }
        match expect {
            Some(expected) if expected != response.status => Err(HttpError::UnexpectedStatus {
                expected,
                got: response.status,
            }),
            _ => Ok(response),
        }
    }
}

fn report(
    http: &UserHttp,
    name: &str,
    method: &Method,
    result: &Result<Response, HttpError>,
    sample: &Sample,
) {
    http.client
        .shared
        .telemetry
        .execute_with(&HTTP_REQUEST, || {
            let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            let status = result.as_ref().map_or(0, |r| u64::from(r.status));
            // Wall-clock instants, from the end (now) back.
            let end_ns = ns(SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default());
            let start_ns = end_ns.saturating_sub(ns(sample.service));
            let due_ns = end_ns.saturating_sub(ns(sample.corrected));
            let mut md = metadata! { "name" => name, "method" => method.as_str() };
            if let Err(e) = result {
                md.insert("error", error_text(e));
                md.insert("error_class", e.class().name());
            }
            (
                measurements! {
                    "duration" => ns(sample.service),
                    "corrected" => ns(sample.corrected),
                    "status" => status,
                    "start_ns" => start_ns,
                    "due_ns" => due_ns,
                },
                md,
            )
        });
}

/// The error and its causes on one line.
pub(crate) fn error_text(e: &HttpError) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
