//! The shared state of one throttle: its mode (read lock-free on every request), the rate
//! ledger (locked once per shard tick, or once per batch of requests that pass at once),
//! the concurrency counter, the per-arbiter shards and the last configuration.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::leasing::LeaseClock;
use super::ledger::{Claim, Credit, Ledger, StripedCounter, MAX_BATCH};
use super::schedule::Schedule;
use super::shard::{self, Shard};
use super::{Permit, Rate, ThrottleConfig};
use crate::sync::lock;
use crate::telemetry::{monotonic_time, names, Telemetry};
use crate::{measurements, metadata};

pub(crate) const RATE: u8 = 0;
pub(crate) const UNLIMITED: u8 = 1;
pub(crate) const CONCURRENCY: u8 = 2;
pub(crate) const STOPPED: u8 = 3;
pub(crate) const PAUSED: u8 = 0x10;

mod events;
mod slots;

static NEXT_CORE: AtomicU64 = AtomicU64::new(1);

/// How soon a shard of a throttle whose cluster lease lapsed asks again (its agent sets the
/// share to 0 meanwhile, or a renewal comes).
const LAPSED_RETRY: Duration = Duration::from_millis(5);

/// One throttle's shared state.
#[derive(Debug)]
pub(crate) struct Core {
    /// Unique in the process (keys the threads' shard caches).
    id: u64,
    pub(crate) name: Arc<str>,
    pub(crate) telemetry: Telemetry,
    state: AtomicU8,
    conc_limit: AtomicU64,
    in_flight: AtomicU64,
    granted: StripedCounter,
    /// Missed allowance not yet carried by an `execute` event.
    missed_unreported: AtomicU64,
    /// Shards with at least one request queued (changed once per busy period of a shard,
    /// not per request).
    pub(crate) busy_shards: AtomicU64,
    ledger: Mutex<Ledger>,
    /// The schedule's configuration generation, bumped (before the change) by every rate
    /// change and resume: a shard's credit is good only in the generation it was claimed in.
    generation: AtomicU64,
    shards: DashMap<ThreadId, Arc<Shard>>,
    next_shard: AtomicUsize,
    pub(crate) changed: Notify,
    /// Signalled (one stored permit) whenever a request queues: a cluster worker asks its
    /// master for permits of a home throttle as requests arrive (see `homing`).
    pub(crate) queued: Notify,
    origin: Instant,
    config: Mutex<ThrottleConfig>,
    /// Set while the owner runs a gradual plan, so that a re-created owner can report the
    /// plan it cancelled.
    plan_running: AtomicBool,
    /// The node's cluster lease, once this throttle was leased; checked while `leased`.
    lease: OnceLock<Arc<LeaseClock>>,
    leased: AtomicBool,
}

impl Core {
    pub(crate) fn new(name: &str, config: ThrottleConfig, telemetry: Telemetry) -> Arc<Self> {
        let core = Arc::new(Self {
            id: NEXT_CORE.fetch_add(1, Ordering::Relaxed),
            name: Arc::from(name),
            telemetry,
            state: AtomicU8::new(RATE),
            conc_limit: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            granted: StripedCounter::default(),
            missed_unreported: AtomicU64::new(0),
            busy_shards: AtomicU64::new(0),
            ledger: Mutex::new(Ledger::default()),
            generation: AtomicU64::new(0),
            shards: DashMap::new(),
            next_shard: AtomicUsize::new(0),
            changed: Notify::new(),
            queued: Notify::new(),
            origin: Instant::now(),
            config: Mutex::new(config),
            plan_running: AtomicBool::new(false),
            lease: OnceLock::new(),
            leased: AtomicBool::new(false),
        });
        core.configure(config);
        core
    }

    /// Nanoseconds on this throttle's clock.
    pub(crate) fn now_ns(&self) -> u64 {
        self.ns_at(Instant::now())
    }

    fn ns_at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Claims up to `want` permits for shard `idx` from the ledger (giving back the shard's
    /// `credit` first: it queues, so the credit is of no use to it). The grant time is read
    /// under the ledger lock, so the ledger's log is in time order and the permits carry the
    /// time the ledger decided them. Returns the claim, read on this throttle's clock, and
    /// the grant time.
    pub(crate) fn claim(&self, idx: usize, want: u64, credit: &mut Credit) -> (Claim, Instant) {
        let mut ledger = lock(&self.ledger);
        ledger.give_back(credit);
        let now = Instant::now();
        let ns = self.ns_at(now);
        if self.lease_lapsed(now) {
            return (Claim::nothing(ns + LAPSED_RETRY.as_nanos() as u64), now);
        }
        let c = ledger.claim(ns, idx, want);
        drop(ledger);
        self.note_missed(c.missed);
        (c, now)
    }

    fn note_missed(&self, n: u64) {
        if n > 0 {
            self.missed_unreported.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Allowance missed since the throttle started: what accrued while no request waited,
    /// beyond the one tick's worth an idle throttle banks (0 unless a finite rate).
    pub(crate) fn missed(&self) -> u64 {
        let ledger = lock(&self.ledger);
        ledger.missed(self.now_ns())
    }

    /// One permit for a request arriving at `now` at shard `idx` with nothing queued there,
    /// if allowance is available (G4): from the shard's `credit` without touching the
    /// ledger, else from the ledger (which may refill the credit); `None`: it must queue (the
    /// ledger then counts it).
    pub(crate) fn try_pass(&self, idx: usize, credit: &mut Credit, now: Instant) -> Option<Permit> {
        // The clock is read before the generation: a change bumps the generation before it
        // reads the clock, so no credit of the old configuration is handed out after it.
        if credit.left() > 0 && credit.take(self.ns_at(now), self.generation.load(Ordering::SeqCst))
        {
            self.count_grants(1);
            return Some(Permit::new(now, now, None));
        }
        let mut ledger = lock(&self.ledger);
        ledger.give_back(credit);
        let now = Instant::now();
        if self.lease_lapsed(now) {
            return None;
        }
        let c = ledger.try_pass(self.ns_at(now), idx, MAX_BATCH);
        drop(ledger);
        *credit = Credit::of(&c);
        self.note_missed(c.missed);
        (c.n > 0).then(|| {
            self.count_grants(1);
            Permit::new(now, now, None)
        })
    }

    /// The instant `ns` on this throttle's clock stands for.
    pub(crate) fn instant_at(&self, ns: u64) -> Instant {
        self.origin + std::time::Duration::from_nanos(ns)
    }

    /// Nanoseconds from this throttle's origin to `t` (0 before it).
    pub(crate) fn ns_of(&self, t: Instant) -> u64 {
        self.ns_at(t)
    }

    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// The last configuration (the one a re-created owner comes back with).
    pub(crate) fn config(&self) -> ThrottleConfig {
        *lock(&self.config)
    }

    /// Stores `config` and applies it to the mode and the ledger (keeps the pause bit).
    pub(crate) fn configure(&self, config: ThrottleConfig) {
        *lock(&self.config) = config;
        if self.state() & PAUSED == 0 {
            self.apply();
        }
    }

    /// Applies the stored configuration: a new epoch for the schedule (SPEC 6.4 G1).
    fn apply(&self) {
        let config = self.config();
        let kind = match config.limit() {
            Rate::Unlimited => UNLIMITED,
            Rate::Finite(n) if config.interval().is_zero() => {
                self.conc_limit.store(n, Ordering::SeqCst);
                CONCURRENCY
            }
            Rate::Finite(r) => {
                let mut ledger = lock(&self.ledger);
                match ledger.schedule.as_mut() {
                    Some(s) => {
                        // Invalidate the shards' credit before reading the clock.
                        self.generation.store(s.generation() + 1, Ordering::SeqCst);
                        s.reconfigure(r, config.interval(), self.now_ns());
                    }
                    None => {
                        let s = Schedule::new(r, config.interval(), self.now_ns());
                        self.generation.store(s.generation(), Ordering::SeqCst);
                        ledger.schedule = Some(s);
                    }
                }
                RATE
            }
        };
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & 0x0f != STOPPED).then_some((s & PAUSED) | kind)
            });
        self.changed.notify_waiters();
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & 0x0f != STOPPED).then_some(s & !PAUSED)
            });
        if paused {
            self.state.fetch_or(PAUSED, Ordering::AcqRel);
            self.changed.notify_waiters();
        } else {
            // `resume` re-applies the current configuration.
            self.apply();
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.state() & PAUSED != 0
    }

    /// Marks the throttle stopped and fails every waiting request. Returns the number of
    /// undelivered sends discarded.
    pub(crate) fn stop(&self) -> u64 {
        self.state.store(STOPPED, Ordering::Release);
        self.changed.notify_waiters();
        self.fail_waiting()
    }

    /// Fails every waiting request with `Stopped` (sends are discarded and counted).
    pub(crate) fn fail_waiting(&self) -> u64 {
        self.shards_now().iter().map(|s| s.fail_all(self)).sum()
    }

    pub(crate) fn shards_now(&self) -> Vec<Arc<Shard>> {
        self.shards.iter().map(|e| e.value().clone()).collect()
    }

    /// Reports each finite-rate shard that saw no request for interval + 60 s, once per idle
    /// period (`is inactive`).
    pub(crate) fn check_inactive(&self) {
        let config = self.config();
        if config.is_concurrency() || config.limit() == Rate::Unlimited {
            return;
        }
        let idle_after = config.interval() + std::time::Duration::from_secs(60);
        let now = Instant::now();
        for shard in self.shards_now() {
            if shard.newly_inactive(now, idle_after) {
                self.process("debug", "is inactive", Some(("shard", shard.idx().into())));
            }
        }
    }

    /// A permit without queueing when the mode allows it (unlimited; allowance available
    /// with nobody queued on this arbiter, G4; a free slot in concurrency mode with nobody
    /// queued), else this arbiter's shard to queue on.
    pub(crate) fn pass_or_shard(self: &Arc<Self>) -> Result<Permit, Arc<Shard>> {
        match self.state() {
            UNLIMITED => {
                self.count_grants(1);
                let t = Instant::now();
                Ok(Permit::new(t, t, None))
            }
            RATE => {
                self.with_local_shard(|shard| shard.try_pass(self).ok_or_else(|| shard.clone()))
            }
            CONCURRENCY if self.busy_shards.load(Ordering::Acquire) == 0 => {
                if self.acquire_slots(1) == 1 {
                    self.count_grants(1);
                    let t = Instant::now();
                    Ok(Permit::new(t, t, Some(self.clone())))
                } else {
                    Err(self.local_shard())
                }
            }
            _ => Err(self.local_shard()),
        }
    }

    pub(crate) fn granted(&self) -> u64 {
        self.granted.sum()
    }

    /// Counts `n` grants and emits one `execute` per grant; the first carries `missed`, the
    /// allowance missed since the last event that carried it, when there is any.
    pub(crate) fn count_grants(&self, n: u64) {
        if n == 0 {
            return;
        }
        self.granted.add(n);
        let mut missed = if self.missed_unreported.load(Ordering::Relaxed) > 0 {
            self.missed_unreported.swap(0, Ordering::Relaxed)
        } else {
            0
        };
        for _ in 0..n {
            self.telemetry.execute_with(&names::THROTTLE_EXECUTE, || {
                let mut m = measurements! { "count" => 1u64 };
                if missed > 0 {
                    m.insert("missed", missed);
                }
                (
                    m,
                    metadata! { "name" => &*self.name, "monotonic_time" => monotonic_time() },
                )
            });
            missed = 0;
        }
    }

    /// Records that shard `idx` has nothing waiting.
    pub(crate) fn clear_demand(&self, idx: usize) {
        let mut ledger = lock(&self.ledger);
        let now = self.now_ns();
        ledger.set_demand(now, idx, 0);
    }

    /// This thread's shard, created on first use.
    pub(crate) fn local_shard(&self) -> Arc<Shard> {
        self.with_local_shard(Arc::clone)
    }

    /// Runs `f` on this thread's shard (found in the thread's cache, else in the map).
    fn with_local_shard<R>(&self, f: impl FnOnce(&Arc<Shard>) -> R) -> R {
        shard::with_cached(self.id, f, || {
            let id = std::thread::current().id();
            self.shards
                .entry(id)
                .or_insert_with(|| {
                    let idx = self.next_shard.fetch_add(1, Ordering::Relaxed);
                    Arc::new(Shard::new(idx))
                })
                .clone()
        })
    }

    /// Records whether the owner runs a gradual plan.
    pub(crate) fn set_plan_running(&self, running: bool) {
        self.plan_running.store(running, Ordering::Release);
    }

    /// True if a gradual plan was running (and clears the flag).
    pub(crate) fn take_plan_running(&self) -> bool {
        self.plan_running.swap(false, Ordering::AcqRel)
    }

    /// Requests waiting on every shard.
    pub(crate) fn waiting(&self) -> u64 {
        self.shards_now().iter().map(|s| s.len() as u64).sum()
    }
}
