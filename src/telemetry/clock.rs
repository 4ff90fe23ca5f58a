//! The clocks events carry: monotonic time (tokio's clock, so paused test time applies) and
//! wall-clock time, both in nanoseconds.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Measurements;

static ORIGIN: OnceLock<tokio::time::Instant> = OnceLock::new();

/// Monotonic time in nanoseconds since a process-wide origin (tokio's clock, so paused
/// test time applies).
pub fn monotonic_time() -> i64 {
    monotonic_at(tokio::time::Instant::now())
}

pub(crate) fn monotonic_at(t: tokio::time::Instant) -> i64 {
    let origin = *ORIGIN.get_or_init(tokio::time::Instant::now);
    i64::try_from(t.saturating_duration_since(origin).as_nanos()).unwrap_or(i64::MAX)
}

/// Wall-clock time in nanoseconds since the UNIX epoch.
pub fn system_time() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `monotonic_time` and `system_time` measurements, taken now.
pub fn now_measurements() -> Measurements {
    crate::measurements! { "monotonic_time" => monotonic_time(), "system_time" => system_time() }
}
