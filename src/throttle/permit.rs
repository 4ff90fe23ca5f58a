//! What a granted request gets: a [`Permit`], or a [`RunHandle`] for a throttled future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::time::Instant;

use super::core::Core;
use super::{RunError, ThrottleError};

/// Permission to act, granted by a throttle.
///
/// In concurrency mode (interval 0) the permit is outstanding until it is dropped; in other
/// modes dropping it does nothing.
#[derive(Debug)]
pub struct Permit {
    granted_at: Instant,
    due_at: Instant,
    slot: Option<Arc<Core>>,
}

impl Permit {
    pub(crate) fn new(granted_at: Instant, due_at: Instant, slot: Option<Arc<Core>>) -> Self {
        Self {
            granted_at,
            due_at: due_at.min(granted_at),
            slot,
        }
    }

    /// When the throttle decided the grant.
    pub fn granted_at(&self) -> Instant {
        self.granted_at
    }

    /// When this permit's slot was due (never after [`granted_at`](Self::granted_at)): for a
    /// request served at once, its arrival; for one that waited under a rate, the instant
    /// its allowance became available (its slot in the even schedule, or its arrival if that
    /// was later). Latency measured from here includes the time spent waiting for a slot
    /// that was already due (coordinated-omission correction, as wrk2 does). In unlimited
    /// and concurrency modes it is the arrival (for a request that waited for a slot: the
    /// arrival too).
    pub fn due_at(&self) -> Instant {
        self.due_at
    }

    /// True if this permit holds one of a concurrency-mode throttle's slots.
    pub fn holds_slot(&self) -> bool {
        self.slot.is_some()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(core) = self.slot.take() {
            core.release_slot();
        }
    }
}

/// The handle of a throttled [`run`](super::Throttles::run): await it for the future's
/// output; drop it to detach (the future still runs when granted).
#[derive(Debug)]
pub struct RunHandle<T> {
    pub(crate) join: tokio::task::JoinHandle<Result<T, ThrottleError>>,
}

impl<T> Future for RunHandle<T> {
    type Output = Result<T, RunError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.join).poll(cx).map(|r| match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RunError::Throttle(e)),
            Err(e) if e.is_panic() => Err(RunError::Panicked(crate::task::panic_message(
                &*e.into_panic(),
            ))),
            Err(_) => Err(RunError::Throttle(ThrottleError::Stopped)),
        })
    }
}
