//! A scenario that measures a throttle: users only wait for permits, and each grant's time
//! on `CLOCK_MONOTONIC` (shared by every process of one Linux host) is logged, so the logs of
//! several nodes of a cluster can be merged and every window checked (cluster throttle tests
//! and benchmarks). Not registered in the `amoc` binary; programs register it themselves.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use amoc::config::{Param, ParamDecl};
use amoc::scenario::{RunContext, Scenario, ScenarioError, UserContext};
use amoc::throttle::ThrottleConfig;

const PROBE_RATE: Param<u64> = Param::new("probe_rate");
const PROBE_INTERVAL_MS: Param<u64> = Param::new("probe_interval_ms");
const PROBE_LOG: Param<String> = Param::new("probe_log");

/// The throttle the probe's users wait on.
pub const PROBE_THROTTLE: &str = "probe";

/// Users wait on the [`PROBE_THROTTLE`] throttle (`probe_rate` per `probe_interval_ms`,
/// default 1 000 ms; in cluster mode the rate is the cluster's total) in a loop until asked to
/// stop. With `probe_log` = PATH, each user appends its grant times (ns on `CLOCK_MONOTONIC`,
/// little-endian u64, unordered) to `PATH.<pid>` when it stops.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThrottleProbe;

/// The probe's run state: the grant log, if any.
#[derive(Debug)]
pub struct ProbeState {
    log: Option<Mutex<File>>,
}

impl Scenario for ThrottleProbe {
    const NAME: &'static str = "throttle_probe";
    const DESCRIPTION: &'static str =
        "Users wait for permits of the `probe` throttle, logging grants.";
    type State = ProbeState;
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![
            PROBE_RATE.spec("permits per interval").required().decl(),
            PROBE_INTERVAL_MS
                .spec("the throttle's interval, in ms")
                .default(1000)
                .decl(),
            PROBE_LOG
                .spec("grant log path prefix (empty: no log)")
                .default(String::new())
                .decl(),
        ]
    }

    async fn init(&self, ctx: RunContext) -> Result<ProbeState, ScenarioError> {
        let rate = PROBE_RATE.get(ctx.config())?;
        let interval = Duration::from_millis(PROBE_INTERVAL_MS.get(ctx.config())?);
        ctx.throttles()
            .start(PROBE_THROTTLE, ThrottleConfig::rate_per(rate, interval))
            .await?;
        let path = PROBE_LOG.get(ctx.config())?;
        let log = if path.is_empty() {
            None
        } else {
            let path = format!("{path}.{}", std::process::id());
            // Appended: a worker that rejoins a run starts it again in the same process.
            let file = File::options()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot create {path}: {e}"))?;
            Some(Mutex::new(file))
        };
        monotonic_ns(tokio::time::Instant::now());
        Ok(ProbeState { log })
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let mut grants: Vec<u8> = Vec::new();
        let log = user.state().log.is_some();
        while !user.stop_requested() {
            tokio::select! {
                permit = user.throttles().wait(PROBE_THROTTLE) => {
                    let permit = permit?;
                    if log {
                        grants.extend_from_slice(&monotonic_ns(permit.granted_at()).to_le_bytes());
                    }
                }
                () = user.stopping() => break,
            }
        }
        if let Some(file) = &user.state().log {
            let mut file = file
                .lock()
                .map_err(|_| "the grant log's lock is poisoned")?;
            file.write_all(&grants)
                .map_err(|e| format!("cannot write the grant log: {e}"))?;
        }
        Ok(())
    }
}

/// `at` in ns on `CLOCK_MONOTONIC` (tokio's and std's `Instant` read that clock on Linux; the
/// offset is taken once, between two reads of the clock, so it is exact to a few tens of ns).
pub fn monotonic_ns(at: tokio::time::Instant) -> u64 {
    static BASE: OnceLock<(std::time::Instant, u64)> = OnceLock::new();
    let (i0, ns0) = *BASE.get_or_init(|| {
        let before = clock_ns();
        let i0 = std::time::Instant::now();
        let after = clock_ns();
        (i0, before / 2 + after / 2)
    });
    let at = at.into_std();
    match at.checked_duration_since(i0) {
        Some(d) => ns0 + d.as_nanos() as u64,
        None => ns0.saturating_sub(i0.duration_since(at).as_nanos() as u64),
    }
}

#[cfg(unix)]
fn clock_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always supported.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(not(unix))]
fn clock_ns() -> u64 {
    // No shared monotonic clock: per-process times only.
    0
}
