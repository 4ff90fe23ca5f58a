//! The policy state of a dynamic supervisor (`simple_one_for_one`).

use std::collections::HashMap;

use actix::Recipient;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::intensity::Intensity;
use super::runner::{run_start, watch_child, ChildExited, Core, Outcome};
use super::shutdown::{stop_all_parallel, stop_child};
use super::strategy::{exit_action, ExitAction};
use super::{
    ChildCounts, ChildError, ChildHandle, ChildInfo, ChildKind, ChildRef, ChildSpec, ChildStarted,
    ChildState, ExitReason, Restart, Start, SupFlags, SupervisorStartError,
};

type Reply<T> = oneshot::Sender<T>;

/// Management calls of a dynamic supervisor.
#[derive(Debug)]
pub(crate) enum DynCmd<A> {
    StartChild(A, Reply<Result<ChildStarted, ChildError>>),
    TerminateChild(ChildRef, Reply<Result<(), ChildError>>),
    WhichChildren(Reply<Vec<ChildInfo>>),
    WhichChild(ChildRef, Reply<Result<ChildInfo, ChildError>>),
    CountChildren(Reply<ChildCounts>),
    GetChildspec(ChildRef, Reply<Result<ChildSpec<A>, ChildError>>),
}

enum Slot {
    Running(ChildRef, ChildHandle),
    Restarting,
}

struct DynChild<A> {
    args: Option<A>,
    slot: Slot,
}

pub(crate) struct DynamicCore<A> {
    sup: u64,
    template: ChildSpec<A>,
    max_children: Option<usize>,
    children: HashMap<u64, DynChild<A>>,
    active: usize,
    intensity: Intensity,
    me: Option<Recipient<ChildExited>>,
    next_key: u64,
}

impl<A: Clone + Send + 'static> DynamicCore<A> {
    pub(crate) fn new(sup: u64, flags: SupFlags, template: ChildSpec<A>) -> Self {
        DynamicCore {
            sup,
            template,
            max_children: flags.max_children,
            children: HashMap::new(),
            active: 0,
            intensity: Intensity::new(flags.intensity, flags.period),
            me: None,
            next_key: 0,
        }
    }

    /// Starts a child with `args`; stores it under a new key if it runs.
    async fn start(&mut self, args: A) -> Result<Option<ChildStarted>, super::StartError> {
        let keep = (self.template.restart != Restart::Temporary).then(|| args.clone());
        match run_start(&self.template.start, args).await? {
            Start::Started(handle, info) => {
                self.next_key += 1;
                let key = self.next_key;
                let child = handle.child_ref(self.sup, key);
                watch_child(&self.me, key, &handle);
                let slot = Slot::Running(child.clone(), handle);
                self.children.insert(key, DynChild { args: keep, slot });
                self.active += 1;
                tracing::debug!(supervisor = self.sup, child = ?child, "child started");
                Ok(Some(ChildStarted {
                    child: Some(child),
                    info,
                }))
            }
            Start::Ignore => Ok(None),
        }
    }

    fn take(&mut self, key: u64) -> Option<DynChild<A>> {
        let c = self.children.remove(&key)?;
        if matches!(c.slot, Slot::Running(..)) {
            self.active -= 1;
        }
        Some(c)
    }

    async fn stop_all(&mut self) {
        let mut handles = Vec::with_capacity(self.children.len());
        for (_, c) in self.children.drain() {
            if let Slot::Running(_, h) = c.slot {
                handles.push(h);
            }
        }
        self.active = 0;
        let t = &self.template;
        stop_all_parallel(&t.id, handles, t.restart, t.shutdown).await;
    }

    async fn restart(&mut self, key: u64) -> Outcome {
        if !self.intensity.add_restart(Instant::now()) {
            tracing::error!(supervisor = self.sup, child = %self.template.id, "reached_max_restart_intensity");
            self.take(key);
            self.stop_all().await;
            return Outcome::Exit(ExitReason::Shutdown);
        }
        let Some(args) = self.children.get(&key).and_then(|c| c.args.clone()) else {
            self.take(key);
            return Outcome::Continue;
        };
        match self.start(args).await {
            Ok(Some(_)) => {
                self.take(key);
                tracing::info!(supervisor = self.sup, child = %self.template.id, "child restarted");
                Outcome::Continue
            }
            Ok(None) => {
                self.take(key);
                Outcome::Continue
            }
            Err(e) => {
                tracing::error!(supervisor = self.sup, child = %self.template.id, reason = %e, "child restart failed");
                Outcome::Retry(key)
            }
        }
    }

    fn info(&self, c: &DynChild<A>) -> ChildInfo {
        let state = match &c.slot {
            Slot::Running(r, _) => ChildState::Running(r.clone()),
            Slot::Restarting => ChildState::Restarting,
        };
        ChildInfo {
            id: self.template.id.clone(),
            state,
            kind: self.template.kind,
        }
    }

    fn lookup(&self, child: &ChildRef) -> Result<&DynChild<A>, ChildError> {
        if child.sup() != self.sup {
            return Err(ChildError::NotFound);
        }
        self.children.get(&child.key()).ok_or(ChildError::NotFound)
    }

    async fn start_child(&mut self, args: A) -> Result<ChildStarted, ChildError> {
        if let Some(max) = self.max_children {
            if self.children.len() >= max {
                return Err(ChildError::MaxChildren);
            }
        }
        match self.start(args).await {
            Ok(Some(started)) => Ok(started),
            Ok(None) => Ok(ChildStarted {
                child: None,
                info: None,
            }),
            Err(e) => Err(ChildError::StartFailed(e)),
        }
    }

    async fn terminate_child(&mut self, child: &ChildRef) -> Result<(), ChildError> {
        if child.sup() != self.sup {
            return Err(ChildError::NotFound);
        }
        if let Some(c) = self.take(child.key()) {
            if let Slot::Running(_, mut h) = c.slot {
                let t = &self.template;
                stop_child(&t.id, &mut h, t.restart, t.shutdown).await;
            }
        }
        Ok(())
    }

    fn counts(&self) -> ChildCounts {
        let n = self.children.len();
        let sup = self.template.kind == ChildKind::Supervisor;
        ChildCounts {
            specs: 1,
            active: self.active,
            supervisors: if sup { n } else { 0 },
            workers: if sup { 0 } else { n },
        }
    }
}

impl<A: Clone + Send + 'static> Core for DynamicCore<A> {
    type Cmd = DynCmd<A>;

    fn attach(&mut self, me: Recipient<ChildExited>) {
        self.me = Some(me);
    }

    async fn init(&mut self) -> Result<(), SupervisorStartError> {
        Ok(())
    }

    async fn on_exit(&mut self, key: u64, reason: ExitReason) -> Outcome {
        let Some(c) = self.children.get_mut(&key) else {
            return Outcome::Continue;
        };
        if !matches!(c.slot, Slot::Running(..)) {
            return Outcome::Continue;
        }
        c.slot = Slot::Restarting;
        self.active -= 1;
        if !reason.is_normal() {
            tracing::error!(supervisor = self.sup, child = %self.template.id, %reason, "child exited abnormally");
        }
        match exit_action(self.template.restart, &reason) {
            ExitAction::Restart => self.restart(key).await,
            ExitAction::Keep | ExitAction::Remove => {
                self.take(key);
                Outcome::Continue
            }
        }
    }

    async fn on_retry(&mut self, token: u64) -> Outcome {
        match self.children.get(&token) {
            Some(c) if matches!(c.slot, Slot::Restarting) => self.restart(token).await,
            _ => Outcome::Continue,
        }
    }

    async fn shutdown(&mut self) {
        self.stop_all().await;
    }

    async fn command(&mut self, cmd: DynCmd<A>) -> Outcome {
        match cmd {
            DynCmd::StartChild(args, tx) => {
                let _ = tx.send(self.start_child(args).await);
            }
            DynCmd::TerminateChild(child, tx) => {
                let _ = tx.send(self.terminate_child(&child).await);
            }
            DynCmd::WhichChildren(tx) => {
                let _ = tx.send(self.children.values().map(|c| self.info(c)).collect());
            }
            DynCmd::WhichChild(child, tx) => {
                let _ = tx.send(self.lookup(&child).map(|c| self.info(c)));
            }
            DynCmd::CountChildren(tx) => {
                let _ = tx.send(self.counts());
            }
            DynCmd::GetChildspec(child, tx) => {
                let _ = tx.send(self.lookup(&child).map(|_| self.template.clone()));
            }
        }
        Outcome::Continue
    }
}

impl<A> Drop for DynamicCore<A> {
    fn drop(&mut self) {
        for c in self.children.values() {
            if let Slot::Running(_, h) = &c.slot {
                h.abort();
            }
        }
    }
}
