//! [`SimpleScenario`]: a [`Scenario`] without `init`, for runs whose shared state starts as
//! `Default::default()`.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use super::{RunContext, Scenario, ScenarioError, UserContext};
use crate::config::ParamDecl;

/// A scenario whose run needs no setup: the shared state is `State::default()`.
///
/// Implement this instead of [`Scenario`] and leave `init` out; everything else reads the
/// same (`NAME`, `State`, `Message`, `params`, `start`, `terminate`), and the type is a
/// [`Scenario`] for every API that takes one. When the run needs setup after all (start a
/// throttle, check a URL), switch the `impl` to [`Scenario`] and add `init`.
///
/// ```
/// use amoc::prelude::*;
///
/// struct Hello;
///
/// impl SimpleScenario for Hello {
///     const NAME: &'static str = "hello";
///     type State = ();
///     type Message = ();
///
///     async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
///         println!("hello from user {}", user.user_id());
///         Ok(())
///     }
/// }
///
/// fn registered<S: Scenario>(_: S) -> &'static str { S::NAME }
/// assert_eq!(registered(Hello), "hello");
/// ```
pub trait SimpleScenario: Send + Sync + Sized + 'static {
    /// The name the scenario is registered and started under.
    const NAME: &'static str;
    /// One line saying what its users do; see [`Scenario::DESCRIPTION`].
    const DESCRIPTION: &'static str = "";
    /// Shared read-only by every user and by `terminate`; each run starts with the default.
    type State: Default + Send + Sync + Debug + 'static;
    /// What a user's mailbox accepts from other users and coordinator actions.
    type Message: Send + 'static;

    /// The parameters this scenario declares; see [`Scenario::params`].
    fn params(&self) -> Vec<ParamDecl> {
        Vec::new()
    }

    /// The body of one user; see [`Scenario::start`].
    fn start(&self, user: UserContext<Self>) -> impl Future<Output = Result<(), ScenarioError>>
    where
        Self: Scenario;

    /// Once per accepted settings update; see [`Scenario::settings_updated`].
    fn settings_updated(
        &self,
        state: Arc<Self::State>,
        ctx: RunContext,
        changed: Vec<String>,
    ) -> impl Future<Output = Result<(), ScenarioError>> {
        let _ = (state, ctx, changed);
        async { Ok(()) }
    }

    /// Once when the run finishes; see [`Scenario::terminate`].
    fn terminate(
        &self,
        state: Arc<Self::State>,
        ctx: RunContext,
    ) -> impl Future<Output = Result<(), ScenarioError>> {
        let _ = (state, ctx);
        async { Ok(()) }
    }
}

impl<T: SimpleScenario> Scenario for T {
    const NAME: &'static str = <T as SimpleScenario>::NAME;
    const DESCRIPTION: &'static str = <T as SimpleScenario>::DESCRIPTION;
    type State = <T as SimpleScenario>::State;
    type Message = <T as SimpleScenario>::Message;

    fn params(&self) -> Vec<ParamDecl> {
        SimpleScenario::params(self)
    }

    async fn init(&self, _: RunContext) -> Result<Self::State, ScenarioError> {
        Ok(Default::default())
    }

    fn start(&self, user: UserContext<Self>) -> impl Future<Output = Result<(), ScenarioError>> {
        SimpleScenario::start(self, user)
    }

    fn settings_updated(
        &self,
        state: Arc<Self::State>,
        ctx: RunContext,
        changed: Vec<String>,
    ) -> impl Future<Output = Result<(), ScenarioError>> {
        SimpleScenario::settings_updated(self, state, ctx, changed)
    }

    fn terminate(
        &self,
        state: Arc<Self::State>,
        ctx: RunContext,
    ) -> impl Future<Output = Result<(), ScenarioError>> {
        SimpleScenario::terminate(self, state, ctx)
    }
}
