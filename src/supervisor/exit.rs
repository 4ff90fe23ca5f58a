//! Exit reasons, stop requests and the child's handle on its own exit reason.

use std::fmt;
use std::sync::{Arc, Mutex};

use actix::{Actor, ActorContext, Context, Message};

/// Why a child (or a supervisor) ended. Every supervision rule keys on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    /// Ended by itself without a reason (`ctx.stop()`, or nothing recorded).
    Normal,
    /// Stopped on request (the reason a supervisor asks its children to stop with).
    Shutdown,
    /// Stopped on request, with extra information (OTP's `{shutdown, Term}`).
    ShutdownWith(String),
    /// Aborted: brutal kill, or killed after its shutdown timeout.
    Killed,
    /// A handler panicked; the panic message.
    Panicked(String),
    /// Ended with an error recorded by the child.
    Error(String),
}

impl ExitReason {
    /// True exactly for [`Normal`](Self::Normal), [`Shutdown`](Self::Shutdown) and
    /// [`ShutdownWith`](Self::ShutdownWith): the reasons after which a transient child is
    /// not restarted.
    ///
    /// ```
    /// use amoc::supervisor::ExitReason;
    /// assert!(ExitReason::ShutdownWith("done".into()).is_normal());
    /// assert!(!ExitReason::Killed.is_normal());
    /// ```
    pub fn is_normal(&self) -> bool {
        matches!(
            self,
            ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
        )
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::ShutdownWith(s) => write!(f, "shutdown: {s}"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Panicked(s) => write!(f, "panicked: {s}"),
            ExitReason::Error(s) => write!(f, "error: {s}"),
        }
    }
}

/// A request to stop with the given reason, sent by the supervisor (OTP's exit signal).
///
/// Children started with [`ChildStarter::spawn_local`](super::ChildStarter::spawn_local)
/// obey it at once; children started with a `*_trapping` variant get their own callback and
/// may stop late or not at all (then the shutdown timeout applies).
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub struct StopRequest(pub ExitReason);

/// A child's handle on its own exit reason (shared with the watcher of its task).
///
/// The reason recorded here is the one the supervisor sees if the actor's future completes;
/// a panic or an abort overrides it (the watcher is authoritative). Cloning shares the slot.
#[derive(Debug, Clone, Default)]
pub struct ChildContext {
    slot: Arc<Mutex<Option<ExitReason>>>,
}

impl ChildContext {
    /// A fresh context with no reason recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `reason` as the exit reason (the last one recorded wins). Never panics, so it
    /// is safe on an unwinding path.
    pub fn record(&self, reason: ExitReason) {
        let mut slot = crate::sync::lock(&self.slot);
        *slot = Some(reason);
    }

    /// Records `reason` and stops the actor (OTP's `exit(Reason)` from inside the child).
    pub fn stop_with<A>(&self, ctx: &mut Context<A>, reason: ExitReason)
    where
        A: Actor<Context = Context<A>>,
    {
        self.record(reason);
        ctx.stop();
    }

    /// Takes the recorded reason, if any.
    pub(crate) fn take(&self) -> Option<ExitReason> {
        crate::sync::lock(&self.slot).take()
    }
}
