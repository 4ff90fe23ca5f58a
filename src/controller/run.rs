//! The controller's task: one request at a time, in arrival order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::sync::{mpsc, oneshot};

use super::registry::{ErasedRun, ErasedScenario};
use super::{ControllerError, Shared, StatusKind, StopOutcome, UserRange};
use crate::config::{user_rate_param, Config, Declarations, UserRate, USER_RATE};
use crate::coordinator::Coordinators;
use crate::scenario::RunContext;
use crate::telemetry::{monotonic_time, names, system_time, Telemetry};
use crate::throttle::{Reservation, ThrottleConfig, Throttles};
use crate::users::actor::Gate;
use crate::users::{
    Candidates, MarkForRemoval, ShardRun, SpawnUsers, StopAll, StopUser, UserShard,
};
use crate::{measurements, metadata, Value};

/// The name of the throttle that paces user start-up.
pub const USER_RATE_THROTTLE: &str = "user_rate";

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
    /// App shutdown: end the run, then stop serving.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

struct ActiveRun {
    scenario: &'static str,
    run: Arc<dyn ErasedRun>,
    reservation: Reservation,
    throttles_before: HashSet<String>,
    coordinators_before: HashSet<String>,
}

/// The controller's state, owned by its task; clones share everything (a restarted
/// controller task gets a clone).
#[derive(Clone)]
pub(crate) struct ControllerLoop {
    pub(crate) shared: Arc<Shared>,
    pub(crate) scenarios: Arc<HashMap<&'static str, Arc<dyn ErasedScenario>>>,
    pub(crate) shards: ShardSlots,
    pub(crate) telemetry: Telemetry,
    pub(crate) config: Config,
    pub(crate) throttles: Throttles,
    pub(crate) coordinators: Coordinators,
    /// The most live users allowed (see `AppBuilder::max_users`).
    pub(crate) max_users: u64,
}

/// The user shards' current addresses (a restarted shard replaces its entry).
#[derive(Debug, Clone)]
pub(crate) struct ShardSlots(Arc<arc_swap::ArcSwap<Vec<Addr<UserShard>>>>);

impl ShardSlots {
    pub(crate) fn new(shards: Vec<Addr<UserShard>>) -> Self {
        Self(Arc::new(arc_swap::ArcSwap::from_pointee(shards)))
    }

    /// Every shard, in index order.
    pub(crate) fn all(&self) -> Arc<Vec<Addr<UserShard>>> {
        self.0.load_full()
    }

    /// Records the address of shard `index`: a restarted shard replaces its entry, a shard
    /// started for the first time (in index order) appends it.
    pub(crate) fn set(&self, index: usize, addr: Addr<UserShard>) {
        self.0.rcu(|v| {
            let mut v = Vec::clone(v);
            match v.get_mut(index) {
                Some(slot) => *slot = addr.clone(),
                None => v.push(addr.clone()),
            }
            v
        });
    }
}

/// Opaque slot for the active run (keeps `ActiveRun` private).
pub(crate) struct ActiveRunSlot(ActiveRun);

impl ControllerLoop {
    fn kind(&self) -> StatusKind {
        self.shared.record().kind
    }

    fn set_kind(&self, kind: StatusKind) {
        self.shared.record().kind = kind;
    }

    /// Serves requests until every handle is gone, then ends any run.
    pub(crate) async fn serve(mut self, mut rx: mpsc::UnboundedReceiver<Request>) {
        loop {
            let req = if self.kind() == StatusKind::Terminating {
                tokio::select! {
                    r = rx.recv() => r,
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {
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
        while self.kind() == StatusKind::Terminating {
            self.finish_if_done().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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
                let res = match self.kind() {
                    StatusKind::Running => self
                        .config
                        .update_settings(settings)
                        .await
                        .map_err(Into::into),
                    k => Err(ControllerError::InvalidStatus(k)),
                };
                let _ = reply.send(res);
            }
            Request::Stop { reply } => {
                let _ = reply.send(self.stop().await);
            }
            Request::Reset { reply } => {
                self.reset().await;
                let _ = reply.send(());
            }
            Request::Shutdown { reply } => {
                self.shutdown().await;
                let _ = reply.send(());
            }
        }
    }

    fn fail_start(&self, scenario: &str, reason: String) {
        let mut r = self.shared.record();
        r.kind = StatusKind::Error;
        r.scenario = Some(scenario.to_owned());
        r.error = Some(reason);
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
        let throttles = self.throttles.clone();
        // Read by every user before it starts: unlimited means "do not touch the throttle".
        let unlimited = Arc::new(AtomicBool::new(false));
        let unlimited_on_update = unlimited.clone();
        let on_rate = move |_: &str, rate: &UserRate| {
            unlimited_on_update.store(matches!(rate, UserRate::Infinity), Ordering::Release);
            let throttles = throttles.clone();
            let config = user_rate_config(*rate);
            actix_rt::spawn(async move {
                if let Err(e) = throttles.change_rate(USER_RATE_THROTTLE, config).await {
                    tracing::warn!(error = %e, "cannot apply the new user_rate");
                }
            });
        };
        let decls = Declarations::collect([
            ("controller", vec![user_rate_param(on_rate)]),
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
        let rate = USER_RATE
            .get(&self.config.view())
            .unwrap_or(UserRate::PerMinute(1200));
        unlimited.store(matches!(rate, UserRate::Infinity), Ordering::Release);
        let reservation = match self.throttles.reserve(USER_RATE_THROTTLE) {
            Ok(r) => r,
            Err(e) => {
                self.fail_start(name, e.to_string());
                return Err(ControllerError::Throttle(e.to_string()));
            }
        };
        if let Err(e) = self
            .throttles
            .start_reserved(&reservation, user_rate_config(rate))
            .await
        {
            self.throttles.release(reservation);
            self.fail_start(name, e.to_string());
            return Err(ControllerError::Throttle(e.to_string()));
        }
        let throttles_before: HashSet<String> = self.throttles.names().into_iter().collect();
        let coordinators_before: HashSet<String> = self.coordinators.names().into_iter().collect();
        let ctx = RunContext::new(
            scenario.name(),
            self.telemetry.clone(),
            self.config.view(),
            self.throttles.clone(),
            self.coordinators.clone(),
        );
        let run = match scenario.init(ctx, self.gate(unlimited)).await {
            Ok(run) => run,
            Err(reason) => {
                let _ = self.throttles.stop_reserved(&reservation).await;
                self.throttles.release(reservation);
                self.fail_start(name, reason.clone());
                return Err(ControllerError::InitFailed(reason));
            }
        };
        for c in &self.shared.counters {
            c.reset();
        }
        let factory = run.factory();
        *self.shared.factory() = Some(factory.clone());
        for shard in self.shards.all().iter() {
            let _ = shard.send(ShardRun(Some(factory.clone()))).await;
        }
        *self.shared.run() = Some(ActiveRunSlot(ActiveRun {
            scenario: scenario.name(),
            run,
            reservation,
            throttles_before,
            coordinators_before,
        }));
        let mut r = self.shared.record();
        r.kind = StatusKind::Running;
        r.scenario = Some(name.to_owned());
        r.highest = 0;
        r.started_at = Some(system_time());
        r.error = None;
        Ok(())
    }

    /// Users wait on the `user_rate` throttle, unless the rate is unlimited right now.
    fn gate(&self, unlimited: Arc<AtomicBool>) -> Gate {
        Gate {
            unlimited,
            throttles: self.throttles.clone(),
            throttle: USER_RATE_THROTTLE,
        }
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
        let (first, last) = match range {
            Some((first, last)) => {
                if first > last || first <= highest {
                    return Err(ControllerError::InvalidRange {
                        first,
                        last,
                        highest,
                    });
                }
                (first, last)
            }
            None => {
                if count == 0 {
                    return Err(ControllerError::InvalidCount);
                }
                let first = highest
                    .checked_add(1)
                    .ok_or(ControllerError::InvalidCount)?;
                let last = highest
                    .checked_add(count)
                    .ok_or(ControllerError::InvalidCount)?;
                (first, last)
            }
        };
        let c = self.shared.counts();
        let (live, adding) = (c.waiting + c.running, last - first + 1);
        if live.saturating_add(adding) > self.max_users {
            return Err(ControllerError::TooManyUsers {
                adding,
                live,
                max: self.max_users,
            });
        }
        self.shared.record().highest = last;
        self.emit_users("add", adding);
        let all = self.shards.all();
        let shards = all.len() as u64;
        for shard in all.iter() {
            shard.do_send(SpawnUsers {
                first,
                last,
                shards,
            });
        }
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
        let mut candidates = Vec::new();
        let all = self.shards.all();
        for (i, shard) in all.iter().enumerate() {
            if let Ok(list) = shard.send(Candidates { n: count, force }).await {
                candidates.extend(list.into_iter().map(|(seq, id)| (seq, i, id)));
            }
        }
        candidates.sort_unstable();
        candidates.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        let mut by_shard: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
        for (_, shard, id) in candidates {
            by_shard.entry(shard).or_default().push(id);
        }
        let mut removed = 0;
        for (shard, ids) in by_shard {
            if let Ok(n) = all[shard].send(MarkForRemoval { ids, force }).await {
                removed += n;
            }
        }
        self.emit_users("remove", removed);
        Ok(removed)
    }

    async fn stop_user(&mut self, id: u64, force: bool) -> Result<(), ControllerError> {
        let kind = self.kind();
        if kind != StatusKind::Running {
            return Err(ControllerError::InvalidStatus(kind));
        }
        let all = self.shards.all();
        let shard = usize::try_from((id.max(1) - 1) % all.len() as u64).unwrap_or(0);
        match all[shard].send(StopUser { id, force }).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(ControllerError::NoSuchUser(id)),
        }
    }

    async fn stop(&mut self) -> Result<StopOutcome, ControllerError> {
        let kind = self.kind();
        if kind != StatusKind::Running {
            return Err(ControllerError::InvalidStatus(kind));
        }
        self.set_kind(StatusKind::Terminating);
        // All shards at once: each stops its users on its own arbiter.
        futures::future::join_all(self.shards.all().iter().map(|s| s.send(StopAll))).await;
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
            let _ = self.throttles.stop_reserved(&run.reservation).await;
            self.throttles.release(run.reservation);
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
            *self.shared.factory() = None;
            for shard in self.shards.all().iter() {
                let _ = shard.send(ShardRun(None)).await;
            }
        }
        self.set_kind(StatusKind::Finished);
        true
    }

    async fn reset(&mut self) {
        if self.kind() == StatusKind::Running {
            let _ = self.stop().await;
        }
        while self.kind() == StatusKind::Terminating {
            if !self.finish_if_done().await {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        self.coordinators.stop_all().await;
        for name in self.throttles.names() {
            let _ = self.throttles.stop(&name).await;
        }
        let _ = self.config.reset().await;
        let mut r = self.shared.record();
        *r = super::Record {
            kind: StatusKind::Idle,
            scenario: None,
            highest: 0,
            started_at: None,
            error: None,
        };
    }
}

/// The throttle configuration of a user rate (users per minute).
fn user_rate_config(rate: UserRate) -> ThrottleConfig {
    match rate {
        UserRate::PerMinute(n) => ThrottleConfig::rate(n),
        UserRate::Infinity => ThrottleConfig::unlimited(),
    }
}
