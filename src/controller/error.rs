//! What controller calls fail with. Causes stay reachable through `source()`.

use std::sync::Arc;

use super::StatusKind;
use crate::config::ConfigError;

/// Errors of controller calls.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControllerError {
    /// No scenario of this name is registered.
    #[error("no scenario named {0:?}")]
    NoSuchScenario(String),
    /// The call is not allowed in the current state.
    #[error("not allowed while the controller is {0}")]
    InvalidStatus(StatusKind),
    /// The configuration was refused.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The scenario's `init` failed.
    #[error("scenario init failed: {0}")]
    InitFailed(#[source] InitError),
    /// A count of 0, or one that overflows the id space.
    #[error("invalid user count")]
    InvalidCount,
    /// A range that is empty or does not start above the highest id used.
    #[error("invalid user range {first}..={last} (highest id so far {highest})")]
    InvalidRange {
        /// First id asked for.
        first: u64,
        /// Last id asked for.
        last: u64,
        /// Highest id used so far in the run.
        highest: u64,
    },
    /// The add would make more users live than the app allows (`AppBuilder::max_users`).
    #[error("adding {adding} users to {live} live ones would exceed the maximum of {max}")]
    TooManyUsers {
        /// Users asked for.
        adding: u64,
        /// Users waiting or running when asked.
        live: u64,
        /// The app's maximum.
        max: u64,
    },
    /// The user was never added, or has ended.
    #[error("no running or waiting user {0}")]
    NoSuchUser(u64),
    /// The `user_rate` throttle could not be started.
    #[error("user rate throttle: {0}")]
    Throttle(#[source] crate::throttle::ThrottleError),
    /// The controller is not running.
    #[error("controller is not running")]
    Down,
}

/// Why a scenario's `init` failed: the scenario's error (its `source()`), or a panic.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InitError {
    /// `init` returned an error.
    #[error("{0}")]
    Error(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// `init` panicked with this message.
    #[error("panicked: {0}")]
    Panicked(String),
}

impl PartialEq for InitError {
    /// Same variant and same message (the scenario's errors need not be comparable).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (InitError::Error(a), InitError::Error(b)) => a.to_string() == b.to_string(),
            (InitError::Panicked(a), InitError::Panicked(b)) => a == b,
            _ => false,
        }
    }
}
