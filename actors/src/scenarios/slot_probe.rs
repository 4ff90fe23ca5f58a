//! A scenario that measures a concurrency throttle: users take a slot, hold it for a while and
//! give it back, in a loop; each hold's start (the permit's grant time) and end (just after
//! the permit was dropped) on `CLOCK_MONOTONIC` (shared by every process of one Linux host) is
//! logged, so the logs of several nodes of a cluster can be merged and the slots in use
//! counted at every instant (cluster throttle tests). Not registered in the `amoc` binary;
//! programs register it themselves.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use amoc::config::{Param, ParamDecl};
use amoc::scenario::{RunContext, Scenario, ScenarioError, UserContext};
use amoc::throttle::ThrottleConfig;

use super::monotonic_ns;

const SLOT_LIMIT: Param<u64> = Param::new("slot_limit");
const SLOT_HOLD_MS: Param<u64> = Param::new("slot_hold_ms");
const SLOT_LOG: Param<String> = Param::new("slot_log");

/// The concurrency throttle the slot probe's users take slots of.
pub const SLOT_THROTTLE: &str = "slots";

/// Users take slots of [`SLOT_THROTTLE`] (`concurrency(slot_limit)`; in cluster mode the
/// limit is the cluster's total) and hold each for `slot_hold_ms` (default 50), in a loop until
/// asked to stop. With `slot_log` = PATH, each user appends its holds (start and end in ns on
/// `CLOCK_MONOTONIC`, two little-endian u64 per hold, unordered) to `PATH.<pid>` when it stops.
#[derive(Debug, Default, Clone, Copy)]
pub struct SlotProbe;

/// The slot probe's run state: the hold time and the log, if any.
#[derive(Debug)]
pub struct SlotProbeState {
    hold: Duration,
    log: Option<Mutex<File>>,
}

impl Scenario for SlotProbe {
    const NAME: &'static str = "slot_probe";
    const DESCRIPTION: &'static str =
        "Users hold slots of the `slots` concurrency throttle, logging each hold.";
    type State = SlotProbeState;
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![
            SLOT_LIMIT.spec("slots at once").required().decl(),
            SLOT_HOLD_MS
                .spec("how long a user holds a slot, in ms")
                .default(50)
                .decl(),
            SLOT_LOG
                .spec("hold log path prefix (empty: no log)")
                .default(String::new())
                .decl(),
        ]
    }

    async fn init(&self, ctx: RunContext) -> Result<SlotProbeState, ScenarioError> {
        let limit = SLOT_LIMIT.get(ctx.config())?;
        let hold = Duration::from_millis(SLOT_HOLD_MS.get(ctx.config())?);
        ctx.throttles()
            .start(SLOT_THROTTLE, ThrottleConfig::concurrency(limit))
            .await?;
        let path = SLOT_LOG.get(ctx.config())?;
        let log = if path.is_empty() {
            None
        } else {
            let path = format!("{path}.{}", std::process::id());
            let file = File::create(&path).map_err(|e| format!("cannot create {path}: {e}"))?;
            Some(Mutex::new(file))
        };
        monotonic_ns(tokio::time::Instant::now());
        Ok(SlotProbeState { hold, log })
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let mut holds: Vec<u8> = Vec::new();
        let hold = user.state().hold;
        while !user.stop_requested() {
            tokio::select! {
                permit = user.throttles().wait(SLOT_THROTTLE) => {
                    let permit = permit?;
                    let start = monotonic_ns(permit.granted_at());
                    tokio::select! {
                        () = tokio::time::sleep(hold) => {}
                        () = user.stopping() => {}
                    }
                    drop(permit);
                    let end = monotonic_ns(tokio::time::Instant::now());
                    holds.extend_from_slice(&start.to_le_bytes());
                    holds.extend_from_slice(&end.to_le_bytes());
                }
                () = user.stopping() => break,
            }
        }
        if let Some(file) = &user.state().log {
            let mut file = file.lock().map_err(|_| "the hold log's lock is poisoned")?;
            file.write_all(&holds)
                .map_err(|e| format!("cannot write the hold log: {e}"))?;
        }
        Ok(())
    }
}
