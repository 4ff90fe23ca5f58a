//! Throttle errors and outcomes.

use super::ThrottleConfig;

/// Errors of throttle operations (SPEC 6.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThrottleError {
    /// No throttle of this name is running.
    #[error("no such throttle: {0:?}")]
    NoSuchThrottle(String),
    /// The configuration is invalid (interval not whole milliseconds or above 2³² ms).
    #[error("invalid throttle config: {0}")]
    InvalidConfig(String),
    /// The throttle exists with another configuration.
    #[error("throttle already started with {current}, requested {requested}")]
    WrongReconfiguration {
        /// Its configuration.
        current: ThrottleConfig,
        /// The one requested.
        requested: ThrottleConfig,
    },
    /// The name is reserved (the controller's `user_rate`): only its owner starts and stops it.
    #[error("throttle name {0:?} is reserved")]
    Reserved(String),
    /// The throttle was stopped while the request waited, or is stopping.
    #[error("throttle stopped")]
    Stopped,
    /// A gradual plan is invalid.
    #[error("invalid gradual plan: {0}")]
    InvalidPlan(String),
    /// A gradual change is running.
    #[error("a gradual rate change is in progress")]
    GradualChangeInProgress,
    /// The name is empty.
    #[error("invalid throttle name")]
    InvalidName,
    /// The `throttles` supervisor is not running, so no throttle of this registry can be
    /// served: it gave up after too many owner crashes within its intensity window (5 in
    /// 10 s, SPEC 3.5), or it could not be started. Every throttle of the registry was
    /// stopped; a new [`Throttles`](super::Throttles) registry is needed to go on.
    #[error("the throttles supervisor is down: {0}")]
    SupervisorDown(String),
    /// Called outside a tokio runtime (an actix arbiter is one), where nothing can wait.
    #[error("not called inside a tokio runtime")]
    NoRuntime,
}

/// The result of a throttled [`run`](super::Throttles::run), when it did not produce a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The throttle failed the request (it was stopped).
    #[error(transparent)]
    Throttle(#[from] ThrottleError),
    /// The future panicked; the panic message.
    #[error("panicked: {0}")]
    Panicked(String),
}

/// What [`start`](super::Throttles::start) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new throttle was created.
    Started,
    /// It already existed with the same normalised configuration.
    AlreadyStarted,
}
