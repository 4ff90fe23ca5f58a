//! Scenarios registered on an app, behind object-safe wrappers.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

use super::InitError;
use crate::config::ParamDecl;
use crate::metadata;
use crate::scenario::user::{ArcFactory, RunData};
use crate::scenario::{RunContext, Scenario, ScenarioError};
use crate::task::panic_message;
use crate::telemetry::names;
use crate::user_rate::Gate;
use crate::users::UserFactory;

/// A scenario of unknown type.
pub(crate) trait ErasedScenario: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn params(&self) -> Vec<ParamDecl>;
    /// Runs `init` in its span; a panic is caught and reported as an error.
    fn init(
        &self,
        ctx: RunContext,
        gate: Gate,
    ) -> LocalBoxFuture<'static, Result<Arc<dyn ErasedRun>, InitError>>;
}

/// A run of a scenario of unknown type.
pub(crate) trait ErasedRun: Send + Sync {
    fn factory(&self) -> Arc<dyn UserFactory>;
    /// Runs `settings_updated`; failures and panics are reported and swallowed.
    fn settings_updated(&self, changed: Vec<String>) -> LocalBoxFuture<'static, ()>;
    /// Runs `terminate` in its span; failures and panics are reported and swallowed.
    fn terminate(&self) -> LocalBoxFuture<'static, ()>;
}

pub(crate) struct Registered<S>(pub(crate) Arc<S>);

impl<S: Scenario> ErasedScenario for Registered<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn description(&self) -> &'static str {
        S::DESCRIPTION
    }

    fn params(&self) -> Vec<ParamDecl> {
        self.0.params()
    }

    fn init(
        &self,
        ctx: RunContext,
        gate: Gate,
    ) -> LocalBoxFuture<'static, Result<Arc<dyn ErasedRun>, InitError>> {
        let scenario = self.0.clone();
        async move {
            let telemetry = ctx.telemetry().clone();
            let start_md = metadata! { "scenario" => S::NAME };
            let stop_md = start_md.clone();
            let init_ctx = ctx.clone();
            let s = scenario.clone();
            let spanned = telemetry.try_span(&names::SCENARIO_INIT, start_md, async move {
                let state = s.init(init_ctx).await?;
                let mut md = stop_md;
                md.insert("return", format!("{state:?}"));
                Ok::<_, ScenarioError>((state, md))
            });
            let state = match AssertUnwindSafe(spanned).catch_unwind().await {
                Ok(Ok(state)) => state,
                Ok(Err(e)) => return Err(InitError::Error(Arc::from(e))),
                Err(panic) => return Err(InitError::Panicked(panic_message(&*panic))),
            };
            let state_debug: Arc<str> = Arc::from(format!("{state:?}"));
            let data = Arc::new(RunData {
                scenario,
                state: Arc::new(state),
                context: ctx,
                state_debug,
                gate: Some(gate),
                sequence: AtomicU64::new(1),
            });
            Ok(Arc::new(RunOf(data)) as Arc<dyn ErasedRun>)
        }
        .boxed_local()
    }
}

struct RunOf<S: Scenario>(Arc<RunData<S>>);

impl<S: Scenario> ErasedRun for RunOf<S> {
    fn factory(&self) -> Arc<dyn UserFactory> {
        Arc::new(ArcFactory(self.0.clone()))
    }

    fn settings_updated(&self, changed: Vec<String>) -> LocalBoxFuture<'static, ()> {
        let data = self.0.clone();
        async move {
            let (state, ctx) = (data.state.clone(), data.context.clone());
            let hook = data.scenario.settings_updated(state, ctx, changed);
            match AssertUnwindSafe(hook).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(scenario = S::NAME, error = %e, "settings_updated failed"),
                Err(p) => tracing::warn!(scenario = S::NAME, reason = %panic_message(&*p), "settings_updated panicked"),
            }
        }
        .boxed_local()
    }

    fn terminate(&self) -> LocalBoxFuture<'static, ()> {
        let data = self.0.clone();
        async move {
            let telemetry = data.context.telemetry().clone();
            let start_md = metadata! { "scenario" => S::NAME, "state" => &*data.state_debug };
            let stop_md = start_md.clone();
            let (scenario, state, ctx) = (data.scenario.clone(), data.state.clone(), data.context.clone());
            let spanned = telemetry.try_span(&names::SCENARIO_TERMINATE, start_md, async move {
                scenario.terminate(state, ctx).await?;
                let mut md = stop_md;
                md.insert("return", "()");
                Ok::<_, ScenarioError>(((), md))
            });
            match AssertUnwindSafe(spanned).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(scenario = S::NAME, error = %e, "terminate failed"),
                Err(p) => tracing::warn!(scenario = S::NAME, reason = %panic_message(&*p), "terminate panicked"),
            }
        }
        .boxed_local()
    }
}
