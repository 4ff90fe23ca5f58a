//! Built-in scenarios.

mod http;
mod slot_probe;
mod throttle_probe;

pub use http::{
    HttpScenario, HttpState, ERROR_BACKOFF_MS_TOTAL, ERROR_BACKOFF_PAUSES, REQUEST_THROTTLE,
};
pub use slot_probe::{SlotProbe, SlotProbeState, SLOT_THROTTLE};
pub use throttle_probe::{monotonic_ns, ProbeState, ThrottleProbe, PROBE_THROTTLE};
