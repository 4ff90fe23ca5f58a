//! HTTP for scenarios: a client per target shared by every user, and a per-user handle that
//! sends named requests over the user's own keep-alive connection.
//!
//! ```no_run
//! # use amoc::scenario::{RunContext, ScenarioError};
//! # use amoc_actors::http::HttpClient;
//! # async fn demo(ctx: RunContext) -> Result<(), ScenarioError> {
//! // In `init`: parse the URL, resolve the host and set the options once.
//! let client = HttpClient::builder("http://127.0.0.1:8080/").cookies(true).build(&ctx).await?;
//! // In `start`: one handle per user.
//! let mut http = client.user();
//! http.post("login", "/login", "user=7").expect_status(200).send().await?;
//! let page = http.get("home", "/").header("accept", "text/html").send().await?;
//! assert!(page.status < 400);
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//! * The base URL is parsed and its host resolved once, in [`HttpClientBuilder::build`];
//!   request paths are parsed once per user and path (a small cache).
//! * Each user handle opens one HTTP/1.1 connection on first use (TLS for `https://`) and
//!   keeps it; a closed, failed or timed-out connection is replaced on the next request. The
//!   client is this crate's own (request encoding and response parsing in `wire`, on
//!   `httparse`): the user's task drives its connection inline, with no driver task or
//!   channel, through one small buffer that is reused for every request and response, so a
//!   user costs little memory (hyper's connection measured about 30 KB per user).
//! * Responses framed by `Content-Length`, `Transfer-Encoding: chunked` or the end of the
//!   connection are read whole; `Connection: close` (and HTTP/1.0 without keep-alive) closes
//!   the connection after the response. A kept-alive connection the target closed is noticed
//!   before it is used; an idempotent request whose connection closed before any byte of the
//!   response came is sent once more on a new one.
//! * Every request sent with [`Request::send`] is recorded in the run's
//!   [`RunStats`](amoc::metrics::RunStats) under its name, on the user's thread, before
//!   `send` returns: lossless, whatever the load. [`Request::unrecorded`] requests (probes)
//!   are not. Each recorded request also emits [`HTTP_REQUEST`], which costs one atomic load
//!   when no handler listens.
//! * A timeout (default [`REQUEST_TIMEOUT`]) bounds a whole request, connection included,
//!   with one timer per user, re-armed for each request.
//!
//! Statistics: a request with no response is [`Outcome::Failed`](amoc::metrics::Outcome);
//! a response of any status is counted by its status class, and a status ≥ 400 is an error.
//! With [`Request::expect_status`] another status also makes `send` return an error.

pub(crate) mod chunked;
mod class;
mod conn;
mod target;
mod user;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amoc::event_name;
use amoc::metrics::RunStats;
use amoc::scenario::RunContext;
use amoc::telemetry::{EventName, Telemetry};
use rustls::pki_types::ServerName;

pub(crate) use user::error_text;
pub use user::{Request, Response, UserHttp};
pub use wire::ResponseError;

use conn::Tls;
use target::{Scheme, Target};

/// `[amoc_actors, http, request]`: one per recorded request. Measurements `duration` (service
/// time, ns), `corrected` (from when it was due, ns; = `duration` when not paced), `status`
/// (0 when no response came), `start_ns` and `due_ns` (when it started and was due, ns since
/// the Unix epoch); metadata `name`, `method`, and `error` (text) with `error_class` (see
/// [`HttpError::class`]) when it failed.
pub static HTTP_REQUEST: EventName = event_name!(amoc_actors, http, request);

/// The default timeout of a whole request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong building a client or sending a request.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL does not parse.
    #[error("invalid URL {url:?}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// Only `http` and `https` are supported.
    #[error("unsupported URL scheme {0:?} (use http:// or https://)")]
    UnsupportedScheme(String),
    /// The URL names no host.
    #[error("no host in {0:?}")]
    NoHost(String),
    /// A request path does not parse.
    #[error("invalid request path {path:?}")]
    InvalidPath {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// A header name or value is not valid HTTP.
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// The host name does not resolve.
    #[error("cannot resolve {host}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A trusted certificate was refused, or TLS could not be configured.
    #[error("TLS configuration")]
    Certificate(#[source] rustls::Error),
    /// The TCP connection failed.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake")]
    Tls(#[source] std::io::Error),
    /// The connection failed while sending or receiving (other than being closed).
    #[error("request failed")]
    Request(#[source] std::io::Error),
    /// The target closed the connection (or reset it) before the response was complete.
    #[error("connection closed before a complete response")]
    Closed,
    /// The response is not valid HTTP/1.1.
    #[error("invalid response")]
    InvalidResponse(#[from] ResponseError),
    /// No complete response within the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The response's status is not the expected one.
    #[error("status {got}, expected {expected}")]
    UnexpectedStatus {
        /// The status asked for with [`Request::expect_status`].
        expected: u16,
        /// The status received.
        got: u16,
    },
}

/// A client of one target (base URL), shared by all users of a run; cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    target: Target,
    addrs: Vec<SocketAddr>,
    tls: Option<Tls>,
    timeout: Duration,
    cookies: bool,
    stats: RunStats,
    telemetry: Telemetry,
}

impl HttpClient {
    /// A builder for a client of `url` (`http://` or `https://`, with an optional base path
    /// that request paths are joined to).
    pub fn builder(url: impl Into<String>) -> HttpClientBuilder {
        HttpClientBuilder {
            url: url.into(),
            timeout: REQUEST_TIMEOUT,
            cookies: false,
            trusted: Vec::new(),
        }
    }

    /// A new handle for one user; it connects on its first request.
    pub fn user(&self) -> UserHttp {
        UserHttp::new(self.clone())
    }

    /// The path and query of the base URL (what a request of "the URL itself" asks for).
    pub fn base_path(&self) -> &str {
        self.shared.target.path.as_str()
    }
}

/// Options of an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    url: String,
    timeout: Duration,
    cookies: bool,
    trusted: Vec<Vec<u8>>,
}

impl HttpClientBuilder {
    /// The timeout of a whole request (default [`REQUEST_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Keeps cookies per user: `Set-Cookie` answers are sent back with the user's later
    /// requests (by name, for this client's host; attributes are ignored). Default: off.
    pub fn cookies(mut self, on: bool) -> Self {
        self.cookies = on;
        self
    }

    /// Trusts this certificate (DER) for `https://`, besides Mozilla's roots: for a target
    /// with a self-signed or private-CA certificate.
    pub fn trust_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.trusted.push(der.into());
        self
    }

    /// Parses the URL, resolves its host and builds the TLS settings; requests are recorded in
    /// `ctx`'s statistics and reported to its telemetry.
    pub async fn build(self, ctx: &RunContext) -> Result<HttpClient, HttpError> {
        self.build_with(ctx.stats().clone(), ctx.telemetry().clone())
            .await
    }

    /// As [`build`](Self::build), with explicit statistics and telemetry (outside a run).
    pub async fn build_with(
        self,
        stats: RunStats,
        telemetry: Telemetry,
    ) -> Result<HttpClient, HttpError> {
        let target = Target::parse(&self.url)?;
        let addrs = target.resolve().await?;
        let tls = match target.scheme {
            Scheme::Http => None,
            Scheme::Https => Some(Tls {
                config: conn::tls_config(&self.trusted)?,
                server_name: ServerName::try_from(target.host.clone())
                    .map_err(|_| HttpError::NoHost(self.url.clone()))?,
            }),
        };
        Ok(HttpClient {
            shared: Arc::new(Shared {
                target,
                addrs,
                tls,
                timeout: self.timeout,
                cookies: self.cookies,
                stats,
                telemetry,
            }),
        })
    }
}
