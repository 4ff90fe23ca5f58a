//! The static supervisor: entry points and its handle.

use std::panic::AssertUnwindSafe;

use actix::Addr;
use tokio::sync::watch;

use super::child::wait_exit;
use super::runner::{launch, next_sup_id, query, try_call, Runner};
use super::spec::validate_all;
use super::static_core::{StaticCmd, StaticCore};
use super::{
    ChildCounts, ChildError, ChildInfo, ChildKind, ChildRef, ChildSpec, ChildStarted, ChildStarter,
    ExitReason, Start, StartError, StopRequest, SupFlags, SupervisorStartError,
};
use crate::task::panic_message;

/// What a supervisor's init function returns (OTP's `init/1`).
#[derive(Debug)]
pub enum Init {
    /// Supervise these children (started in list order) with these flags.
    Supervise(SupFlags, Vec<ChildSpec>),
    /// Start nothing: `Supervisor::start` returns [`Started::Ignored`].
    Ignore,
}

/// Result of starting a supervisor.
#[derive(Debug)]
pub enum Started<R> {
    /// Running; talk to it through this handle.
    Started(R),
    /// Its init returned `Ignore`; nothing remains.
    Ignored,
}

impl<R> Started<R> {
    /// The handle, if it started.
    pub fn running(self) -> Option<R> {
        match self {
            Started::Started(r) => Some(r),
            Started::Ignored => None,
        }
    }
}

/// The static supervisor (OTP's `supervisor` with `one_for_one`, `one_for_all` or
/// `rest_for_one`). The actor itself is internal: use [`SupervisorRef`].
#[derive(Debug, Clone, Copy)]
pub struct Supervisor;

fn run_init(init: impl FnOnce() -> Init) -> Result<Option<StaticCore>, SupervisorStartError> {
    let init = std::panic::catch_unwind(AssertUnwindSafe(init))
        .map_err(|p| SupervisorStartError::InitFailed(panic_message(&*p)))?;
    match init {
        Init::Ignore => Ok(None),
        Init::Supervise(flags, specs) => {
            validate_all(&flags, &specs)?;
            Ok(Some(StaticCore::new(next_sup_id(), flags, specs)))
        }
    }
}

impl Supervisor {
    /// Starts a supervisor on the current arbiter: runs `init`, validates, starts the
    /// children one at a time and returns when all have started (SPEC 3.6).
    ///
    /// ```
    /// use amoc::supervisor::*;
    /// # #[actix_rt::main] async fn main() {
    /// let sup = Supervisor::start(|| Init::Supervise(SupFlags::default(), vec![]))
    ///     .await
    ///     .unwrap()
    ///     .running()
    ///     .unwrap();
    /// assert_eq!(sup.count_children().await.unwrap().as_array(), [0, 0, 0, 0]);
    /// assert_eq!(sup.stop().await, ExitReason::Shutdown);
    /// # }
    /// ```
    pub async fn start(
        init: impl FnOnce() -> Init,
    ) -> Result<Started<SupervisorRef>, SupervisorStartError> {
        let Some(core) = run_init(init)? else {
            return Ok(Started::Ignored);
        };
        let (addr, handle) = launch(&ChildStarter::new(), core).await?;
        Ok(Started::Started(SupervisorRef {
            addr,
            exit: handle.exit_rx(),
        }))
    }

    /// Starts a supervisor as a child (inside a start function).
    pub async fn start_child_of(
        starter: &ChildStarter,
        init: impl FnOnce() -> Init,
    ) -> Result<Start, StartError> {
        let Some(core) = run_init(init)? else {
            return Ok(Start::Ignore);
        };
        let (_addr, handle) = launch(starter, core).await?;
        Ok(Start::Started(handle, None))
    }

    /// A child spec for a supervisor built by `init` (kind `Supervisor`, shutdown
    /// `Infinity`, permanent); `init` runs again on each restart.
    ///
    /// ```
    /// use amoc::supervisor::*;
    /// let spec = Supervisor::child_spec("workers", || {
    ///     Init::Supervise(SupFlags::new(Strategy::OneForAll), vec![])
    /// });
    /// assert_eq!(spec.shutdown, Shutdown::Infinity);
    /// ```
    pub fn child_spec<F>(id: impl Into<String>, init: F) -> ChildSpec
    where
        F: Fn() -> Init + Send + Sync + 'static,
    {
        let init = std::sync::Arc::new(init);
        ChildSpec::new(id, move |starter| {
            let init = init.clone();
            async move { Supervisor::start_child_of(&starter, || init()).await }
        })
        .with_kind(ChildKind::Supervisor)
    }
}

/// A handle on a running static supervisor (cheap to clone). Every call is answered by the
/// supervisor actor in mailbox order; once it is gone, calls fail with
/// [`ChildError::SupervisorGone`].
#[derive(Clone)]
pub struct SupervisorRef {
    addr: Addr<Runner<StaticCore>>,
    exit: watch::Receiver<Option<ExitReason>>,
}

impl std::fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorRef")
            .field("exit", &*self.exit.borrow())
            .finish()
    }
}

impl SupervisorRef {
    /// The handle of a child that is a static supervisor.
    pub fn from_child(child: &ChildRef) -> Option<SupervisorRef> {
        Some(SupervisorRef {
            addr: child.addr::<Runner<StaticCore>>()?,
            exit: child.exit_rx(),
        })
    }

    /// Adds and starts a child (OTP's `start_child/2`).
    pub async fn start_child(&self, spec: ChildSpec) -> Result<ChildStarted, ChildError> {
        try_call(&self.addr, |tx| StaticCmd::StartChild(spec, tx)).await
    }

    /// Stops a child; its spec stays, not running (temporary: removed). Idempotent.
    pub async fn terminate_child(&self, id: &str) -> Result<(), ChildError> {
        let id = id.to_owned();
        try_call(&self.addr, |tx| StaticCmd::TerminateChild(id, tx)).await
    }

    /// Starts a stopped child spec again (not counted toward intensity).
    pub async fn restart_child(&self, id: &str) -> Result<ChildStarted, ChildError> {
        let id = id.to_owned();
        try_call(&self.addr, |tx| StaticCmd::RestartChild(id, tx)).await
    }

    /// Removes a stopped child spec.
    pub async fn delete_child(&self, id: &str) -> Result<(), ChildError> {
        let id = id.to_owned();
        try_call(&self.addr, |tx| StaticCmd::DeleteChild(id, tx)).await
    }

    /// All children, newest first.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, ChildError> {
        query(&self.addr, StaticCmd::WhichChildren).await
    }

    /// One child by id.
    pub async fn which_child(&self, id: &str) -> Result<ChildInfo, ChildError> {
        let id = id.to_owned();
        try_call(&self.addr, |tx| StaticCmd::WhichChild(id, tx)).await
    }

    /// Counts (O(1) in the supervisor).
    pub async fn count_children(&self) -> Result<ChildCounts, ChildError> {
        query(&self.addr, StaticCmd::CountChildren).await
    }

    /// A child's spec, defaults filled in.
    pub async fn get_childspec(&self, id: &str) -> Result<ChildSpec, ChildError> {
        let id = id.to_owned();
        try_call(&self.addr, |tx| StaticCmd::GetChildspec(id, tx)).await
    }

    /// Asks the supervisor to stop (reason `Shutdown`) and waits for its exit reason.
    pub async fn stop(&self) -> ExitReason {
        self.addr.do_send(StopRequest(ExitReason::Shutdown));
        self.wait().await
    }

    /// Waits until the supervisor has exited; its exit reason.
    pub async fn wait(&self) -> ExitReason {
        wait_exit(self.exit.clone()).await
    }

    /// The exit reason, if it has exited.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.exit.borrow().clone()
    }
}
