//! Issue 11: the rate is held for every shape of demand, not only for crowds of idle
//! waiters on one arbiter: low rates with waiters on two arbiters, and a few users that do
//! work between permits under a cap they can reach (G4: a request that finds allowance
//! passes at once).
//!
//! Bounds are tolerant (a busy 2-core CI machine): never above the rate in any window
//! (exact), and most of the rate, with a second attempt when a run falls short.

#[path = "throttle_support/mod.rs"]
mod common;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use actix_rt::{Arbiter, System};
use amoc::throttle::{ThrottleConfig, Throttles};
use common::{max_in_window, throttles};
use tokio::time::Instant;

const SECOND: u64 = 1_000_000_000;

/// Grant times (ns since `start`) of the permits granted before `end`.
type Log = Arc<Mutex<Vec<u64>>>;

/// `users` users spread over `arbiters` loop on `wait` on `name` until `end`, spinning
/// `work` after each permit.
fn load(
    t: &Throttles,
    name: &'static str,
    arbiters: &[Arbiter],
    users: usize,
    work: Duration,
    (start, end): (Instant, Instant),
) -> Log {
    let log = Log::default();
    for u in 0..users {
        let (t, log) = (t.clone(), log.clone());
        arbiters[u % arbiters.len()].spawn(async move {
            while let Ok(p) = t.wait(name).await {
                if p.granted_at() >= end {
                    break;
                }
                assert!(p.due_at() <= p.granted_at());
                log.lock()
                    .unwrap()
                    .push((p.granted_at() - start).as_nanos() as u64);
                let t0 = std::time::Instant::now();
                while t0.elapsed() < work {
                    std::hint::spin_loop();
                }
                tokio::task::yield_now().await;
            }
        });
    }
    log
}

fn grants(log: &Log) -> Vec<u64> {
    log.lock().unwrap().clone()
}

/// Starts one throttle per rate (per second) with waiters on both arbiters for `secs`;
/// returns, per rate, the number of grants and the most in any 1 s window.
async fn low_rates_on_two_arbiters(
    rates: &[u64],
    waiters: usize,
    secs: u64,
) -> Vec<(u64, usize, usize)> {
    const NAMES: [&str; 3] = ["a", "b", "c"];
    let t = throttles();
    let arbiters = [Arbiter::new(), Arbiter::new()];
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut logs = Vec::new();
    for (&r, name) in rates.iter().zip(NAMES) {
        t.start(name, ThrottleConfig::rate_per(r, Duration::from_secs(1)))
            .await
            .unwrap();
        logs.push(load(
            &t,
            name,
            &arbiters,
            waiters,
            Duration::ZERO,
            (start, end),
        ));
    }
    tokio::time::sleep_until(end + Duration::from_millis(100)).await;
    for name in &NAMES[..rates.len()] {
        t.stop(name).await.unwrap();
    }
    for a in &arbiters {
        a.stop();
    }
    rates
        .iter()
        .zip(&logs)
        .map(|(&r, log)| {
            let mut g = grants(log);
            (r, g.len(), max_in_window(&mut g, SECOND))
        })
        .collect()
}

#[test]
fn low_rates_hold_with_waiters_on_two_arbiters() {
    System::new().block_on(async {
        let secs = 3;
        let mut short = Vec::new();
        for _attempt in 0..2 {
            short.clear();
            for (r, got, max) in low_rates_on_two_arbiters(&[7, 20, 100], 400, secs).await {
                assert!(max <= r as usize, "rate {r}: {max} in one window");
                // At least 95 % of r·T (the grant at 0 comes on top of r·T/I).
                if (got as f64) < 0.95 * (r * secs) as f64 {
                    short.push((r, got));
                }
            }
            if short.is_empty() {
                break;
            }
        }
        assert!(short.is_empty(), "(rate, grants in {secs} s): {short:?}");
    });
}

#[test]
fn users_working_between_permits_reach_the_cap() {
    System::new().block_on(async {
        let (rate, secs) = (4_000u64, 2u64);
        let mut best = 0;
        for _attempt in 0..2 {
            let t = throttles();
            t.start("w", ThrottleConfig::rate_per(rate, Duration::from_secs(1)))
                .await
                .unwrap();
            let arbiters = [Arbiter::new(), Arbiter::new()];
            let start = Instant::now();
            let end = start + Duration::from_secs(secs);
            let log = load(
                &t,
                "w",
                &arbiters,
                5,
                Duration::from_micros(20),
                (start, end),
            );
            tokio::time::sleep_until(end + Duration::from_millis(100)).await;
            t.stop("w").await.unwrap();
            for a in &arbiters {
                a.stop();
            }
            let mut g = grants(&log);
            let max = max_in_window(&mut g, SECOND);
            assert!(max <= rate as usize, "{max} in one window");
            best = best.max(g.len() as u64 / secs);
            // Waiting for a timer tick (1–2 ms) per request would cap 5 users at 2 500–5 000/s,
            // and measured 2 359/s before prompt passes existed (issue 11).
            if best as f64 >= 0.85 * rate as f64 {
                break;
            }
        }
        assert!(best as f64 >= 0.85 * rate as f64, "{best}/s of {rate}/s");
    });
}

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` once.
fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(Noop));
    let mut fut = std::pin::pin!(fut);
    fut.as_mut().poll(&mut Context::from_waker(&waker))
}

#[actix_rt::test]
async fn a_request_finding_allowance_passes_at_once() {
    let t = throttles();
    t.start("n", ThrottleConfig::rate_per(1000, Duration::from_secs(1)))
        .await
        .unwrap();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(3)).await;
        let before = Instant::now();
        let Poll::Ready(p) = poll_once(t.wait("n")) else {
            panic!("allowance was available, yet the request waits for a tick");
        };
        let p = p.unwrap();
        assert!(p.granted_at() >= before);
        assert!(p.due_at() <= p.granted_at() && p.due_at() >= before);
    }
    // With the allowance used up, a request waits (and is served on a later tick).
    while poll_once(t.wait("n")).is_ready() {}
    let p = tokio::time::timeout(common::TIMEOUT, t.wait("n"))
        .await
        .unwrap()
        .unwrap();
    assert!(p.due_at() <= p.granted_at());
}
