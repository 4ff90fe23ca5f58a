//! Requests waiting on several arbiters: every change applies to all of them (SPEC 6.3
//! "nothing is stranded"), and stop fails all of them.

#[path = "throttle_support/mod.rs"]
mod common;

use std::task::Poll;
use std::time::Duration;

use actix_rt::{Arbiter, System};
use amoc::telemetry::Telemetry;
use amoc::throttle::{Permit, ThrottleConfig as C, ThrottleError, Throttles};
use common::{first_poll, TIMEOUT};
use tokio::sync::mpsc;

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync::<Throttles>();
    send::<Permit>();
}

/// Queues `per` waits on each arbiter and returns once all are queued; each result goes to
/// the returned channel.
async fn spawn_waiters(
    t: &Throttles,
    arbiters: &[Arbiter],
    per: usize,
) -> mpsc::UnboundedReceiver<Result<(), ThrottleError>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (queued_tx, mut queued) = mpsc::unbounded_channel();
    for a in arbiters {
        for _ in 0..per {
            let (t, tx, queued_tx) = (t.clone(), tx.clone(), queued_tx.clone());
            a.spawn(async move {
                let mut w = std::pin::pin!(t.wait("n"));
                let first = first_poll(w.as_mut()).await;
                let _ = queued_tx.send(());
                let r = match first {
                    Poll::Ready(r) => r,
                    Poll::Pending => w.await,
                };
                let _ = tx.send(r.map(drop));
            });
        }
    }
    for _ in 0..per * arbiters.len() {
        let got = tokio::time::timeout(TIMEOUT, queued.recv()).await;
        assert!(matches!(got, Ok(Some(()))), "a waiter did not queue");
    }
    rx
}

async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Result<(), ThrottleError>>,
    n: usize,
) -> Vec<Result<(), ThrottleError>> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(TIMEOUT, rx.recv()).await {
            Ok(Some(r)) => out.push(r),
            _ => break,
        }
    }
    out
}

#[test]
fn a_change_serves_waiters_on_every_arbiter() {
    System::new().block_on(async {
        let t = Throttles::new(Telemetry::new());
        t.start("n", C::rate(0)).await.unwrap();
        let arbiters = [Arbiter::new(), Arbiter::new()];
        let mut rx = spawn_waiters(&t, &arbiters, 50).await;
        assert_eq!(t.info("n").await.unwrap().waiting, 100);
        t.pause("n").await.unwrap();
        t.change_rate("n", C::rate_per(1000, Duration::from_secs(1)))
            .await
            .unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(200), rx.recv())
            .await
            .is_err());
        t.resume("n").await.unwrap();
        let results = collect(&mut rx, 100).await;
        assert_eq!(results.len(), 100);
        assert!(results.iter().all(Result::is_ok));
        for a in &arbiters {
            a.stop();
        }
    });
}

#[test]
fn stop_fails_waiters_on_every_arbiter() {
    System::new().block_on(async {
        let t = Throttles::new(Telemetry::new());
        t.start("n", C::concurrency(0)).await.unwrap();
        let arbiters = [Arbiter::new(), Arbiter::new()];
        let mut rx = spawn_waiters(&t, &arbiters, 30).await;
        t.stop("n").await.unwrap();
        let results = collect(&mut rx, 60).await;
        assert_eq!(results.len(), 60);
        assert!(results.iter().all(|r| r == &Err(ThrottleError::Stopped)));
        for a in &arbiters {
            a.stop();
        }
    });
}
