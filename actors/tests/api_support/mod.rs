//! What the control API tests share: an app with an idle scenario behind the API, and raw
//! HTTP/1.1 requests (every header and byte under the test's control).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use amoc::app::App;
use amoc::config::{MapEnv, Param};
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc_actors::{ApiToken, ControlApi, ControlApiBuilder, ScenarioInfo};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../wait/mod.rs"]
pub mod wait;
#[allow(unused_imports)]
pub use wait::{poll_until, TIMEOUT};

const PAUSE_MS: Param<u64> = Param::new("pause_ms");

/// Users idle until asked to stop; `pause_ms` is updatable.
pub struct Idle;

impl Scenario for Idle {
    const NAME: &'static str = "idle";
    type State = ();
    type Message = ();

    fn params(&self) -> Vec<amoc::config::ParamDecl> {
        vec![PAUSE_MS
            .spec("an updatable pause")
            .default(10)
            .updatable()
            .into()]
    }

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        user.stopping().await;
        Ok(())
    }
}

/// An app and its API on 127.0.0.1.
pub struct Api {
    pub app: App,
    pub server: ControlApi,
    pub token: Option<String>,
}

/// The app (2 shards, at most 1000 users) and a builder for its API.
pub async fn app_and_builder() -> (App, ControlApiBuilder) {
    let app = App::builder()
        .scenario(Idle)
        .shards(2)
        .max_users(1000)
        .removal_grace(Duration::from_millis(200))
        .env(MapEnv::new())
        .start()
        .await
        .unwrap();
    let info = ScenarioInfo::new("idle", "users idle until stopped", Idle.params());
    let builder = ControlApi::builder(app.controller().clone())
        .scenarios(vec![info])
        .throttles(app.throttles().clone())
        .env(vec![
            ("AMOC_PAUSE_MS".into(), "20".into()),
            ("AMOC_API_TOKEN".into(), "never-shown".into()),
            ("HOME".into(), "/root".into()),
        ]);
    (app, builder)
}

impl Api {
    /// No token.
    pub async fn start() -> Self {
        let (app, builder) = app_and_builder().await;
        let server = builder.bind("127.0.0.1:0").unwrap();
        Self {
            app,
            server,
            token: None,
        }
    }

    /// With `token` required.
    pub async fn with_token(token: &str) -> Self {
        let (app, builder) = app_and_builder().await;
        let server = builder
            .token(ApiToken::new(token).unwrap())
            .bind("127.0.0.1:0")
            .unwrap();
        Self {
            app,
            server,
            token: Some(token.to_owned()),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `method path` with a JSON body (or none), the token if any, as curl would send it.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let mut headers = vec![];
        if let Some(t) = &self.token {
            headers.push(("authorization".to_owned(), format!("Bearer {t}")));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        if method != "GET" {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(self.addr(), method, path, &headers, body.as_bytes()).await
    }

    /// Waits until `f` holds on the `controller` part of `GET /status`: asks again after
    /// every change the app publishes (controller state, user counters), never on a timer.
    pub async fn until(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let c = self.app.controller();
        let wait = async {
            loop {
                let (kind, users) = (c.status().kind, c.users().read());
                let status = self.call("GET", "/status", None).await.json();
                if f(&status["controller"]) {
                    return status;
                }
                tokio::select! {
                    _ = c.wait_status(|k| k != kind) => {}
                    _ = c.users().wait_until(|u| *u != users) => {}
                }
            }
        };
        match tokio::time::timeout(TIMEOUT, wait).await {
            Ok(status) => status,
            Err(_) => panic!("{what}: not reached"),
        }
    }

    pub async fn shutdown(self) {
        self.server.stop().await;
        self.app.shutdown().await;
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The one-line `error` of a refusal.
    pub fn error(&self) -> String {
        let body = self.json();
        let error = body["error"].as_str().unwrap_or_else(|| panic!("{body}"));
        assert!(!error.contains('\n'), "one line: {error}");
        error.to_owned()
    }
}

/// Sends one raw request (`Host` is the address unless given) and reads the answer.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(addr, method, path, headers, body)
        .await
        .expect("a connection")
}

/// As [`request`], `None` if nothing listens (yet).
pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Response> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    }) {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.write_all(head.as_bytes()).await.unwrap();
        // The server may answer (413, 401) and close before reading all of a large body.
        let _ = stream.write_all(body).await;
        // Read the answer as far as it goes, without waiting for the server to close (it
        // lingers a little on a body it did not read).
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            if complete(&raw, method == "HEAD") {
                break;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        Some(raw)
    };
    let raw = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("an answer in time")?;
    Some(parse(&raw))
}

/// Whether `raw` holds a whole answer (headers and the body they announce).
fn complete(raw: &[u8], head_only: bool) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    if head_only {
        return true;
    }
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    match head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        Some(n) => body.len() >= n,
        None => false,
    }
}

fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    out
}
