//! The HTTP control API: drive a running amoc app from `curl`, a CI job or a dashboard, with
//! the routes of Amoc's arsenal (SPEC section 10; the full list is in `docs/api.md` and served
//! as OpenAPI on `GET /openapi.json`).
//!
//! Guarantees:
//! * **Only the operator drives it** ([`access`]): beyond loopback every request needs the
//!   bearer token (401 with `WWW-Authenticate` otherwise); the `Host` must name the listener
//!   and a present `Origin` must be the API's own (403); state-changing routes take only
//!   `application/json` bodies (415), of at most [`BODY_LIMIT`] bytes (413).
//! * **HTTP as meant**: an unknown route is 404, a known route with a wrong method 405 with
//!   `Allow`; every refusal is `{"error": "<one line>"}`.
//! * **Runs are atomic**: `start` with users that cannot be added is refused whole (422): the
//!   controller is reset, no run is left going with no users.
//! * **Run lifecycle is told in order** to whoever asked ([`RunEvent`]): start, stop and reset
//!   are handled one at a time, so a listener keeping per-run statistics never mixes two runs.
//!
//! Status codes: 404 unknown scenario, node or user; 409 not allowed in the controller's
//! state; 422 settings, counts or a failing `init`; 400 a body that is not the documented JSON;
//! 503 the controller is down.

pub mod access;
mod body;
mod handlers;
mod last_report;
pub(crate) mod metrics;
mod nodes;
mod openapi;
mod operations;
mod routes;
mod throttles;
mod tls;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{middleware, web, App, HttpServer};
use amoc::config::ParamDecl;
use amoc::controller::Controller;
use tokio::sync::{mpsc, oneshot};

pub use access::{AccessPolicy, ApiToken, Exposure, PolicyError, Refusal, TokenError};
pub use throttles::ClusterThrottleUsage;
pub use tls::TlsError;

use crate::MetricsStore;

/// The largest request body accepted, in bytes: settings and counts fit many times over.
pub const BODY_LIMIT: usize = 8 * 1024;

/// The name `GET /nodes` and `nodes` fields use for this node until the cluster exists.
pub const LOCAL_NODE: &str = "local";

/// The `node` label of a cluster master's metrics.
pub const MASTER_NODE: &str = "master";

/// A scenario the API lists: its name, a line of documentation and its parameters.
#[derive(Debug, Clone)]
pub struct ScenarioInfo {
    /// The scenario's name.
    pub name: String,
    /// What it does, for `GET /scenarios/info/{name}`.
    pub doc: String,
    /// Its declared parameters.
    pub params: Vec<ParamDecl>,
}

impl ScenarioInfo {
    /// A scenario with its parameters and documentation.
    pub fn new(name: impl Into<String>, doc: impl Into<String>, params: Vec<ParamDecl>) -> Self {
        Self {
            name: name.into(),
            doc: doc.into(),
            params,
        }
    }
}

/// A change of run the API made, told in the order the controller saw them.
#[derive(Debug)]
pub enum RunEvent {
    /// A start of `scenario` was accepted by the state; the controller is asked only once
    /// `ready` is answered (or dropped), so the listener can set up before the first user.
    Starting {
        /// The scenario.
        scenario: String,
        /// Answer (or drop) to let the start proceed.
        ready: oneshot::Sender<()>,
    },
    /// The start that was announced succeeded: the run is going on, its users added.
    Started,
    /// The start that was announced failed: no run started.
    Refused,
    /// The run was asked to stop; it finishes once its users have ended.
    Stopping,
    /// The controller was reset: any run is over.
    Reset,
}

/// Errors starting the API.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be resolved or bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address as given.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The access policy refused the configuration (a token is needed beyond loopback).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The TLS certificate or key could not be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// How to build a [`ControlApi`]; see [`ControlApi::builder`].
#[derive(Debug)]
pub struct ControlApiBuilder {
    controller: Controller,
    scenarios: Vec<ScenarioInfo>,
    metrics: Option<MetricsStore>,
    token: Option<ApiToken>,
    host_name: Option<String>,
    tls: Option<Arc<rustls::ServerConfig>>,
    run_events: Option<mpsc::UnboundedSender<RunEvent>>,
    env: Option<Vec<(String, String)>>,
    reports: Option<crate::report::LastReport>,
    cluster: Option<amoc::cluster::Master>,
    throttles: Option<amoc::throttle::Throttles>,
    cluster_throttles: Option<(amoc::cluster::ThrottleMaster, ClusterThrottleUsage)>,
}

impl ControlApiBuilder {
    /// Shows this node's throttles on `GET /throttles` and changes their rates on `PATCH
    /// /throttles/{name}` (see `docs/api.md`).
    pub fn throttles(mut self, throttles: amoc::throttle::Throttles) -> Self {
        self.throttles = Some(throttles);
        self
    }

    /// On a cluster master: `GET /throttles` and `PATCH /throttles/{name}` show and change
    /// the cluster-wide rates the master leases to its workers, with each worker's last
    /// report from `usage` (they take precedence over [`ControlApiBuilder::throttles`]).
    pub fn cluster_throttles(
        mut self,
        master: amoc::cluster::ThrottleMaster,
        usage: ClusterThrottleUsage,
    ) -> Self {
        self.cluster_throttles = Some((master, usage));
        self
    }

    /// Offers the last run's report on `GET /report` (JSON; `?format=html` for the page).
    pub fn reports(mut self, reports: crate::report::LastReport) -> Self {
        self.reports = Some(reports);
        self
    }

    /// Drives a cluster as its master: runs start, grow, shrink and stop on the workers
    /// (this node's controller runs no users); `GET /nodes` and `GET /status/{node}` show
    /// the workers (see `docs/cluster.md`).
    pub fn cluster(mut self, master: amoc::cluster::Master) -> Self {
        self.cluster = Some(master);
        self
    }

    /// The scenarios `GET /scenarios` lists.
    pub fn scenarios(mut self, scenarios: Vec<ScenarioInfo>) -> Self {
        self.scenarios = scenarios;
        self
    }

    /// Lists the scenarios registered on `app`, with their descriptions and parameters
    /// (one list: the app's).
    pub fn scenarios_of(self, app: &amoc::app::App) -> Self {
        let scenarios = app
            .scenarios()
            .into_iter()
            .map(|s| ScenarioInfo::new(s.name, s.description, s.params))
            .collect();
        self.scenarios(scenarios)
    }

    /// Adds the event metrics of `store` to `GET /metrics`.
    pub fn metrics(mut self, store: MetricsStore) -> Self {
        self.metrics = Some(store);
        self
    }

    /// Requires `Authorization: Bearer <token>` on every request (always beyond loopback).
    pub fn token(mut self, token: ApiToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Serves TLS with the PEM certificate chain and private key at these paths.
    pub fn tls_files(mut self, cert: &Path, key: &Path) -> Result<Self, TlsError> {
        self.tls = Some(tls::server_config(cert, key)?);
        Ok(self)
    }

    /// Tells `events` of every run change the API makes (see [`RunEvent`]).
    pub fn run_events(mut self, events: mpsc::UnboundedSender<RunEvent>) -> Self {
        self.run_events = Some(events);
        self
    }

    /// The `AMOC_*` variables `GET /status` shows (default: the process environment, read
    /// at each request; values of names with TOKEN, SECRET, PASSWORD or KEY are hidden).
    pub fn env(mut self, vars: Vec<(String, String)>) -> Self {
        self.env = Some(vars);
        self
    }

    /// Binds `listen` (`HOST:PORT`; port 0 = any free port; every address the host name
    /// resolves to) and serves on the current arbiter. A host name is also accepted in the
    /// `Host` header. Must be called inside an actix system.
    pub fn bind(mut self, listen: &str) -> Result<ControlApi, StartError> {
        let bind_err = |source| StartError::Bind {
            addr: listen.to_owned(),
            source,
        };
        let addrs: Vec<SocketAddr> = listen.to_socket_addrs().map_err(bind_err)?.collect();
        if addrs.is_empty() {
            return Err(bind_err(std::io::Error::other("resolves to no address")));
        }
        let listeners = addrs
            .iter()
            .map(TcpListener::bind)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bind_err)?;
        let bound = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bind_err)?;
        let host_name = listen
            .rsplit_once(':')
            .map(|(host, _)| host.trim_matches(['[', ']']))
            .filter(|host| host.parse::<std::net::IpAddr>().is_err())
            .map(str::to_owned);
        self.host_name = host_name;
        let policy = AccessPolicy::new(
            &bound,
            self.host_name.as_deref(),
            self.token.take(),
            self.tls.is_some(),
        )?;
        let exposure = policy.exposure();
        let tls = self.tls.take();
        let state = web::Data::from(Arc::new(handlers::State {
            controller_metrics: metrics::controller_registry(
                self.controller.clone(),
                self.cluster.as_ref().map(|_| MASTER_NODE),
            ),
            controller: self.controller,
            scenarios: self.scenarios,
            metrics: self.metrics,
            policy,
            run_events: self.run_events,
            env: self.env,
            reports: self.reports,
            cluster: self.cluster,
            throttles: self.throttles,
            cluster_throttles: self.cluster_throttles,
            lifecycle: tokio::sync::Mutex::new(()),
        }));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(middleware::from_fn(body::guard))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .workers(1)
        .disable_signals();
        let mut server = server;
        for listener in listeners {
            server = match &tls {
                Some(config) => server.listen_rustls_0_23(listener, (**config).clone()),
                None => server.listen(listener),
            }
            .map_err(bind_err)?;
        }
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Ok(ControlApi {
            addrs: bound,
            handle,
            exposure,
            tls: tls.is_some(),
        })
    }
}

/// The control API server.
///
/// ```no_run
/// # async fn demo(app: &amoc::app::App) -> Result<(), Box<dyn std::error::Error>> {
/// use amoc_actors::{ApiToken, ControlApi};
/// let api = ControlApi::builder(app.controller().clone())
///     .token(ApiToken::new("s3cret")?)
///     .bind("127.0.0.1:4000")?;
/// println!("control API on {}", api.url());
/// # api.stop().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ControlApi {
    addrs: Vec<SocketAddr>,
    handle: ServerHandle,
    exposure: Exposure,
    tls: bool,
}

impl ControlApi {
    /// A builder for the API of `controller`.
    pub fn builder(controller: Controller) -> ControlApiBuilder {
        ControlApiBuilder {
            controller,
            scenarios: Vec::new(),
            metrics: None,
            token: None,
            host_name: None,
            tls: None,
            run_events: None,
            env: None,
            reports: None,
            cluster: None,
            throttles: None,
            cluster_throttles: None,
        }
    }

    /// Serves the API of `app` on `addr` (port 0 = any free port) with no token, listing
    /// the app's scenarios ([`amoc::app::App::scenarios`]) and throttles: loopback only (any other address
    /// needs [`ControlApi::builder`] and a token). Must be called inside an actix system.
    pub fn start(addr: SocketAddr, app: &amoc::app::App) -> Result<Self, StartError> {
        Self::builder(app.controller().clone())
            .scenarios_of(app)
            .throttles(app.throttles().clone())
            .bind(&addr.to_string())
    }

    /// The first address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every address it listens on.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Whether it can be reached from beyond this machine.
    pub fn exposure(&self) -> Exposure {
        self.exposure
    }

    /// `http://ADDR` or `https://ADDR` (no trailing slash: append a route).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr())
    }

    /// Stops the server, letting requests in progress finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}
