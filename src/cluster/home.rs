//! Where a cluster throttle's rate lives (pure; time comes in as instants): split in shares
//! over the nodes (*leased*), or kept *home* on the master, which grants every permit itself
//! and nodes ask per permit (`amoc.C.thr.NAME`).
//!
//! * **The threshold.** A rate `r` per interval `I` over `n` up nodes gives each node one
//!   permit every `I·n / r`. Above [`HOME_ABOVE`] (10 ms) a share is too small to split
//!   evenly (each node spaces its own few permits, the cluster's grants bunch), so the rate
//!   goes home, where one throttle spaces every grant by `I / r` exactly. It goes back to
//!   leasing only under [`LEASE_BELOW`] (5 ms): between the two it stays where it is
//!   (hysteresis), so node joins and small rate changes near the threshold do not flap.
//!   Rate 0 is home.
//! * **Safe switches** ([`Placement`]): leased → home lowers every node to share 0 first
//!   (*homing*); the master's throttle grants only once every node acknowledged share 0 (Σ
//!   committed = 0: each has granted nothing for one whole interval, and a lost node's share
//!   was reclaimed after its lease). Home → leased stops the master's throttle first
//!   (*leaving*): nodes get shares only [`guard`] + one interval after it stopped granting.
//!   So no window of `I` holds grants of both, and Σ ≤ r holds across every switch.
//! * **Delivery guard.** A permit the master grants reaches its node a little later; the
//!   node's grant time is when the request passes. The master's throttle runs at `r` per
//!   `I + g` with `g = min(I / 100, 10 ms)` (whole ms, [`guard`]): a grant delayed by up to
//!   `g` more than the others still leaves every window of `I` on the nodes' clocks within
//!   `r`. It costs at most 1 % of the rate.

use std::time::Duration;

use tokio::time::Instant;

use crate::throttle::ThrottleConfig;

/// Per-node spacing above which a leased rate goes home.
pub const HOME_ABOVE: Duration = Duration::from_millis(10);

/// Per-node spacing under which a home rate is leased again.
pub const LEASE_BELOW: Duration = Duration::from_millis(5);

/// The most by which the master's home throttle widens its interval (see [`guard`]).
pub const MAX_GUARD: Duration = Duration::from_millis(10);

/// Whether `rate` per `interval` over `nodes` up nodes belongs home, given whether it is
/// home now (`home`; hysteresis between [`LEASE_BELOW`] and [`HOME_ABOVE`]). No up node: it
/// stays where it is. A concurrency limit (interval 0) is never home.
pub fn wants_home(rate: u64, interval: Duration, nodes: usize, home: bool) -> bool {
    if interval.is_zero() {
        return false;
    }
    if nodes == 0 {
        return home;
    }
    if rate == 0 {
        return true;
    }
    let spacing = interval.as_nanos() * nodes as u128 / u128::from(rate);
    if home {
        spacing >= LEASE_BELOW.as_nanos()
    } else {
        spacing > HOME_ABOVE.as_nanos()
    }
}

/// The delivery guard of a home throttle of interval `interval`: `min(I / 100, 10 ms)` in
/// whole ms (0 under 100 ms).
pub fn guard(interval: Duration) -> Duration {
    let ms = (interval.as_millis() / 100).min(MAX_GUARD.as_millis());
    Duration::from_millis(ms as u64)
}

/// The configuration of the master's home throttle for `rate` per `interval`.
pub fn home_config(rate: u64, interval: Duration) -> ThrottleConfig {
    ThrottleConfig::rate_per(rate, interval + guard(interval))
}

/// Where one throttle's rate is, and the switches in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Split in shares over the nodes.
    #[default]
    Leased,
    /// Going home: every node is lowered to share 0; the master does not grant yet.
    Homing,
    /// Home: the master's throttle grants every permit; nodes hold share 0.
    Home,
    /// Leaving home: the master's throttle stopped; nodes keep share 0 until `until`.
    Leaving {
        /// When nodes may get shares again.
        until: Instant,
    },
}

/// What the master must do with its home throttle after a [`Placement::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Start granting (every node acknowledged share 0).
    Start,
    /// Stop granting (nodes get shares only after [`guard`] + one interval).
    Stop,
}

impl Placement {
    /// True while nodes must hold share 0 (homing, home, leaving).
    pub fn parked(self) -> bool {
        self != Placement::Leased
    }

    /// True while the master grants.
    pub fn granting(self) -> bool {
        self == Placement::Home
    }

    /// Whether the rate counts as home for the hysteresis.
    fn home(self) -> bool {
        matches!(self, Placement::Homing | Placement::Home)
    }

    /// The next placement of a throttle of `rate` per `interval` over `nodes` up nodes at
    /// `now`, with `committed` = Σ shares the nodes may still be using; and the switch the
    /// master must make.
    pub fn step(
        self,
        rate: u64,
        interval: Duration,
        nodes: usize,
        committed: u64,
        now: Instant,
    ) -> (Placement, Option<Switch>) {
        let wants = wants_home(rate, interval, nodes, self.home());
        let arrive = |committed: u64| {
            if committed == 0 {
                (Placement::Home, Some(Switch::Start))
            } else {
                (Placement::Homing, None)
            }
        };
        match self {
            Placement::Leased if wants => arrive(committed),
            Placement::Leased => (Placement::Leased, None),
            Placement::Homing if wants => arrive(committed),
            Placement::Homing => (Placement::Leased, None),
            Placement::Home if wants => (Placement::Home, None),
            Placement::Home => {
                let until = now + interval + guard(interval);
                (Placement::Leaving { until }, Some(Switch::Stop))
            }
            Placement::Leaving { until } if now < until => (self, None),
            Placement::Leaving { .. } if wants => arrive(committed),
            Placement::Leaving { .. } => (Placement::Leased, None),
        }
    }
}

#[cfg(test)]
#[path = "home_tests.rs"]
mod tests;
