//! The policy state of a static supervisor: children in start order, and what to do on each
//! event. Runs inside the supervisor actor (see `runner.rs`).

use actix::Recipient;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::intensity::Intensity;
use super::runner::{run_start, watch_child, ChildExited, Core, Outcome};
use super::shutdown::stop_child;
use super::strategy::{auto_shutdown, exit_action, restart_plan, ChildView, ExitAction};
use super::{
    ChildCounts, ChildError, ChildHandle, ChildInfo, ChildKind, ChildRef, ChildSpec, ChildStarted,
    ExitReason, Restart, Start, StartError, SupFlags, SupervisorStartError,
};
use crate::Value;

mod admin;

type Reply<T> = oneshot::Sender<T>;

/// Management calls of a static supervisor.
#[derive(Debug)]
pub(crate) enum StaticCmd {
    StartChild(ChildSpec, Reply<Result<ChildStarted, ChildError>>),
    TerminateChild(String, Reply<Result<(), ChildError>>),
    RestartChild(String, Reply<Result<ChildStarted, ChildError>>),
    DeleteChild(String, Reply<Result<(), ChildError>>),
    WhichChildren(Reply<Vec<ChildInfo>>),
    WhichChild(String, Reply<Result<ChildInfo, ChildError>>),
    CountChildren(Reply<ChildCounts>),
    GetChildspec(String, Reply<Result<ChildSpec, ChildError>>),
}

enum Slot {
    Running(ChildRef, ChildHandle),
    Restarting,
    NotRunning,
}

struct Child {
    uid: u64,
    spec: ChildSpec,
    slot: Slot,
}

enum Started {
    Running(ChildRef, Option<Value>),
    Ignored,
    Failed(StartError),
}

pub(crate) struct StaticCore {
    sup: u64,
    flags: SupFlags,
    children: Vec<Child>,
    active: usize,
    supervisors: usize,
    intensity: Intensity,
    me: Option<Recipient<ChildExited>>,
    next_key: u64,
    next_uid: u64,
}

impl StaticCore {
    pub(crate) fn new(sup: u64, flags: SupFlags, specs: Vec<ChildSpec>) -> Self {
        let mut core = StaticCore {
            sup,
            flags,
            children: Vec::with_capacity(specs.len()),
            active: 0,
            supervisors: 0,
            intensity: Intensity::new(flags.intensity, flags.period),
            me: None,
            next_key: 0,
            next_uid: 0,
        };
        for spec in specs {
            core.push(spec);
        }
        core
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.children.iter().position(|c| c.spec.id == id)
    }

    fn push(&mut self, spec: ChildSpec) -> usize {
        if spec.kind == ChildKind::Supervisor {
            self.supervisors += 1;
        }
        self.next_uid += 1;
        self.children.push(Child {
            uid: self.next_uid,
            spec,
            slot: Slot::NotRunning,
        });
        self.children.len() - 1
    }

    fn remove(&mut self, idx: usize) {
        self.set_slot(idx, Slot::NotRunning);
        let child = self.children.remove(idx);
        if child.spec.kind == ChildKind::Supervisor {
            self.supervisors -= 1;
        }
    }

    fn set_slot(&mut self, idx: usize, slot: Slot) -> Slot {
        let new_running = matches!(slot, Slot::Running(..));
        let old = std::mem::replace(&mut self.children[idx].slot, slot);
        let old_running = matches!(old, Slot::Running(..));
        match (old_running, new_running) {
            (false, true) => self.active += 1,
            (true, false) => self.active -= 1,
            _ => {}
        }
        old
    }

    async fn start_at(&mut self, idx: usize) -> Started {
        let spec = self.children[idx].spec.clone();
        match run_start(&spec.start, ()).await {
            Ok(Start::Started(handle, info)) => {
                self.next_key += 1;
                let child = handle.child_ref(self.sup, self.next_key);
                watch_child(&self.me, self.next_key, &handle);
                self.set_slot(idx, Slot::Running(child.clone(), handle));
                tracing::debug!(supervisor = self.sup, child = %spec.id, "child started");
                Started::Running(child, info)
            }
            Ok(Start::Ignore) => Started::Ignored,
            Err(e) => Started::Failed(e),
        }
    }

    async fn stop_at(&mut self, idx: usize) {
        if let Slot::Running(_, mut handle) = self.set_slot(idx, Slot::NotRunning) {
            let spec = &self.children[idx].spec;
            stop_child(&spec.id, &mut handle, spec.restart, spec.shutdown).await;
        }
    }

    async fn stop_all(&mut self) {
        for idx in (0..self.children.len()).rev() {
            self.stop_at(idx).await;
        }
    }

    async fn restart(&mut self, idx: usize) -> Outcome {
        let id = self.children[idx].spec.id.clone();
        if !self.intensity.add_restart(Instant::now()) {
            tracing::error!(supervisor = self.sup, child = %id, "reached_max_restart_intensity");
            self.set_slot(idx, Slot::NotRunning);
            self.stop_all().await;
            return Outcome::Exit(ExitReason::Shutdown);
        }
        let views: Vec<ChildView> = self
            .children
            .iter()
            .map(|c| ChildView {
                restart: c.spec.restart,
                running: matches!(c.slot, Slot::Running(..)),
            })
            .collect();
        let plan = restart_plan(self.flags.strategy, &views, idx);
        let start: Vec<u64> = plan.start.iter().map(|&i| self.children[i].uid).collect();
        for i in plan.stop {
            self.stop_at(i).await;
        }
        for &i in plan.remove.iter().rev() {
            self.remove(i);
        }
        for uid in start {
            let Some(i) = self.children.iter().position(|c| c.uid == uid) else {
                continue;
            };
            if matches!(self.children[i].slot, Slot::Running(..)) {
                continue;
            }
            match self.start_at(i).await {
                Started::Running(..) => {
                    tracing::info!(supervisor = self.sup, child = %self.children[i].spec.id, "child restarted");
                }
                Started::Ignored => {
                    self.set_slot(i, Slot::NotRunning);
                }
                Started::Failed(e) => {
                    let id = &self.children[i].spec.id;
                    tracing::error!(supervisor = self.sup, child = %id, reason = %e, "child restart failed");
                    self.set_slot(i, Slot::Restarting);
                    return Outcome::Retry(uid);
                }
            }
        }
        Outcome::Continue
    }

    async fn check_auto_shutdown(&mut self, significant: bool) -> Outcome {
        let left = self
            .children
            .iter()
            .any(|c| c.spec.significant && matches!(c.slot, Slot::Running(..) | Slot::Restarting));
        if auto_shutdown(self.flags.auto_shutdown, significant, left) {
            tracing::info!(supervisor = self.sup, "auto_shutdown");
            self.stop_all().await;
            return Outcome::Exit(ExitReason::Shutdown);
        }
        Outcome::Continue
    }
}

impl Core for StaticCore {
    type Cmd = StaticCmd;

    fn attach(&mut self, me: Recipient<ChildExited>) {
        self.me = Some(me);
    }

    async fn init(&mut self) -> Result<(), SupervisorStartError> {
        let mut idx = 0;
        while idx < self.children.len() {
            match self.start_at(idx).await {
                Started::Running(..) => idx += 1,
                Started::Ignored if self.children[idx].spec.restart == Restart::Temporary => {
                    self.remove(idx);
                }
                Started::Ignored => idx += 1,
                Started::Failed(reason) => {
                    let id = self.children[idx].spec.id.clone();
                    tracing::error!(supervisor = self.sup, child = %id, %reason, "start_error");
                    self.stop_all().await;
                    return Err(SupervisorStartError::FailedToStartChild { id, reason });
                }
            }
        }
        Ok(())
    }

    async fn on_exit(&mut self, key: u64, reason: ExitReason) -> Outcome {
        let Some(idx) = self
            .children
            .iter()
            .position(|c| matches!(&c.slot, Slot::Running(r, _) if r.key() == key))
        else {
            return Outcome::Continue;
        };
        self.set_slot(idx, Slot::NotRunning);
        let spec = &self.children[idx].spec;
        let (restart, significant) = (spec.restart, spec.significant);
        if reason.is_normal() {
            tracing::debug!(supervisor = self.sup, child = %spec.id, %reason, "child exited");
        } else {
            tracing::error!(supervisor = self.sup, child = %spec.id, %reason, "child exited abnormally");
        }
        match exit_action(restart, &reason) {
            ExitAction::Restart => {
                self.set_slot(idx, Slot::Restarting);
                self.restart(idx).await
            }
            ExitAction::Keep => self.check_auto_shutdown(significant).await,
            ExitAction::Remove => {
                self.remove(idx);
                self.check_auto_shutdown(significant).await
            }
        }
    }

    async fn on_retry(&mut self, token: u64) -> Outcome {
        match self
            .children
            .iter()
            .position(|c| c.uid == token && matches!(c.slot, Slot::Restarting))
        {
            Some(idx) => self.restart(idx).await,
            None => Outcome::Continue,
        }
    }

    async fn shutdown(&mut self) {
        self.stop_all().await;
    }

    async fn command(&mut self, cmd: StaticCmd) -> Outcome {
        match cmd {
            StaticCmd::StartChild(spec, tx) => {
                let _ = tx.send(self.start_child(spec).await);
            }
            StaticCmd::TerminateChild(id, tx) => {
                let _ = tx.send(self.terminate_child(&id).await);
            }
            StaticCmd::RestartChild(id, tx) => {
                let _ = tx.send(self.restart_child(&id).await);
            }
            StaticCmd::DeleteChild(id, tx) => {
                let _ = tx.send(self.delete_child(&id));
            }
            StaticCmd::WhichChildren(tx) => {
                let _ = tx.send(self.children.iter().rev().map(|c| self.info(c)).collect());
            }
            StaticCmd::WhichChild(id, tx) => {
                let r = self.find(&id).map(|i| self.info(&self.children[i]));
                let _ = tx.send(r.ok_or(ChildError::NotFound));
            }
            StaticCmd::CountChildren(tx) => {
                let _ = tx.send(self.counts());
            }
            StaticCmd::GetChildspec(id, tx) => {
                let r = self.find(&id).map(|i| self.children[i].spec.clone());
                let _ = tx.send(r.ok_or(ChildError::NotFound));
            }
        }
        Outcome::Continue
    }
}

impl Drop for StaticCore {
    /// OTP's links: a supervisor that goes away (even by panic) takes its children along.
    fn drop(&mut self) {
        for c in &self.children {
            if let Slot::Running(_, h) = &c.slot {
                h.abort();
            }
        }
    }
}
