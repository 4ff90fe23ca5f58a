//! What the management calls return.

use super::{ChildKind, ChildRef};
use crate::Value;

/// Result of a successful `start_child` / `restart_child`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildStarted {
    /// The new child; `None` if its start function returned `Ignore`.
    pub child: Option<ChildRef>,
    /// Extra information returned by the start function.
    pub info: Option<Value>,
}

/// The state of one child spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildState {
    /// Running as this child.
    Running(ChildRef),
    /// Between failed restart attempts.
    Restarting,
    /// Spec kept, not running.
    NotRunning,
}

/// One entry of `which_children`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The spec's id (dynamic children: the template's id).
    pub id: String,
    /// Running, restarting or not running.
    pub state: ChildState,
    /// Worker or supervisor.
    pub kind: ChildKind,
}

impl ChildInfo {
    /// The running child, if any.
    pub fn child(&self) -> Option<&ChildRef> {
        match &self.state {
            ChildState::Running(r) => Some(r),
            _ => None,
        }
    }
}

/// Result of `count_children` (OTP's `[specs, active, supervisors, workers]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Specs (dynamic: 1, the template).
    pub specs: usize,
    /// Running children.
    pub active: usize,
    /// Children (specs; dynamic: children) of kind supervisor.
    pub supervisors: usize,
    /// Children (specs; dynamic: children) of kind worker.
    pub workers: usize,
}

impl ChildCounts {
    /// As OTP's list `[specs, active, supervisors, workers]`.
    pub fn as_array(&self) -> [usize; 4] {
        [self.specs, self.active, self.supervisors, self.workers]
    }
}
