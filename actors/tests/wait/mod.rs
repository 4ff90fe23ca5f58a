//! The one timeout of these tests, and the one loop that re-checks state published by
//! another process (a child `amoc`, a Prometheus server), which tells no one of changes.
//! Everything in this process is awaited instead (controller status, user counters).
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Every wait in these tests is bounded by this (a Prometheus scrape by a multiple).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Re-checks `check` every `every` until it yields a value; panics with `what` after
/// `within`.
pub async fn poll_until<T, F: Future<Output = Option<T>>>(
    what: &str,
    every: Duration,
    within: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(every).await;
    }
}
