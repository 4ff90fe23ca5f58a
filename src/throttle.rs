//! Named throttles (SPEC 6): limits on how often actions pass, shared by every user on every
//! arbiter and changeable while the test runs.
//!
//! A [`Throttles`] handle (cheap to clone, `Send + Sync`, usable from any arbiter) starts
//! throttles by name with a [`ThrottleConfig`]: a rate per interval (default interval 60 s),
//! unlimited, a concurrency limit (interval 0) or an inter-arrival time. Callers then
//! [`wait`](Throttles::wait) for a [`Permit`], [`send`](Throttles::send) a message that is
//! delivered when allowed, or [`run`](Throttles::run) a future when allowed.
//!
//! # Guarantees (finite rate `r` per interval `I`)
//!
//! * **G1 window bound.** In every half-open window of length `I` after the last change,
//!   at most `r` permits are granted (`Permit::granted_at` is the decision time). A window
//!   spanning a change holds at most `max(r_old, r_new)`; the first grant after a change comes
//!   no earlier than the last one before it plus `I / r_new`.
//! * **G2 no bursts.** Grants are spaced evenly by `I / r` (at high rates: what accrued per
//!   1 ms tick). An idle throttle (no request waiting for a tick or more) banks one tick's
//!   worth (at least one permit): a lone request passes at once, a crowd does not.
//! * **G3 accuracy.** While requests wait continuously, grants reach at least 99 % of the rate
//!   (minus one tick's batch) from 1 per hour to millions per second, whether the waiters are
//!   on one arbiter or spread over many; a late timer's missed allowance is caught up for at
//!   most 10 ms.
//! * **G4 prompt pass.** A request that arrives while allowance is available and nothing
//!   waits before it on its arbiter passes at once, without waiting for a timer tick and,
//!   most of the time, without any lock shared with other arbiters: a cap above what the
//!   users can reach costs them (next to) nothing.
//! * **Due time and missed allowance.** Every permit carries [`Permit::due_at`]: for a
//!   request that passed at once, its arrival; for one that waited under a rate, the instant
//!   its allowance became available (its slot in the even schedule, or its arrival if that
//!   was later). Measure latency from it as well as from the actual start to correct for
//!   coordinated omission. Allowance that accrued while no request waited, beyond the bank,
//!   is counted as *missed*: [`ThrottleInfo::missed`], and a `missed` measurement on the
//!   first `[amoc, throttle, execute]` event after it was counted (the sum over events is
//!   the total). Missed allowance is never granted later: G1 and G2 hold.
//! * **Concurrency mode** (interval 0, rate `n`): at most `n` permits outstanding; a `wait`
//!   permit until it is dropped, a `run` permit until its future ends (or panics), a `send`
//!   permit until the message is in the recipient's mailbox.
//! * **Unlimited**: `wait` returns at once, touching no shard and no actor.
//!
//! # Changes, pause, stop
//!
//! * A rate change, a gradual step, `pause` and `resume` apply at once to every request
//!   already waiting, on every arbiter: nothing is stranded. Waiters on one arbiter are served
//!   FIFO.
//! * `pause` holds every waiting and new request (nothing is lost; running concurrency-mode
//!   actions go on). `resume` re-applies the current configuration. `change_rate` while paused
//!   stores the new configuration and stays paused. Both are idempotent.
//! * `stop` fails every waiting `wait` and `run` with [`ThrottleError::Stopped`] (none hangs),
//!   discards undelivered `send`s (reported once as a `pending requests dropped` warning) and
//!   cancels a gradual plan. A dropped `wait` future withdraws its request.
//! * Unknown names are errors ([`ThrottleError::NoSuchThrottle`]), never crashes.
//!
//! # Design
//!
//! * **Owner.** Each throttle has an owner actor ([`owner::Owner`]) that makes every state
//!   change (rate change, gradual steps on its timers, pause, resume, stop) and answers
//!   `info`. No request ever goes through it.
//! * **Shared core.** The mode (rate, unlimited, concurrency, paused, stopped) is one atomic
//!   read per request. Each thread keeps a small cache of the cores it used, so a request
//!   neither locks the registry nor touches a shared reference count.
//! * **Shards.** Each arbiter (thread) that queues requests on a throttle gets its own shard: a
//!   FIFO queue and a ticker task on that arbiter. The ticker takes permits from the
//!   throttle's *ledger* (the pure [`schedule::Schedule`] plus each shard's demand, behind a
//!   mutex) once per 1 ms tick — not once per waiting request — and grants them locally; when
//!   its grants were limited by demand rather than allowance it ticks again at once.
//! * **Prompt pass.** A request arriving at a shard with nothing queued takes a permit from
//!   the shard's *credit* (no shared lock, no task switch). Without credit it claims from the
//!   ledger itself: when no other shard waits, up to one tick's worth (at most 64) for the
//!   shard, the rest becoming credit for 1/1024 of the interval (at most 1 ms; no credit for
//!   intervals under ~51 ms) or until the next change, whichever comes first. A batch enters
//!   the ledger's window log at the end of that hold, so G1 holds for the times the permits
//!   are actually handed out; credit left when it lapses, or when the shard queues, is given
//!   back. If nothing is available the request queues, and the ledger counts it as waiting.
//! * **Exact split.** When several shards wait, what the ledger has available at a claim is
//!   divided among them with [`schedule::split_from`] in proportion to their waiting
//!   requests (largest remainder; ties rotate with each grant over the shards that wait):
//!   the shares sum exactly to the available amount, and the ledger's grant log bounds the
//!   sum over all shards by the rate (G1), so moving share between shards never needs a
//!   hand-over. A share is a priority, not a reservation: a permit its shard has not claimed
//!   within 2 ms of becoming due goes to whichever shard claims next, so no permit is lost
//!   because the shard it was meant for ticks later (at low rates one permit's share rounds
//!   to 0 for all shards but one). This is SPEC 6.4's "equivalent" to static per-shard
//!   shares: there is no rebalancing step and no home shard for low rates, since a shard
//!   with nothing waiting simply claims nothing.
//! * **Concurrency mode** is one shared atomic counter of outstanding permits; a freed slot
//!   wakes the shards that wait. **Unlimited** touches no shard and no lock.
//! * **Registry.** The registry maps names to a throttle's core and owner; the core holds
//!   the last configuration (and the pause flag), so an owner can be re-created without
//!   losing it.
//!
//! # Supervision (SPEC 6.3)
//!
//! * Each registry has its own `throttles` [`DynamicSupervisor`](crate::supervisor::DynamicSupervisor)
//!   (intensity 5 restarts per 10 s, as SPEC 1 gives for `throttles`). It is started lazily,
//!   by the first [`start`](Throttles::start), on the arbiter [`Throttles::new`] was called
//!   on (else on the caller's): `new` stays synchronous and usable outside any arbiter.
//! * Each throttle's owner is a `Transient` child of it; the child's argument is the
//!   throttle's name (with the id of its registry entry, so a late restart of a stopped
//!   throttle never takes over a newer one of the same name). The start function reads the
//!   core from the registry, spawns the owner on the supervisor's arbiter and points the
//!   registry entry at it.
//! * **A crash** (a panic in the owner) is seen by the supervisor's watcher of the owner's
//!   task; the supervisor calls the start function again, which re-creates the owner with
//!   the last configuration (pause state included) and re-applies it: requests that were
//!   waiting fail with [`ThrottleError::Stopped`], a running gradual plan is cancelled
//!   (reported as a `gradual plan cancelled` `process` warning), `[amoc, throttle, init]` and
//!   `rate` are emitted again. Calls that were queued in the crashed owner's mailbox, or made
//!   while it is replaced, wait for the new owner and are answered by it.
//! * [`stop`](Throttles::stop) ends the owner normally: it is not restarted.
//! * **Giving up.** More than 5 crashes within 10 s make the supervisor give up (SPEC 3.5).
//!   The registry is then down: every throttle is stopped (waiters fail with `Stopped`) and
//!   every later operation, `start` included, fails at once with
//!   [`ThrottleError::SupervisorDown`]; nothing hangs. A standalone registry stays down.
//! * **Inside an app** the `throttles` supervisor is a child of the root supervisor instead
//!   (started with the tree, not lazily). When it gives up, the root restarts it (and, being
//!   `rest_for_one`, the children after it): the registry adopts the new instance and is
//!   usable again, empty.
//! * Nothing on the request path (`wait`, `send`, `run`) goes through the supervisor or the
//!   owner: requests are served while an owner is being replaced.
//!
//! ```
//! use amoc::throttle::{ThrottleConfig, Throttles, StartOutcome};
//! use amoc::telemetry::Telemetry;
//!
//! # actix_rt::System::new().block_on(async {
//! let throttles = Throttles::new(Telemetry::new());
//! let started = throttles.start("login", ThrottleConfig::rate(600)).await.unwrap();
//! assert_eq!(started, StartOutcome::Started);
//! let permit = throttles.wait("login").await.unwrap(); // the first one passes at once
//! drop(permit);
//! throttles.stop("login").await.unwrap();
//! # });
//! ```

mod config;
mod core;
mod error;
pub mod gradual;
mod handle;
mod homing;
mod leasing;
mod ledger;
mod lifecycle;
pub mod owner;
mod permit;
mod requests;
pub mod schedule;
mod shard;
mod supervision;
mod window;

use std::time::Duration;

pub use config::{Rate, ThrottleConfig, DEFAULT_INTERVAL, MAX_INTERVAL_MS};
pub use error::{RunError, StartOutcome, ThrottleError};
pub use gradual::{GradualPlan, GradualSchedule, PlanRate, Steps};
pub use handle::Throttles;
pub use leasing::{LeaseUsage, LeasedThrottles};
pub use lifecycle::Reservation;
pub use permit::{Permit, RunHandle};
pub use window::max_in_window;

/// What [`Throttles::info`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleInfo {
    /// The current rate (a paused throttle reports the configuration it resumes with).
    pub rate: Rate,
    /// The current interval (0: concurrency mode).
    pub interval: Duration,
    /// Whether it is paused.
    pub paused: bool,
    /// The gradual change in progress, if any.
    pub gradual: Option<GradualInfo>,
    /// Requests waiting, over all arbiters.
    pub waiting: u64,
    /// Concurrency-mode permits outstanding.
    pub in_flight: u64,
    /// Permits granted since the throttle started.
    pub granted: u64,
    /// Allowance missed since the throttle started: permits that accrued while no request
    /// waited, beyond the one tick's worth an idle throttle banks (finite rates only). With
    /// `granted` it tells how much of the asked rate the callers did not use.
    pub missed: u64,
}

/// A gradual change in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradualInfo {
    /// The last step applied (0 ..= steps).
    pub step: u64,
    /// The number of steps, K.
    pub steps: u64,
    /// When the next step applies.
    pub next_at: tokio::time::Instant,
}
