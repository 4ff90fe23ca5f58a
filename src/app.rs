//! The app: wires telemetry, configuration, throttles, coordinators, user shards and the
//! controller together, and shuts them down in order.
//!
//! Start-up order: telemetry, config, throttles, coordinators, one user shard per arbiter,
//! controller. Shutdown runs in reverse: the controller ends the run (users asked to stop,
//! aborted after the removal grace, `terminate` called), then the shards and their arbiters
//! stop, then coordinators and throttles, and telemetry last, after every handler queue is
//! delivered, so the last events of a run arrive.
//!
//! ```
//! use amoc::app::App;
//! use amoc::scenario::{RunContext, Scenario, ScenarioError};
//! use amoc::user_rate::UserRate;
//! use amoc::scenario::UserContext;
//!
//! struct Idle;
//! impl Scenario for Idle {
//!     const NAME: &'static str = "idle";
//!     type State = ();
//!     type Message = ();
//!     async fn init(&self, _: RunContext) -> Result<(), ScenarioError> { Ok(()) }
//!     async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
//!         user.stopping().await;
//!         Ok(())
//!     }
//! }
//!
//! # actix_rt::System::new().block_on(async {
//! let app = App::builder().scenario(Idle).shards(2).start().await.unwrap();
//! let settings = vec![UserRate::Infinity.setting()];
//! app.controller().run("idle", 10, settings).await.unwrap();
//! app.shutdown().await;
//! # });
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use actix_rt::Arbiter;
use tokio::sync::mpsc;

use crate::config::{Config, EnvSource, ProcessEnv};
use crate::controller::{Controller, ControllerLoop, ErasedScenario, Registered, Shared};
use crate::coordinator::Coordinators;
use crate::scenario::Scenario;
use crate::supervisor::SupervisorRef;
use crate::telemetry::{Telemetry, DEFAULT_REPORT_PERIOD};
use crate::throttle::Throttles;
use crate::users::{UserCounters, Users};

mod tree;

/// The default grace before a forced stop aborts a user.
pub const DEFAULT_REMOVAL_GRACE: Duration = Duration::from_secs(2);

/// Default bound on live users (waiting or running): ten million, about 11 GB of idle users.
pub const DEFAULT_MAX_USERS: u64 = 10_000_000;

/// Errors of building an app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Two scenarios share a name.
    #[error("scenario {0:?} is registered twice")]
    DuplicateScenario(&'static str),
    /// Zero shards asked for.
    #[error("at least one user shard is needed")]
    NoShards,
    /// The supervision tree did not start.
    #[error("cannot start the app: {0}")]
    Start(#[source] crate::supervisor::SupervisorStartError),
    /// The root supervisor started but reported it ignored its start (never expected).
    #[error("cannot start the app: the root supervisor ignored its start")]
    Ignored,
}

/// A scenario registered on an [`App`] (see [`App::scenarios`]).
#[derive(Debug, Clone)]
pub struct RegisteredScenario {
    /// Its name ([`Scenario::NAME`]).
    pub name: &'static str,
    /// What its users do ([`Scenario::DESCRIPTION`]).
    pub description: &'static str,
    /// The parameters it declares ([`Scenario::params`]).
    pub params: Vec<crate::config::ParamDecl>,
}

/// Builds an [`App`].
pub struct AppBuilder {
    scenarios: HashMap<&'static str, Arc<dyn ErasedScenario>>,
    duplicate: Option<&'static str>,
    shards: usize,
    removal_grace: Duration,
    max_users: u64,
    report_period: Duration,
    env: Arc<dyn EnvSource>,
}

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("scenarios", &self.scenarios.keys().collect::<Vec<_>>())
            .field("shards", &self.shards)
            .field("removal_grace", &self.removal_grace)
            .finish()
    }
}

impl AppBuilder {
    /// Registers a scenario under its `NAME`.
    pub fn scenario<S: Scenario>(mut self, scenario: S) -> Self {
        let erased: Arc<dyn ErasedScenario> = Arc::new(Registered(Arc::new(scenario)));
        if self.scenarios.insert(S::NAME, erased).is_some() {
            self.duplicate.get_or_insert(S::NAME);
        }
        self
    }

    /// Number of user shards, one arbiter (thread) each. Default: the number of cores.
    pub fn shards(mut self, n: usize) -> Self {
        self.shards = n;
        self
    }

    /// How long a forced stop waits before aborting a user. Default 2 s.
    pub fn removal_grace(mut self, grace: Duration) -> Self {
        self.removal_grace = grace;
        self
    }

    /// The most users that may be live (waiting or running) at once: an add that would go
    /// beyond is refused with [`ControllerError::TooManyUsers`](crate::controller::ControllerError::TooManyUsers),
    /// so a typo cannot exhaust memory. Default [`DEFAULT_MAX_USERS`].
    pub fn max_users(mut self, n: u64) -> Self {
        self.max_users = n;
        self
    }

    /// Period of telemetry drop reports. Default 1 s.
    pub fn telemetry_report_period(mut self, period: Duration) -> Self {
        self.report_period = period;
        self
    }

    /// Where `AMOC_*` variables are read from. Default: the process environment.
    pub fn env(mut self, env: impl EnvSource + 'static) -> Self {
        self.env = Arc::new(env);
        self
    }

    /// Starts the app: the supervision tree of the module docs. Must be called inside an
    /// actix system.
    pub async fn start(self) -> Result<App, BuildError> {
        if let Some(name) = self.duplicate {
            return Err(BuildError::DuplicateScenario(name));
        }
        if self.shards == 0 {
            return Err(BuildError::NoShards);
        }
        let telemetry = Telemetry::new();
        let config = Config::with_env_arc(telemetry.clone(), self.env);
        let throttles = Throttles::new(telemetry.clone());
        let coordinators = Coordinators::new(telemetry.clone());
        let arbiters: Vec<Arbiter> = (0..self.shards).map(|_| Arbiter::new()).collect();
        let scenarios = Arc::new(self.scenarios);
        let counters = UserCounters::new(self.shards);
        let shared = Arc::new(Shared::new(counters.clone()));
        let (first_tx, _) = mpsc::unbounded_channel();
        let inbox = Arc::new(Mutex::new(first_tx));
        let tree = tree::Tree {
            telemetry: telemetry.clone(),
            report_period: self.report_period,
            config: config.clone(),
            throttles: throttles.clone(),
            coordinators: coordinators.clone(),
            arbiters: arbiters.iter().map(Arbiter::handle).collect(),
            counters: counters.shards().to_vec(),
            removal_grace: self.removal_grace,
            controller: ControllerLoop {
                shared: shared.clone(),
                scenarios: scenarios.clone(),
                users: Users::new(counters.clone()),
                telemetry: telemetry.clone(),
                config: config.clone(),
                throttles: throttles.clone(),
                coordinators: coordinators.clone(),
                max_users: self.max_users,
            },
            inbox: inbox.clone(),
        };
        let root = match tree.start().await {
            Ok(root) => root,
            Err(e) => {
                for arbiter in &arbiters {
                    arbiter.stop();
                }
                return Err(e);
            }
        };
        let controller = Controller::new(inbox, shared, config.clone(), telemetry.clone());
        Ok(App {
            scenarios,
            telemetry,
            config,
            throttles,
            coordinators,
            controller,
            root,
            arbiters,
        })
    }
}

/// A running amoc app.
pub struct App {
    scenarios: Arc<HashMap<&'static str, Arc<dyn ErasedScenario>>>,
    telemetry: Telemetry,
    config: Config,
    throttles: Throttles,
    coordinators: Coordinators,
    controller: Controller,
    root: SupervisorRef,
    arbiters: Vec<Arbiter>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.scenarios.keys().collect();
        names.sort();
        f.debug_struct("App")
            .field("scenarios", &names)
            .field("controller", &self.controller)
            .field("root", &self.root)
            .field("arbiters", &self.arbiters.len())
            .finish_non_exhaustive()
    }
}

impl App {
    /// A builder with defaults: no scenario, one shard per core, 2 s removal grace.
    pub fn builder() -> AppBuilder {
        AppBuilder {
            scenarios: HashMap::new(),
            duplicate: None,
            shards: std::thread::available_parallelism().map_or(1, |n| n.get()),
            removal_grace: DEFAULT_REMOVAL_GRACE,
            max_users: DEFAULT_MAX_USERS,
            report_period: DEFAULT_REPORT_PERIOD,
            env: Arc::new(ProcessEnv),
        }
    }

    /// The registered scenarios, by name: what `start_scenario` accepts.
    ///
    /// ```
    /// # use amoc::prelude::*;
    /// # struct Hello;
    /// # impl SimpleScenario for Hello {
    /// #     const NAME: &'static str = "hello";
    /// #     const DESCRIPTION: &'static str = "says hello";
    /// #     type State = ();
    /// #     type Message = ();
    /// #     async fn start(&self, _: UserContext<Self>) -> Result<(), ScenarioError> { Ok(()) }
    /// # }
    /// # actix_rt::System::new().block_on(async {
    /// let app = App::builder().scenario(Hello).start().await.unwrap();
    /// let listed = app.scenarios();
    /// assert_eq!((listed[0].name, listed[0].description), ("hello", "says hello"));
    /// # app.shutdown().await;
    /// # });
    /// ```
    pub fn scenarios(&self) -> Vec<RegisteredScenario> {
        let mut list: Vec<RegisteredScenario> = self
            .scenarios
            .values()
            .map(|s| RegisteredScenario {
                name: s.name(),
                description: s.description(),
                params: s.params(),
            })
            .collect();
        list.sort_by_key(|s| s.name);
        list
    }

    /// The controller.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }
    /// Telemetry: attach handlers here.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The throttles.
    pub fn throttles(&self) -> &Throttles {
        &self.throttles
    }
    /// The coordinators.
    pub fn coordinators(&self) -> &Coordinators {
        &self.coordinators
    }

    /// The root supervisor (to inspect the tree: `which_children`, `count_children`).
    pub fn supervisor(&self) -> &SupervisorRef {
        &self.root
    }

    /// Stops everything in order (see the module docs) and waits for it.
    pub async fn shutdown(self) {
        // End the run while throttles, coordinators and telemetry still serve it.
        self.controller.shutdown().await;
        self.coordinators.stop_all().await;
        for name in self.throttles.names() {
            let _ = self.throttles.stop(&name).await;
        }
        // Controller, users, coordinators, throttles, config, then telemetry (which delivers
        // its queues first).
        self.root.stop().await;
        self.telemetry.shutdown().await;
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}
