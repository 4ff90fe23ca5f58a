//! The `Scenario` trait: what one simulated user does, and the run-wide context it sees.
//!
//! A scenario has three callbacks. [`Scenario::init`] runs once per run, on the controller,
//! and builds the shared [`Scenario::State`]. [`Scenario::start`] is the body of one user: it
//! runs inside that user's actor, on the arbiter that owns the user, and may await messages
//! from other users or coordinator actions through its [`UserContext`]. [`Scenario::terminate`]
//! runs once when the run finishes. Scenario futures need not be `Send`: each runs on one
//! arbiter thread.
//!
//! Failures: `init` returning `Err` or panicking fails the start of the run. A user whose
//! `start` returns `Err` or panics is a crash of that user only: it is reported (span
//! `exception`, the `crashed` counter) and the run goes on. A `terminate` failure is reported
//! and otherwise ignored.
//!
//! Live updates: [`Scenario::settings_updated`] runs once per accepted
//! [`update_settings`](crate::controller::Controller::update_settings), on the controller,
//! with the run's state and context, before that call returns. Apply a new setting there
//! once (a throttle's rate, a coordinator) rather than in every user. Its failure or panic
//! is reported and does not undo the update; a refused update does not run it.
//!
//! Where the pieces live: this module holds what is generic over a scenario (the trait, the
//! [`UserContext`] its users see, and the user actor that runs `start`); the shards that
//! spawn, count and stop users are type-independent and live in [`crate::users`], which
//! never names a scenario (the dependency goes one way: scenario → users).
//!
//! A run that needs no setup implements [`SimpleScenario`] instead: the same trait without
//! `init`, its state built with `Default::default()`.

mod body;
mod context;
mod simple;
pub(crate) mod user;

pub use context::UserContext;
pub use simple::SimpleScenario;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use crate::config::{ConfigView, ParamDecl};
use crate::coordinator::Coordinators;
use crate::metrics::RunStats;
use crate::telemetry::Telemetry;
use crate::throttle::Throttles;

/// What scenario callbacks return on failure.
pub type ScenarioError = Box<dyn std::error::Error + Send + Sync>;

/// What one simulated user does.
///
/// ```
/// use amoc::scenario::{RunContext, Scenario, ScenarioError, UserContext};
///
/// struct Hello;
///
/// impl Scenario for Hello {
///     const NAME: &'static str = "hello";
///     type State = ();
///     type Message = ();
///
///     async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
///         Ok(())
///     }
///
///     async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
///         println!("hello from user {}", user.user_id());
///         Ok(())
///     }
/// }
/// ```
pub trait Scenario: Send + Sync + Sized + 'static {
    /// The name the scenario is registered and started under.
    const NAME: &'static str;
    /// One line saying what its users do, for listings ([`App::scenarios`], the control
    /// API's `GET /scenarios/info/{name}`). Empty by default.
    ///
    /// [`App::scenarios`]: crate::app::App::scenarios
    const DESCRIPTION: &'static str = "";
    /// Built by `init`, shared read-only by every user and by `terminate`.
    type State: Send + Sync + Debug + 'static;
    /// What a user's mailbox accepts from other users and coordinator actions.
    type Message: Send + 'static;

    /// The parameters this scenario declares (or overrides); see [`crate::config`].
    fn params(&self) -> Vec<ParamDecl> {
        Vec::new()
    }

    /// Once per run, on the controller, inside the span `[amoc, scenario, init]`.
    fn init(&self, ctx: RunContext) -> impl Future<Output = Result<Self::State, ScenarioError>>;

    /// The body of one user, inside its actor, inside the span `[amoc, scenario, start]`.
    fn start(&self, user: UserContext<Self>) -> impl Future<Output = Result<(), ScenarioError>>;

    /// Once per accepted settings update while the run goes on, on the controller, after the
    /// new values are published and before `update_settings` returns. `changed` names the
    /// parameters whose value changed (it may be empty); read the values from `ctx.config()`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::sync::atomic::{AtomicU64, Ordering};
    /// # use amoc::config::Param;
    /// # use amoc::scenario::{RunContext, Scenario, ScenarioError, UserContext};
    /// const PAUSE_MS: Param<u64> = Param::new("pause_ms");
    /// # #[derive(Debug, Default)] struct St { pause_ms: AtomicU64 }
    /// # struct S;
    /// # impl Scenario for S {
    /// #     const NAME: &'static str = "s";
    /// #     type State = St;
    /// #     type Message = ();
    /// #     async fn init(&self, _: RunContext) -> Result<St, ScenarioError> { Ok(St::default()) }
    /// #     async fn start(&self, _: UserContext<Self>) -> Result<(), ScenarioError> { Ok(()) }
    /// async fn settings_updated(
    ///     &self,
    ///     state: Arc<St>,
    ///     ctx: RunContext,
    ///     changed: Vec<String>,
    /// ) -> Result<(), ScenarioError> {
    ///     if changed.iter().any(|name| name == "pause_ms") {
    ///         state.pause_ms.store(PAUSE_MS.get(ctx.config())?, Ordering::Relaxed);
    ///     }
    ///     Ok(())
    /// }
    /// # }
    /// ```
    fn settings_updated(
        &self,
        state: Arc<Self::State>,
        ctx: RunContext,
        changed: Vec<String>,
    ) -> impl Future<Output = Result<(), ScenarioError>> {
        let _ = (state, ctx, changed);
        async { Ok(()) }
    }

    /// Once when the run finishes, inside the span `[amoc, scenario, terminate]`.
    fn terminate(
        &self,
        state: Arc<Self::State>,
        ctx: RunContext,
    ) -> impl Future<Output = Result<(), ScenarioError>> {
        let _ = (state, ctx);
        async { Ok(()) }
    }
}

/// What a run offers scenario code: telemetry, configuration, throttles, coordinators and
/// the run's request statistics. Cheap to clone, usable from any arbiter.
#[derive(Debug, Clone)]
pub struct RunContext {
    scenario: Arc<str>,
    telemetry: Telemetry,
    config: ConfigView,
    throttles: Throttles,
    coordinators: Coordinators,
    stats: RunStats,
}

impl RunContext {
    /// A context for a new run of `scenario`, with new, empty [`RunStats`] (published as the
    /// app's current ones, see [`RunStats::current`]).
    pub fn new(
        scenario: &str,
        telemetry: Telemetry,
        config: ConfigView,
        throttles: Throttles,
        coordinators: Coordinators,
    ) -> Self {
        let stats = RunStats::new();
        stats.publish(&telemetry);
        Self {
            scenario: Arc::from(scenario),
            telemetry,
            config,
            throttles,
            coordinators,
            stats,
        }
    }

    /// The scenario's name.
    pub fn scenario(&self) -> &str {
        &self.scenario
    }

    /// The app's telemetry.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The run's configuration (lock-free reads).
    pub fn config(&self) -> &ConfigView {
        &self.config
    }

    /// The app's throttles.
    pub fn throttles(&self) -> &Throttles {
        &self.throttles
    }

    /// The app's coordinators.
    pub fn coordinators(&self) -> &Coordinators {
        &self.coordinators
    }

    /// This run's request statistics (see [`crate::metrics`]).
    pub fn stats(&self) -> &RunStats {
        &self.stats
    }
}
