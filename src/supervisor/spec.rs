//! Child specifications, supervisor flags, and their validation.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

use super::{ChildHandle, ChildStarter, StartError};
use crate::Value;

/// When a child that exits on its own is restarted (SPEC 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always restarted, whatever the reason.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit.
    Transient,
    /// Never restarted; its spec is removed when it ends.
    Temporary,
}

/// How a child is stopped (SPEC 3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Abort the task at once.
    BrutalKill,
    /// Send [`StopRequest`](super::StopRequest), wait this long, then abort.
    Timeout(Duration),
    /// Send the request and wait without limit (default for supervisors).
    Infinity,
}

/// Default shutdown of a worker: 5 s.
pub const DEFAULT_WORKER_SHUTDOWN: Shutdown = Shutdown::Timeout(Duration::from_secs(5));

/// Whether a child is a worker or a supervisor (affects defaults and counts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChildKind {
    /// A worker.
    #[default]
    Worker,
    /// A supervisor.
    Supervisor,
}

impl ChildKind {
    /// The default shutdown of this kind: `Timeout(5 s)` for workers, `Infinity` for
    /// supervisors.
    pub fn default_shutdown(self) -> Shutdown {
        match self {
            ChildKind::Worker => DEFAULT_WORKER_SHUTDOWN,
            ChildKind::Supervisor => Shutdown::Infinity,
        }
    }
}

/// Restart strategy of a static [`Supervisor`](super::Supervisor) (SPEC 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Restart only the child that exited.
    #[default]
    OneForOne,
    /// Stop all other children, then restart all.
    OneForAll,
    /// Stop the children started after the exited one, then restart it and them.
    RestForOne,
}

/// When a supervisor shuts itself down because significant children ended (SPEC 3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoShutdown {
    /// Never.
    #[default]
    Never,
    /// When any significant child ends and is not restarted.
    AnySignificant,
    /// When no significant child is left running.
    AllSignificant,
}

/// Supervisor flags (OTP's `sup_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupFlags {
    /// Restart strategy (ignored by a [`DynamicSupervisor`](super::DynamicSupervisor)).
    pub strategy: Strategy,
    /// Restarts allowed within `period` (0 allowed). Default 1.
    pub intensity: u32,
    /// Length of the intensity window; must be > 0. Default 5 s.
    pub period: Duration,
    /// Auto shutdown on significant children; must be `Never` on a dynamic supervisor.
    pub auto_shutdown: AutoShutdown,
    /// Dynamic supervisors only: the maximum number of children (`None`: unlimited).
    pub max_children: Option<usize>,
}

impl Default for SupFlags {
    fn default() -> Self {
        SupFlags {
            strategy: Strategy::OneForOne,
            intensity: 1,
            period: Duration::from_secs(5),
            auto_shutdown: AutoShutdown::Never,
            max_children: None,
        }
    }
}

impl SupFlags {
    /// Default flags with the given strategy.
    pub fn new(strategy: Strategy) -> Self {
        SupFlags {
            strategy,
            ..Self::default()
        }
    }

    /// Sets intensity and period.
    pub fn intensity(mut self, intensity: u32, period: Duration) -> Self {
        self.intensity = intensity;
        self.period = period;
        self
    }

    /// Sets auto shutdown.
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// Sets the maximum number of children (dynamic supervisors).
    pub fn max_children(mut self, max: usize) -> Self {
        self.max_children = Some(max);
        self
    }

    /// Checks the flags of a static supervisor.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.period.is_zero() {
            return Err(SpecError::InvalidPeriod);
        }
        Ok(())
    }

    /// Checks the flags of a dynamic supervisor.
    pub fn validate_dynamic(&self) -> Result<(), SpecError> {
        self.validate()?;
        if self.auto_shutdown != AutoShutdown::Never {
            return Err(SpecError::AutoShutdownOnDynamic);
        }
        Ok(())
    }
}

/// An invalid flag or child spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Child ids must not be empty.
    #[error("child id is empty")]
    EmptyId,
    /// Two specs with the same id in one supervisor.
    #[error("duplicate child id {0}")]
    DuplicateChildId(String),
    /// A significant child must not be permanent.
    #[error("significant child {0} is permanent")]
    SignificantPermanent(String),
    /// A significant child under `AutoShutdown::Never`.
    #[error("significant child {0} under auto_shutdown never")]
    SignificantWithoutAutoShutdown(String),
    /// The intensity period is zero.
    #[error("intensity period must be greater than zero")]
    InvalidPeriod,
    /// `auto_shutdown` other than `Never` on a dynamic supervisor.
    #[error("auto_shutdown must be never on a dynamic supervisor")]
    AutoShutdownOnDynamic,
}

/// What a start function returns when it succeeds.
#[derive(Debug)]
pub enum Start {
    /// The child runs; optional extra information handed back to `start_child`.
    Started(ChildHandle, Option<Value>),
    /// Nothing was started (OTP's `ignore`).
    Ignore,
}

/// The future a start function returns; it runs on the supervisor's arbiter.
pub type StartFuture = LocalBoxFuture<'static, Result<Start, StartError>>;

type StartFnArc<A> = Arc<dyn Fn(ChildStarter, A) -> StartFuture + Send + Sync>;

/// How to start (and restart) one child (OTP's `child_spec`).
///
/// `A` is the type of the arguments of a [`DynamicSupervisor`](super::DynamicSupervisor)
/// template; static children use `()`.
///
/// ```
/// use amoc::supervisor::{ChildSpec, Restart, Start};
/// # struct Worker;
/// # impl actix::Actor for Worker { type Context = actix::Context<Self>; }
/// let spec = ChildSpec::new("worker", |starter| async move {
///     let (_addr, handle) = starter.spawn_local(|_cx| Worker);
///     Ok(Start::Started(handle, None))
/// })
/// .with_restart(Restart::Transient);
/// assert_eq!(spec.id, "worker");
/// ```
pub struct ChildSpec<A = ()> {
    /// Unique, non-empty id within its supervisor.
    pub id: String,
    /// The start function.
    pub start: StartFn<A>,
    /// Restart type; default `Permanent`.
    pub restart: Restart,
    /// Shutdown; default `Timeout(5 s)` for workers, `Infinity` for supervisors.
    pub shutdown: Shutdown,
    /// Worker or supervisor; default `Worker`.
    pub kind: ChildKind,
    /// Significant for auto_shutdown; default false.
    pub significant: bool,
}

/// A shareable start function: `Fn(ChildStarter, A) -> Future<Result<Start, StartError>>`.
pub struct StartFn<A = ()>(StartFnArc<A>);

impl<A> Clone for StartFn<A> {
    fn clone(&self) -> Self {
        StartFn(self.0.clone())
    }
}

impl<A> fmt::Debug for StartFn<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartFn")
    }
}

impl<A> StartFn<A> {
    /// Wraps a start function.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(ChildStarter, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Start, StartError>> + 'static,
    {
        StartFn(Arc::new(move |s, a| f(s, a).boxed_local()))
    }

    /// Calls the start function.
    pub fn call(&self, starter: ChildStarter, args: A) -> StartFuture {
        (self.0)(starter, args)
    }
}

impl<A> Clone for ChildSpec<A> {
    fn clone(&self) -> Self {
        ChildSpec {
            id: self.id.clone(),
            start: self.start.clone(),
            restart: self.restart,
            shutdown: self.shutdown,
            kind: self.kind,
            significant: self.significant,
        }
    }
}

impl<A> fmt::Debug for ChildSpec<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("kind", &self.kind)
            .field("significant", &self.significant)
            .finish()
    }
}

impl ChildSpec<()> {
    /// A worker spec with defaults, started by `start`.
    pub fn new<F, Fut>(id: impl Into<String>, start: F) -> Self
    where
        F: Fn(ChildStarter) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Start, StartError>> + 'static,
    {
        Self::with_args(id, move |s, ()| start(s))
    }
}

impl<A> ChildSpec<A> {
    /// A spec whose start function also takes arguments (a dynamic supervisor template).
    pub fn with_args<F, Fut>(id: impl Into<String>, start: F) -> Self
    where
        F: Fn(ChildStarter, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Start, StartError>> + 'static,
    {
        ChildSpec {
            id: id.into(),
            start: StartFn::new(start),
            restart: Restart::Permanent,
            shutdown: DEFAULT_WORKER_SHUTDOWN,
            kind: ChildKind::Worker,
            significant: false,
        }
    }

    /// Sets the restart type.
    pub fn with_restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets the shutdown (call after [`with_kind`](Self::with_kind), which resets it).
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Sets the kind and the kind's default shutdown.
    pub fn with_kind(mut self, kind: ChildKind) -> Self {
        self.kind = kind;
        self.shutdown = kind.default_shutdown();
        self
    }

    /// Sets the significant flag.
    pub fn with_significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }

    /// Checks this spec against the supervisor's flags (not the id's uniqueness).
    pub fn validate(&self, flags: &SupFlags) -> Result<(), SpecError> {
        if self.id.is_empty() {
            return Err(SpecError::EmptyId);
        }
        if self.significant && self.restart == Restart::Permanent {
            return Err(SpecError::SignificantPermanent(self.id.clone()));
        }
        if self.significant && flags.auto_shutdown == AutoShutdown::Never {
            return Err(SpecError::SignificantWithoutAutoShutdown(self.id.clone()));
        }
        Ok(())
    }
}

/// Checks flags and a list of static specs (first error wins).
pub fn validate_all(flags: &SupFlags, specs: &[ChildSpec]) -> Result<(), SpecError> {
    flags.validate()?;
    let mut seen = HashSet::new();
    for spec in specs {
        spec.validate(flags)?;
        if !seen.insert(spec.id.as_str()) {
            return Err(SpecError::DuplicateChildId(spec.id.clone()));
        }
    }
    Ok(())
}
