//! The `throttles` DynamicSupervisor (SPEC 1 and 6.3): every throttle's owner actor is a
//! `Transient` child of it, so a crashed owner is re-created with the throttle's last
//! configuration, which lives in the registry (the throttle's core), not in the actor.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::Addr;
use actix_rt::ArbiterHandle;
use tokio::sync::{oneshot, watch};

use super::handle::Registry;
use super::owner::{stop_core, Cancel, Owner};
use super::{ThrottleError, Throttles};
use crate::supervisor::{
    ChildError, ChildSpec, ChildStarter, DynamicSupervisor, DynamicSupervisorRef, ExitReason,
    Restart, Start, StartError, SupFlags,
};
use crate::Value;

/// Restarts the `throttles` supervisor allows within [`PERIOD`] (SPEC 1: 5 per 10 s).
pub(super) const INTENSITY: u32 = 5;
/// The intensity window of the `throttles` supervisor.
pub(super) const PERIOD: Duration = Duration::from_secs(10);
/// How long an operation waits for an owner being (re-)created before giving up with
/// `Stopped` (a restart normally takes well under a millisecond).
const OWNER_WAIT: Duration = Duration::from_secs(5);

/// The argument of a throttle's child: its name, and the id of its registry entry.
#[derive(Debug, Clone)]
pub(super) struct ThrottleChild {
    name: Arc<str>,
    id: u64,
}

impl ThrottleChild {
    pub(super) fn new(name: &str, id: u64) -> Self {
        Self {
            name: Arc::from(name),
            id,
        }
    }
}

/// Where a throttle's owner stands.
#[derive(Debug, Clone)]
pub(super) enum OwnerState {
    /// Registered; the supervisor has not started its owner yet.
    Starting,
    /// This owner runs (it may have just crashed: its replacement follows).
    Running(Addr<Owner>),
    /// Stopped, or the supervisor is down: no owner will come.
    Gone,
}

/// The handle of a registry's `throttles` supervisor.
pub(super) type Sup = DynamicSupervisorRef<ThrottleChild>;

/// The owner to talk to: waits while it is being started; `None` if it is gone for good (or
/// did not come within [`OWNER_WAIT`]).
pub(super) async fn current_owner(rx: &mut watch::Receiver<OwnerState>) -> Option<Addr<Owner>> {
    let wait = rx.wait_for(|s| !matches!(s, OwnerState::Starting));
    match tokio::time::timeout(OWNER_WAIT, wait).await {
        Ok(Ok(s)) => match &*s {
            OwnerState::Running(addr) => Some(addr.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Waits until `addr` is no longer the owner (replaced or gone), at most [`OWNER_WAIT`].
pub(super) async fn replaced(rx: &mut watch::Receiver<OwnerState>, addr: &Addr<Owner>) {
    let wait = rx.wait_for(|s| !matches!(s, OwnerState::Running(a) if a == addr));
    let _ = tokio::time::timeout(OWNER_WAIT, wait).await;
}

/// The child's start function: (re-)creates the owner of the entry `child` names, on the
/// supervisor's arbiter. `Ignore` if the throttle was stopped meanwhile.
fn start_owner(
    starter: &ChildStarter,
    registry: &Weak<Registry>,
    child: &ThrottleChild,
) -> Result<Start, StartError> {
    let Some(registry) = registry.upgrade() else {
        return Ok(Start::Ignore);
    };
    let Some(entry) = registry
        .throttles
        .get(&*child.name)
        .filter(|e| e.id == child.id)
        .map(|e| e.value().clone())
    else {
        return Ok(Start::Ignore);
    };
    let core = entry.core.clone();
    let (addr, handle) = starter.spawn_local(|_| Owner::new(core.clone()));
    let mut previous = None;
    entry.owner.send_if_modified(|state| {
        if matches!(state, OwnerState::Gone) {
            return false;
        }
        previous = Some(std::mem::replace(state, OwnerState::Running(addr.clone())));
        true
    });
    match previous {
        // Stopped while we started: the new owner must not run.
        None => {
            addr.do_send(Cancel);
            return Ok(Start::Ignore);
        }
        Some(OwnerState::Running(old)) => {
            // A re-created owner (after a crash, or `Throttles::restart`): a predecessor that
            // still runs must not step a plan any more; waiters fail (SPEC 6.3).
            if old.connected() {
                old.do_send(Cancel);
            }
            let dropped = core.fail_waiting();
            if dropped > 0 {
                core.process(
                    "warning",
                    "pending requests dropped",
                    Some(("n", Value::from(dropped))),
                );
            }
            core.configure(core.config());
            if core.take_plan_running() {
                core.process("warning", "gradual plan cancelled", None);
            }
        }
        Some(_) => {}
    }
    core.emit_init();
    core.emit_rate(core.config(), None);
    Ok(Start::Started(handle, None))
}

/// The `throttles` supervisor's flags and child template.
fn template(registry: Weak<Registry>) -> (SupFlags, ChildSpec<ThrottleChild>) {
    let template = ChildSpec::with_args("throttle", move |starter, child: ThrottleChild| {
        let registry = registry.clone();
        async move { start_owner(&starter, &registry, &child) }
    })
    .with_restart(Restart::Transient);
    (SupFlags::default().intensity(INTENSITY, PERIOD), template)
}

/// Starts a standalone supervisor on `arbiter` (a registry used without an app).
async fn start_supervisor(
    registry: Weak<Registry>,
    arbiter: ArbiterHandle,
) -> Result<Sup, ThrottleError> {
    let (tx, rx) = oneshot::channel();
    let sent = arbiter.spawn_fn(move || {
        actix_rt::spawn(async move {
            let (flags, template) = template(registry);
            let started = DynamicSupervisor::start(flags, template).await;
            let _ = tx.send(started.map_err(|e| e.to_string()));
        });
    });
    if !sent {
        return Err(ThrottleError::SupervisorDown(
            "its arbiter is not running".to_owned(),
        ));
    }
    match rx.await {
        Ok(Ok(sup)) => Ok(sup),
        Ok(Err(e)) => Err(ThrottleError::SupervisorDown(format!(
            "it could not be started: {e}"
        ))),
        Err(_) => Err(ThrottleError::SupervisorDown(
            "its arbiter stopped".to_owned(),
        )),
    }
}

/// Makes `sup` the registry's supervisor, instance `epoch`, and watches it. `adopted`: its
/// parent (the app's root) restarts or stops it, and reports that itself.
fn install(registry: &Arc<Registry>, slot: &mut Option<(u64, Sup)>, sup: Sup, adopted: bool) {
    let epoch = registry.epochs.fetch_add(1, Ordering::Relaxed);
    *slot = Some((epoch, sup.clone()));
    actix_rt::spawn(watch_supervisor(
        sup,
        Arc::downgrade(registry),
        epoch,
        adopted,
    ));
}

/// Stops and removes every throttle (their owners' supervisor is gone).
fn drop_all(registry: &Registry) {
    let names: Vec<String> = registry.throttles.iter().map(|e| e.key().clone()).collect();
    for name in names {
        if let Some((_, entry)) = registry.throttles.remove(&name) {
            entry.owner.send_replace(OwnerState::Gone);
            stop_core(&entry.core);
        }
    }
}

/// Waits for the exit of supervisor instance `epoch` (it gave up after too many crashes,
/// SPEC 3.5, or its arbiter stopped). If it is still the registry's supervisor, the registry
/// is down: every throttle is stopped (its waiters fail with `Stopped`) and removed, and every
/// later operation fails with `SupervisorDown` until the app's root supervisor installs a new
/// one. A supervisor already replaced changes nothing.
async fn watch_supervisor(sup: Sup, registry: Weak<Registry>, epoch: u64, adopted: bool) {
    let reason = sup.wait().await;
    let Some(registry) = registry.upgrade() else {
        return;
    };
    let slot = registry.sup.lock().await;
    if slot.as_ref().map(|(e, _)| *e) != Some(epoch) {
        return;
    }
    let why = if adopted {
        // Its parent stopped it (app shutdown, a restart) or it gave up, which the
        // supervisor reported itself.
        format!("it has stopped ({reason})")
    } else if reason == ExitReason::Shutdown {
        format!("it gave up after more than {INTENSITY} owner restarts within {PERIOD:?}")
    } else {
        format!("it exited: {reason}")
    };
    if adopted {
        tracing::debug!(reason = %why, "throttles supervisor exited; stopping every throttle");
    } else {
        tracing::error!(reason = %why, "throttles supervisor is down; stopping every throttle");
    }
    *crate::sync::lock(&registry.down) = Some(why);
    drop_all(&registry);
}

impl Throttles {
    /// The `throttles` supervisor, started on first use on the arbiter this registry was
    /// created on (else on the caller's), unless the app's root supervisor installed one.
    pub(super) async fn supervisor(&self) -> Result<Sup, ThrottleError> {
        if let Some(e) = self.inner.down_error() {
            return Err(e);
        }
        let mut slot = self.inner.sup.lock().await;
        if let Some((_, sup)) = slot.as_ref() {
            return match sup.exit_reason() {
                None => Ok(sup.clone()),
                Some(reason) => Err(self.inner.down_error().unwrap_or_else(|| {
                    ThrottleError::SupervisorDown(format!("it exited: {reason}"))
                })),
            };
        }
        let arbiter = self
            .inner
            .home
            .clone()
            .or_else(actix_rt::Arbiter::try_current)
            .ok_or(ThrottleError::NoRuntime)?;
        let sup = start_supervisor(Arc::downgrade(&self.inner), arbiter).await?;
        install(&self.inner, &mut slot, sup.clone(), false);
        Ok(sup)
    }

    /// Starts the `throttles` supervisor as a child of the caller's supervisor (the app's
    /// root) and makes it this registry's. A supervisor it replaces has exited: its throttles
    /// are dropped (their waiters fail with `Stopped`) and the registry is usable again.
    #[doc(hidden)]
    pub async fn start_supervisor_under(
        &self,
        starter: &ChildStarter,
    ) -> Result<Start, StartError> {
        let (flags, template) = template(Arc::downgrade(&self.inner));
        let (sup, start) = DynamicSupervisor::start_under(starter, flags, template).await?;
        let mut slot = self.inner.sup.lock().await;
        if slot.take().is_some() {
            drop_all(&self.inner);
        }
        *crate::sync::lock(&self.inner.down) = None;
        install(&self.inner, &mut slot, sup, true);
        Ok(start)
    }

    /// Starts the supervised owner of entry `id` of `name`.
    pub(super) async fn start_owner_child(&self, name: &str, id: u64) -> Result<(), ThrottleError> {
        let sup = self.supervisor().await?;
        match sup.start_child(ThrottleChild::new(name, id)).await {
            Ok(_) => Ok(()),
            Err(ChildError::SupervisorGone) => Err(self
                .inner
                .down_error()
                .unwrap_or_else(|| ThrottleError::SupervisorDown("it has exited".to_owned()))),
            Err(e) => Err(ThrottleError::SupervisorDown(format!(
                "it could not start the owner: {e}"
            ))),
        }
    }

    /// Makes the owner actor of throttle `name` panic, then waits until the `throttles`
    /// supervisor has replaced it (or gave up). For tests of supervision only: not part of
    /// the API.
    #[doc(hidden)]
    pub async fn crash_owner_for_test(&self, name: &str) -> Result<(), ThrottleError> {
        let entry = self.entry(name)?;
        let mut rx = entry.owner.subscribe();
        let addr = current_owner(&mut rx)
            .await
            .ok_or_else(|| self.inner.gone())?;
        addr.do_send(super::owner::Crash);
        replaced(&mut rx, &addr).await;
        Ok(())
    }
}
