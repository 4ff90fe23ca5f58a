//! The controller's task: one request at a time, in arrival order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::registry::{ErasedRun, ErasedScenario};
use super::{ControllerError, Shared, StatusKind, StopOutcome, UserRange};
use crate::config::{Config, Declarations};
use crate::coordinator::Coordinators;
use crate::scenario::RunContext;
use crate::telemetry::{monotonic_time, names, system_time, Telemetry};
use crate::throttle::Throttles;
use crate::user_rate::{Paced, Pacer};
use crate::users::policy::{admit, allocate, AddRefused};
use crate::users::Users;
use crate::{measurements, metadata, Value};

type Reply<T> = oneshot::Sender<Result<T, ControllerError>>;

/// A control call.
pub(crate) enum Request {
    Start {
        scenario: String,
        settings: Vec<(String, Value)>,
        reply: Reply<()>,
    },
    Add {
        range: Option<(u64, u64)>,
        count: u64,
        reply: Reply<UserRange>,
    },
    Remove {
        count: u64,
        force: bool,
        reply: Reply<u64>,
    },
    StopUser {
        id: u64,
        force: bool,
        reply: Reply<()>,
    },
    Update {
        settings: Vec<(String, Value)>,
        reply: Reply<()>,
    },
    Stop {
        reply: Reply<StopOutcome>,
    },
    Reset {
        reply: oneshot::Sender<()>,
    },
    /// For good: a cluster master runs no users.
    Disable {
        reply: Reply<()>,
    },
    /// App shutdown: end the run, then stop serving.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

struct ActiveRun {
    scenario: &'static str,
    run: Arc<dyn ErasedRun>,
    paced: Paced,
    throttles_before: HashSet<String>,
    coordinators_before: HashSet<String>,
}

/// The controller's state, owned by its task; clones share everything (a restarted
/// controller task gets a clone).
#[derive(Clone)]
pub(crate) struct ControllerLoop {
    pub(crate) shared: Arc<Shared>,
    pub(crate) scenarios: Arc<HashMap<&'static str, Arc<dyn ErasedScenario>>>,
    pub(crate) users: Users,
    pub(crate) telemetry: Telemetry,
    pub(crate) config: Config,
    pub(crate) throttles: Throttles,
    pub(crate) coordinators: Coordinators,
    /// The most live users allowed (see `AppBuilder::max_users`).
    pub(crate) max_users: u64,
}

/// Opaque slot for the active run (keeps `ActiveRun` private).
pub(crate) struct ActiveRunSlot(ActiveRun);

impl ControllerLoop {
    fn kind(&self) -> StatusKind {
        self.shared.kind()
    }

    fn set_kind(&self, kind: StatusKind) {
        self.shared.update(|r| r.kind = kind);
    }

    /// Resolves once no user is waiting or running.
    async fn users_gone(&self) {
        self.shared
            .counters
            .wait_until(|c| c.waiting + c.running == 0)
            .await;
    }

    /// Serves requests until every handle is gone, then ends any run.
    pub(crate) async fn serve(mut self, mut rx: mpsc::UnboundedReceiver<Request>) {
        loop {
            let req = if self.kind() == StatusKind::Terminating {
                tokio::select! {
                    r = rx.recv() => r,
                    () = self.users_gone() => {
                        self.finish_if_done().await;
                        continue;
                    }
                }
            } else {
                rx.recv().await
            };
            match req {
                Some(req) => self.handle(req).await,
                None => break,
            }
        }
        self.shutdown().await;
    }

    /// Ends the run, if any, and waits for `Finished` (used on app shutdown).
    pub(crate) async fn shutdown(&mut self) {
        if self.kind() == StatusKind::Running {
            let _ = self.stop().await;
        }
        self.finish_terminating().await;
    }

    async fn handle(&mut self, req: Request) {
        match req {
            Request::Start {
                scenario,
                settings,
                reply,
            } => {
                let _ = reply.send(self.start(&scenario, settings).await);
            }
            Request::Add {
                range,
                count,
                reply,
            } => {
                let _ = reply.send(self.add(range, count));
            }
            Request::Remove {
                count,
                force,
                reply,
            } => {
                let _ = reply.send(self.remove(count, force).await);
            }
            Request::StopUser { id, force, reply } => {
                let _ = reply.send(self.stop_user(id, force).await);
            }
            Request::Update { settings, reply } => {
                let _ = reply.send(self.update(settings).await);
            }
            Request::Stop { reply } => {
                let _ = reply.send(self.stop().await);
            }
            Request::Reset { reply } => {
                self.reset().await;
                let _ = reply.send(());
            }
            Request::Disable { reply } => {
                let _ = reply.send(self.disable());
            }
            Request::Shutdown { reply } => {
                self.shutdown().await;
                let _ = reply.send(());
            }
        }
    }

    fn fail_start(&self, scenario: &str, reason: String) {
        self.shared.update(|r| {
            r.kind = StatusKind::Error;
            r.scenario = Some(scenario.to_owned());
            r.error = Some(reason);
        });
    }

    async fn start(
        &mut self,
        name: &str,
        settings: Vec<(String, Value)>,
    ) -> Result<(), ControllerError> {
        let scenario = self
            .scenarios
            .get(name)
            .cloned()
            .ok_or_else(|| ControllerError::NoSuchScenario(name.to_owned()))?;
        let kind = self.kind();
        if !matches!(
            kind,
            StatusKind::Idle | StatusKind::Finished | StatusKind::Error
        ) {
            return Err(ControllerError::InvalidStatus(kind));
        }
        let pacer = Pacer::new(self.throttles.clone());
        let decls = Declarations::collect([
            ("controller", vec![pacer.declaration()]),
            (scenario.name(), scenario.params()),
        ]);
        let resolved = match decls {
            Ok(decls) => self.config.resolve(decls, settings).await,
            Err(e) => Err(e),
        };
        if let Err(e) = resolved {
            self.fail_start(name, e.to_string());
            return Err(e.into());
        }
        let paced = match pacer.start(&self.config.view()).await {
            Ok(paced) => paced,
            Err(e) => {
                self.fail_start(name, e.to_string());
                return Err(ControllerError::Throttle(e));
            }
        };
        let throttles_before: HashSet<String> = self.throttles.names().into_iter().collect();
        let coordinators_before: HashSet<String> = self.coordinators.names().into_iter().collect();
        let ctx = RunContext::new(
            scenario.name(),
            self.telemetry.clone(),
            self.config.view(),
            self.throttles.clone(),
            self.coordinators.clone(),
        );
        let run = match scenario.init(ctx, paced.gate()).await {
            Ok(run) => run,
            Err(reason) => {
                paced.stop().await;
                self.fail_start(name, reason.to_string());
                return Err(ControllerError::InitFailed(reason));
            }
        };
        self.users.begin(run.factory()).await;
        *self.shared.run() = Some(ActiveRunSlot(ActiveRun {
            scenario: scenario.name(),
            run,
            paced,
            throttles_before,
            coordinators_before,
        }));
        self.shared.update(|r| {
            r.kind = StatusKind::Running;
            r.scenario = Some(name.to_owned());
            r.highest = 0;
            r.started_at = Some(system_time());
            r.error = None;
        });
        Ok(())
    }

    fn emit_users(&self, kind: &'static str, count: u64) {
        let scenario = self
            .shared
            .run()
            .as_ref()
            .map(|r| r.0.scenario)
            .unwrap_or_default();
        self.telemetry.execute_with(&names::CONTROLLER_USERS, || {
            (
                measurements! { "count" => count },
                metadata! { "scenario" => scenario, "type" => kind, "monotonic_time" => monotonic_time() },
            )
        });
    }

    fn add(&mut self, range: Option<(u64, u64)>, count: u64) -> Result<UserRange, ControllerError> {
        let kind = self.kind();
        if kind != StatusKind::Running {
            return Err(ControllerError::InvalidStatus(kind));
        }
        let highest = self.shared.record().highest;
        let c = self.shared.counts();
        let live = c.waiting + c.running;
        let (first, last) = allocate(highest, range, count)
            .and_then(|(first, last)| {
                admit(live, first, last, self.max_users).map(|()| (first, last))
            })
            .map_err(|refused| match refused {
                AddRefused::Count => ControllerError::InvalidCount,
                AddRefused::Range => {
                    let (first, last) = range.unwrap_or_default();
                    ControllerError::InvalidRange {
                        first,
                        last,
                        highest,
                    }
                }
                AddRefused::TooMany(adding, live) => ControllerError::TooManyUsers {
                    adding,
                    live,
                    max: self.max_users,
                },
            })?;
        self.shared.record().highest = last;
        self.emit_users("add", last - first + 1);
        self.users.add(first, last);
        Ok(UserRange { first, last })
    }

    async fn remove(&mut self, count: u64, force: bool) -> Result<u64, ControllerError> {
        let kind = self.kind();
        if kind != StatusKind::Running {
            return Err(ControllerError::InvalidStatus(kind));
        }
        if count == 0 {
            return Err(ControllerError::InvalidCount);
        }
        let removed = self.users.remove(count, force).await;
        self.emit_users("remove", removed);
        Ok(removed)
    }

    async fn stop_user(&mut self, id: u64, force: bool) -> Result<(), ControllerError> {
        let kind = self.kind();
        if kind != StatusKind::Running {
            return Err(ControllerError::InvalidStatus(kind));
        }
        self.users
            .stop_user(id, force)
            .await
            .map_err(|e| ControllerError::NoSuchUser(e.0))
    }

    /// Publishes the new settings (all or nothing), then runs the scenario's
    /// `settings_updated` hook once, before replying.
    async fn update(&mut self, settings: Vec<(String, Value)>) -> Result<(), ControllerError> {
        let kind = self.kind();
        if kind != StatusKind::Running {
            return Err(ControllerError::InvalidStatus(kind));
        }
        let before = self.config.view().values();
        self.config.update_settings(settings).await?;
        let changed = changed_names(before, self.config.view().values());
        let run = self.shared.run().as_ref().map(|r| r.0.run.clone());
        if let Some(run) = run {
            run.settings_updated(changed).await;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<StopOutcome, ControllerError> {
        let kind = self.kind();
        if kind != StatusKind::Running {
            return Err(ControllerError::InvalidStatus(kind));
        }
        self.set_kind(StatusKind::Terminating);
        // All shards at once: each stops its users on its own arbiter.
        self.users.stop_all().await;
        if self.finish_if_done().await {
            Ok(StopOutcome::Finished)
        } else {
            Ok(StopOutcome::Terminating)
        }
    }

    /// Runs the finish sequence once no user is waiting or running; true if it ran.
    async fn finish_if_done(&mut self) -> bool {
        let c = self.shared.counts();
        if c.waiting + c.running > 0 {
            return false;
        }
        let active = self.shared.run().take();
        if let Some(ActiveRunSlot(run)) = active {
            run.paced.stop().await;
            run.run.terminate().await;
            for name in self.coordinators.names() {
                if !run.coordinators_before.contains(&name) {
                    let _ = self.coordinators.stop(&name).await;
                }
            }
            for name in self.throttles.names() {
                if !run.throttles_before.contains(&name) {
                    let _ = self.throttles.stop(&name).await;
                }
            }
            self.users.end().await;
        }
        self.set_kind(StatusKind::Finished);
        true
    }

    /// While terminating: waits for the last user, then runs the finish sequence.
    async fn finish_terminating(&mut self) {
        while self.kind() == StatusKind::Terminating {
            self.users_gone().await;
            self.finish_if_done().await;
        }
    }

    /// `Disabled` from any state without a run going on.
    fn disable(&mut self) -> Result<(), ControllerError> {
        let kind = self.kind();
        if matches!(kind, StatusKind::Running | StatusKind::Terminating) {
            return Err(ControllerError::InvalidStatus(kind));
        }
        self.shared.update(|r| {
            *r = super::Record::idle();
            r.kind = StatusKind::Disabled;
        });
        Ok(())
    }

    async fn reset(&mut self) {
        if self.kind() == StatusKind::Disabled {
            return;
        }
        if self.kind() == StatusKind::Running {
            let _ = self.stop().await;
        }
        self.finish_terminating().await;
        self.coordinators.stop_all().await;
        for name in self.throttles.names() {
            let _ = self.throttles.stop(&name).await;
        }
        let _ = self.config.reset().await;
        self.shared.update(|r| *r = super::Record::idle());
    }
}

/// The names whose value differs between two readings of the table (same declarations).
fn changed_names(
    before: Vec<(String, Option<Value>)>,
    after: Vec<(String, Option<Value>)>,
) -> Vec<String> {
    after
        .into_iter()
        .filter(|(name, value)| !before.iter().any(|(n, v)| n == name && v == value))
        .map(|(name, _)| name)
        .collect()
}
