//! The dynamic supervisor (OTP's `simple_one_for_one`): entry points and its handle.

use actix::Addr;
use tokio::sync::watch;

use super::child::wait_exit;
use super::dynamic_core::{DynCmd, DynamicCore};
use super::runner::{launch, next_sup_id, query, try_call, Runner};
use super::{
    ChildCounts, ChildError, ChildInfo, ChildKind, ChildRef, ChildSpec, ChildStarted, ChildStarter,
    ExitReason, Start, StartError, StopRequest, SupFlags, SupervisorStartError,
};

/// The dynamic supervisor: one template spec, children started on demand with
/// `start_child(args)`, each exit handled as under `OneForOne`, all children stopped in
/// parallel with one timer. The actor itself is internal: use [`DynamicSupervisorRef`].
#[derive(Debug, Clone, Copy)]
pub struct DynamicSupervisor;

fn make_core<A: Clone + Send + 'static>(
    flags: SupFlags,
    template: ChildSpec<A>,
) -> Result<DynamicCore<A>, SupervisorStartError> {
    flags.validate_dynamic()?;
    template.validate(&flags)?;
    Ok(DynamicCore::new(next_sup_id(), flags, template))
}

impl DynamicSupervisor {
    /// Starts a dynamic supervisor on the current arbiter. `flags.strategy` is ignored;
    /// `flags.auto_shutdown` must be `Never`; `flags.max_children` bounds the children.
    ///
    /// ```
    /// use amoc::supervisor::*;
    /// # struct Worker(u32);
    /// # impl actix::Actor for Worker { type Context = actix::Context<Self>; }
    /// # #[actix_rt::main] async fn main() {
    /// let template = ChildSpec::with_args("worker", |starter, n: u32| async move {
    ///     let (_addr, handle) = starter.spawn_local(|_cx| Worker(n));
    ///     Ok(Start::Started(handle, None))
    /// });
    /// let sup = DynamicSupervisor::start(SupFlags::default(), template).await.unwrap();
    /// let started = sup.start_child(7).await.unwrap();
    /// assert!(started.child.unwrap().addr::<Worker>().is_some());
    /// assert_eq!(sup.count_children().await.unwrap().as_array(), [1, 1, 0, 1]);
    /// assert_eq!(sup.stop().await, ExitReason::Shutdown);
    /// # }
    /// ```
    pub async fn start<A: Clone + Send + 'static>(
        flags: SupFlags,
        template: ChildSpec<A>,
    ) -> Result<DynamicSupervisorRef<A>, SupervisorStartError> {
        let core = make_core(flags, template)?;
        let (addr, handle) = launch(&ChildStarter::new(), core).await?;
        Ok(DynamicSupervisorRef {
            addr,
            exit: handle.exit_rx(),
        })
    }

    /// Starts a dynamic supervisor as a child (inside a start function).
    pub async fn start_child_of<A: Clone + Send + 'static>(
        starter: &ChildStarter,
        flags: SupFlags,
        template: ChildSpec<A>,
    ) -> Result<Start, StartError> {
        Ok(Self::start_under(starter, flags, template).await?.1)
    }

    /// Starts a dynamic supervisor as a child (inside a start function) and also returns its
    /// handle, for an owner that talks to it directly (as the throttles and coordinators
    /// registries do with theirs).
    pub async fn start_under<A: Clone + Send + 'static>(
        starter: &ChildStarter,
        flags: SupFlags,
        template: ChildSpec<A>,
    ) -> Result<(DynamicSupervisorRef<A>, Start), StartError> {
        let core = make_core(flags, template)?;
        let (addr, handle) = launch(starter, core).await?;
        let sup = DynamicSupervisorRef {
            addr,
            exit: handle.exit_rx(),
        };
        Ok((sup, Start::Started(handle, None)))
    }

    /// A child spec for a dynamic supervisor (kind `Supervisor`, shutdown `Infinity`,
    /// permanent). Get its handle with [`DynamicSupervisorRef::from_child`].
    pub fn child_spec<A: Clone + Send + 'static>(
        id: impl Into<String>,
        flags: SupFlags,
        template: ChildSpec<A>,
    ) -> ChildSpec {
        ChildSpec::new(id, move |starter| {
            let template = template.clone();
            async move { DynamicSupervisor::start_child_of(&starter, flags, template).await }
        })
        .with_kind(ChildKind::Supervisor)
    }
}

/// A handle on a running dynamic supervisor (cheap to clone).
pub struct DynamicSupervisorRef<A: Clone + Send + 'static> {
    addr: Addr<Runner<DynamicCore<A>>>,
    exit: watch::Receiver<Option<ExitReason>>,
}

impl<A: Clone + Send + 'static> Clone for DynamicSupervisorRef<A> {
    fn clone(&self) -> Self {
        DynamicSupervisorRef {
            addr: self.addr.clone(),
            exit: self.exit.clone(),
        }
    }
}

impl<A: Clone + Send + 'static> std::fmt::Debug for DynamicSupervisorRef<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicSupervisorRef")
            .field("exit", &*self.exit.borrow())
            .finish()
    }
}

impl<A: Clone + Send + 'static> DynamicSupervisorRef<A> {
    /// The handle of a child that is a dynamic supervisor with arguments `A`.
    pub fn from_child(child: &ChildRef) -> Option<Self> {
        Some(DynamicSupervisorRef {
            addr: child.addr::<Runner<DynamicCore<A>>>()?,
            exit: child.exit_rx(),
        })
    }

    /// Starts a child from the template with `args` (kept for restarts unless temporary).
    pub async fn start_child(&self, args: A) -> Result<ChildStarted, ChildError> {
        try_call(&self.addr, |tx| DynCmd::StartChild(args, tx)).await
    }

    /// Stops and removes a child. Idempotent; a `ChildRef` of another supervisor is
    /// `NotFound` (and left alone).
    pub async fn terminate_child(&self, child: &ChildRef) -> Result<(), ChildError> {
        let child = child.clone();
        try_call(&self.addr, |tx| DynCmd::TerminateChild(child, tx)).await
    }

    /// All children, in no particular order.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, ChildError> {
        query(&self.addr, DynCmd::WhichChildren).await
    }

    /// One child.
    pub async fn which_child(&self, child: &ChildRef) -> Result<ChildInfo, ChildError> {
        let child = child.clone();
        try_call(&self.addr, |tx| DynCmd::WhichChild(child, tx)).await
    }

    /// Counts: specs is 1 (the template); O(1).
    pub async fn count_children(&self) -> Result<ChildCounts, ChildError> {
        query(&self.addr, DynCmd::CountChildren).await
    }

    /// The template spec, if `child` is one of this supervisor's children.
    pub async fn get_childspec(&self, child: &ChildRef) -> Result<ChildSpec<A>, ChildError> {
        let child = child.clone();
        try_call(&self.addr, |tx| DynCmd::GetChildspec(child, tx)).await
    }

    /// Asks the supervisor to stop (reason `Shutdown`) and waits for its exit reason.
    pub async fn stop(&self) -> ExitReason {
        self.addr.do_send(StopRequest(ExitReason::Shutdown));
        self.wait().await
    }

    /// Asks the supervisor to stop (reason `Shutdown`) without waiting (usable from `Drop`).
    pub(crate) fn request_stop(&self) {
        self.addr.do_send(StopRequest(ExitReason::Shutdown));
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
