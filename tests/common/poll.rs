//! Re-checking state that publishes no change notification (a supervisor's children, the
//! names of a restarted registry). Everything that does publish one (controller status, user
//! counters, telemetry events) is awaited instead; this is the one poll loop of the tests.

use std::future::Future;
use std::time::Duration;

/// How often [`eventually`] re-checks.
const RECHECK: Duration = Duration::from_millis(10);

/// Re-checks `check` until it holds; panics with `what` after [`super::TIMEOUT`].
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + super::TIMEOUT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(RECHECK).await;
    }
}
