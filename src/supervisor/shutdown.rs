//! The shutdown protocol for one child, and for many in parallel (SPEC 3.6).

use std::time::Duration;

use futures::future::join_all;
use tokio::time::timeout;

use super::child::wait_exit;
use super::strategy::expected_shutdown_reason;
use super::{ChildHandle, ExitReason, Restart, Shutdown};

/// How long to wait after an abort before declaring a child unkillable.
pub(crate) const UNKILLABLE_AFTER: Duration = Duration::from_secs(5);

/// Stops one child by its `shutdown`, returns its exit reason (or `None` if unkillable).
pub(crate) async fn stop_child(
    id: &str,
    handle: &mut ChildHandle,
    restart: Restart,
    shutdown: Shutdown,
) -> Option<ExitReason> {
    let rx = handle.exit_rx();
    let mut killed_after_timeout = false;
    match shutdown {
        Shutdown::BrutalKill => handle.abort(),
        Shutdown::Infinity => handle.request_stop(ExitReason::Shutdown),
        Shutdown::Timeout(t) => {
            handle.request_stop(ExitReason::Shutdown);
            if timeout(t, wait_exit(rx.clone())).await.is_err() {
                killed_after_timeout = true;
                handle.abort();
            }
        }
    }
    let waited = if shutdown == Shutdown::Infinity {
        Ok(wait_exit(rx).await)
    } else {
        timeout(UNKILLABLE_AFTER, wait_exit(rx)).await
    };
    match waited {
        Ok(reason) => {
            if killed_after_timeout || !expected_shutdown_reason(restart, shutdown, &reason) {
                tracing::error!(child = id, %reason, "shutdown_error");
            }
            Some(reason)
        }
        Err(_) => {
            tracing::error!(child = id, reason = "unkillable", "shutdown_error");
            None
        }
    }
}

/// Stops many children at once with one timer (a dynamic supervisor's shutdown).
pub(crate) async fn stop_all_parallel(
    id: &str,
    mut handles: Vec<ChildHandle>,
    restart: Restart,
    shutdown: Shutdown,
) {
    for h in &mut handles {
        match shutdown {
            Shutdown::BrutalKill => h.abort(),
            _ => h.request_stop(ExitReason::Shutdown),
        }
    }
    let rxs: Vec<_> = handles.iter().map(|h| h.exit_rx()).collect();
    let all = || join_all(rxs.iter().cloned().map(wait_exit));
    let mut killed_after_timeout = false;
    let reasons = match shutdown {
        Shutdown::Infinity => Some(all().await),
        Shutdown::BrutalKill => timeout(UNKILLABLE_AFTER, all()).await.ok(),
        Shutdown::Timeout(t) => match timeout(t, all()).await {
            Ok(r) => Some(r),
            Err(_) => {
                killed_after_timeout = true;
                for h in &handles {
                    h.abort();
                }
                timeout(UNKILLABLE_AFTER, all()).await.ok()
            }
        },
    };
    match reasons {
        Some(reasons) => {
            for reason in reasons {
                if !expected_shutdown_reason(restart, shutdown, &reason) {
                    tracing::error!(child = id, %reason, "shutdown_error");
                }
            }
            if killed_after_timeout {
                tracing::error!(
                    child = id,
                    reason = "killed after shutdown timeout",
                    "shutdown_error"
                );
            }
        }
        None => tracing::error!(child = id, reason = "unkillable", "shutdown_error"),
    }
}
