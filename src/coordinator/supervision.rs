//! The `coordinators` DynamicSupervisor: one `Transient` child per coordinator, intensity 5
//! per 10 s, living on the coordinators' home arbiter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_rt::{Arbiter, ArbiterHandle};

use super::registry::Registry;
use crate::supervisor::{
    ChildHandle, ChildSpec, ChildStarter, DynamicSupervisor, DynamicSupervisorRef, ExitReason,
    Restart, Start, StartError, Strategy, SupFlags, SupervisorStartError,
};

/// Restarts allowed within [`PERIOD`] before the supervisor gives up.
pub(crate) const INTENSITY: u32 = 5;
/// The intensity window.
pub(crate) const PERIOD: Duration = Duration::from_secs(10);

type MakeChild = dyn Fn(&ChildStarter) -> ChildHandle + Send + Sync;

/// The arguments of one coordinator child: builds its actor (again, after a crash) with the
/// plan, timeout and mailbox it was started with.
#[derive(Clone)]
pub(crate) struct ChildArgs(pub(crate) Arc<MakeChild>);

type Sup = DynamicSupervisorRef<ChildArgs>;

/// The supervisor's flags and child template.
fn template() -> (SupFlags, ChildSpec<ChildArgs>) {
    let flags = SupFlags::new(Strategy::OneForOne).intensity(INTENSITY, PERIOD);
    let template = ChildSpec::with_args("coordinator", |starter, args: ChildArgs| async move {
        Ok(Start::Started((args.0)(&starter), None))
    })
    .with_restart(Restart::Transient);
    (flags, template)
}

/// Where coordinators run, and their supervisor (started lazily, replaced if it exited).
pub(crate) struct Home {
    arbiter: OnceLock<ArbiterHandle>,
    sup: tokio::sync::Mutex<Option<(u64, Sup)>>,
    epochs: AtomicU64,
}

impl Home {
    /// A home on the current arbiter if there is one (then the supervisor is started there
    /// at once), else on the arbiter of the first `start`.
    pub(crate) fn new(registry: &Arc<Registry>) -> Arc<Self> {
        let home = Arc::new(Home {
            arbiter: OnceLock::new(),
            sup: tokio::sync::Mutex::new(None),
            epochs: AtomicU64::new(1),
        });
        if let Some(arbiter) = home.arbiter() {
            let (h, r) = (home.clone(), registry.clone());
            arbiter.spawn_fn(move || {
                actix_rt::spawn(async move {
                    if let Err(e) = h.supervisor(&r).await {
                        tracing::error!(error = %e, "coordinators supervisor failed to start");
                    }
                });
            });
        }
        home
    }

    /// The home arbiter: fixed by the first call made on an arbiter thread.
    pub(crate) fn arbiter(&self) -> Option<ArbiterHandle> {
        if let Some(a) = self.arbiter.get() {
            return Some(a.clone());
        }
        let current = Arbiter::try_current()?;
        Some(self.arbiter.get_or_init(|| current).clone())
    }

    /// The running supervisor and its instance number, started if there is none (or the
    /// previous one exited). Must run on the home arbiter.
    pub(crate) async fn supervisor(
        &self,
        registry: &Arc<Registry>,
    ) -> Result<(u64, Sup), SupervisorStartError> {
        let mut slot = self.sup.lock().await;
        if let Some((epoch, sup)) = slot.as_ref() {
            if sup.exit_reason().is_none() {
                return Ok((*epoch, sup.clone()));
            }
        }
        let (flags, template) = template();
        let sup = DynamicSupervisor::start(flags, template).await?;
        let epoch = self.install(&mut slot, registry, sup.clone());
        Ok((epoch, sup))
    }

    /// Starts the supervisor as a child of the caller's supervisor (the app's root), on the
    /// caller's arbiter, which becomes the home if there was none. A supervisor it replaces is
    /// stopped, and its coordinators are gone.
    pub(crate) async fn start_under(
        &self,
        starter: &ChildStarter,
        registry: &Arc<Registry>,
    ) -> Result<Start, StartError> {
        let _ = self.arbiter();
        let (flags, template) = template();
        let (sup, start) = DynamicSupervisor::start_under(starter, flags, template).await?;
        let mut slot = self.sup.lock().await;
        if let Some((epoch, old)) = slot.take() {
            old.request_stop();
            registry.release_epoch(epoch);
        }
        self.install(&mut slot, registry, sup);
        Ok(start)
    }

    /// Makes `sup` the current supervisor under a new instance number; when it exits, the
    /// coordinators it hosted are released.
    fn install(&self, slot: &mut Option<(u64, Sup)>, registry: &Arc<Registry>, sup: Sup) -> u64 {
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed);
        let (watched, registry) = (sup.clone(), registry.clone());
        actix_rt::spawn(async move {
            let reason = watched.wait().await;
            if reason == ExitReason::Shutdown {
                // Stopped by its parent, replaced, or gave up (which it reported itself).
                tracing::debug!(?reason, "coordinators supervisor exited");
            } else {
                tracing::warn!(
                    ?reason,
                    "coordinators supervisor exited; its coordinators are gone"
                );
            }
            registry.release_epoch(epoch);
        });
        *slot = Some((epoch, sup));
        epoch
    }

    /// The running supervisor, if any (test support).
    pub(crate) async fn current(&self) -> Option<Sup> {
        let slot = self.sup.lock().await;
        slot.as_ref()
            .filter(|(_, s)| s.exit_reason().is_none())
            .map(|(_, s)| s.clone())
    }
}
