//! Errors of supervisor start-up and of the management calls.

use super::{ChildRef, SpecError};

/// A child's start function failed (or panicked); the reason as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl StartError {
    /// A start error with the given reason.
    pub fn new(reason: impl Into<String>) -> Self {
        StartError(reason.into())
    }
}

impl From<crate::task::ArbiterGone> for StartError {
    fn from(e: crate::task::ArbiterGone) -> Self {
        StartError(e.to_string())
    }
}

/// Errors of the management calls (`start_child`, `terminate_child`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChildError {
    /// A child with this id is already running.
    #[error("child {0} is already started")]
    AlreadyStarted(String, ChildRef),
    /// A spec with this id is present but not running (or restarting).
    #[error("child {0} is already present")]
    AlreadyPresent(String),
    /// The spec is invalid for this supervisor.
    #[error("invalid child spec: {0}")]
    InvalidSpec(#[from] SpecError),
    /// The start function failed; nothing was stored (restart_child: spec kept).
    #[error("child failed to start: {0}")]
    StartFailed(StartError),
    /// A dynamic supervisor already has `max_children` children.
    #[error("maximum number of children reached")]
    MaxChildren,
    /// No such child in this supervisor.
    #[error("child not found")]
    NotFound,
    /// The child is running (restart_child, delete_child).
    #[error("child is running")]
    Running,
    /// The child is between failed restart attempts.
    #[error("child is restarting")]
    Restarting,
    /// The supervisor is not running any more.
    #[error("supervisor is gone")]
    SupervisorGone,
}

/// Starting a supervisor failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorStartError {
    /// The flags or one of the specs are invalid (the first invalid one).
    #[error("invalid spec: {0}")]
    InvalidSpec(#[from] SpecError),
    /// A child failed to start; the children already started were stopped.
    #[error("failed to start child {id}: {reason}")]
    FailedToStartChild {
        /// The failing child's id.
        id: String,
        /// Why it failed.
        reason: StartError,
    },
    /// The init function panicked.
    #[error("init failed: {0}")]
    InitFailed(String),
    /// The supervisor's task ended before it finished starting.
    #[error("supervisor is gone")]
    SupervisorGone,
}

impl From<SupervisorStartError> for StartError {
    fn from(e: SupervisorStartError) -> Self {
        StartError(e.to_string())
    }
}
