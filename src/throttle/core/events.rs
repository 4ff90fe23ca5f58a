//! The telemetry events a throttle emits about itself (`[amoc, throttle, init | request |
//! rate | process]`).

use super::Core;
use crate::telemetry::{monotonic_time, names};
use crate::throttle::{Rate, ThrottleConfig};
use crate::{measurements, metadata, Value};

impl Core {
    /// Emits `[amoc, throttle, init]` (at start, and when a crashed owner is re-created).
    pub(crate) fn emit_init(&self) {
        self.telemetry.execute_with(&names::THROTTLE_INIT, || {
            (
                measurements! { "count" => 1u64 },
                metadata! { "name" => &*self.name, "monotonic_time" => monotonic_time() },
            )
        });
    }

    pub(crate) fn emit_request(&self) {
        self.telemetry.execute_with(&names::THROTTLE_REQUEST, || {
            (
                measurements! { "count" => 1u64 },
                metadata! { "name" => &*self.name, "monotonic_time" => monotonic_time() },
            )
        });
    }

    pub(crate) fn emit_rate(&self, config: ThrottleConfig, msg: Option<&str>) {
        self.telemetry.execute_with(&names::THROTTLE_RATE, || {
            let m = match config.limit() {
                Rate::Unlimited => measurements! { "rate" => f64::INFINITY },
                Rate::Finite(r) => {
                    measurements! { "rate" => r, "interval" => config.interval_ms() }
                }
            };
            let mut md = metadata! { "name" => &*self.name, "monotonic_time" => monotonic_time() };
            if let Some(msg) = msg {
                md.insert("msg", msg);
            }
            (m, md)
        });
    }

    /// Emits `[amoc, throttle, process]` at `level` with `msg` and one optional extra key.
    pub(crate) fn process(
        &self,
        level: &'static str,
        msg: &str,
        extra: Option<(&'static str, Value)>,
    ) {
        self.telemetry.execute_with(&names::THROTTLE_PROCESS, || {
            let mut m = crate::telemetry::Measurements::new();
            m.insert(level, 1u64);
            let mut md = metadata! {
                "log_level" => level, "msg" => msg, "name" => &*self.name,
                "monotonic_time" => monotonic_time(),
            };
            if let Some((k, v)) = extra {
                md.insert(k, v);
            }
            (m, md)
        });
    }
}
