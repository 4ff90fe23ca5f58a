//! SPEC 6.7 case 21 and the G1/G3 guarantees, measured with users on several arbiters.
//!
//! Bounds are tolerant for a busy 2-core CI machine: never above the rate in any window,
//! at least 97 % of it. A debug build runs the high-rate case at 20 000/s (the release
//! benchmark `throttle_bench` measures 1 000 000/s).

#[path = "throttle_support/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_rt::{Arbiter, System};
use amoc::telemetry::Telemetry;
use amoc::throttle::max_in_window;
use amoc::throttle::{ThrottleConfig, Throttles};
use common::TIMEOUT;
use tokio::time::Instant;

struct Load {
    grants: Vec<u64>,
}

/// `users` users over two arbiters loop on `wait` for `secs`; returns the grant times (ns).
async fn load(rate: u64, interval: Duration, users: usize, secs: u64) -> Load {
    let t = Throttles::new(Telemetry::new());
    t.start("load", ThrottleConfig::rate_per(rate, interval))
        .await
        .unwrap();
    let arbiters = [Arbiter::new(), Arbiter::new()];
    let logs: Vec<Arc<Mutex<Vec<u64>>>> = (0..2).map(|_| Arc::default()).collect();
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
    for u in 0..users {
        let (t, done_tx) = (t.clone(), done_tx.clone());
        let log = logs[u % 2].clone();
        arbiters[u % 2].spawn(async move {
            while let Ok(p) = t.wait("load").await {
                if p.granted_at() >= end {
                    break;
                }
                let ns = (p.granted_at() - start).as_nanos() as u64;
                log.lock().unwrap().push(ns);
            }
            let _ = done_tx.send(());
        });
    }
    tokio::time::sleep_until(end + Duration::from_millis(100)).await;
    t.stop("load").await.unwrap();
    // Every user has seen its last grant (or the stop) before the logs are read.
    for _ in 0..users {
        let got = tokio::time::timeout(TIMEOUT, done.recv()).await;
        assert!(matches!(got, Ok(Some(()))), "a user did not finish");
    }
    for a in &arbiters {
        a.stop();
    }
    let mut grants: Vec<u64> = logs
        .iter()
        .flat_map(|l| l.lock().unwrap().clone())
        .collect();
    grants.sort_unstable();
    Load { grants }
}

/// Runs the load; G1 must hold on every attempt. The accuracy bound gets a second attempt:
/// on a shared 2-core machine a run can be starved of CPU for longer than the 10 ms the
/// throttle catches up (SPEC 6.4 G2), and what it then forfeits says nothing about the
/// throttle. Returns (achieved per second, grants in the first second).
async fn measure(rate: u64, users: usize, secs: u64) -> (f64, usize) {
    let mut best = (0.0, 0);
    for _attempt in 0..2 {
        let l = load(rate, Duration::from_secs(1), users, secs).await;
        let m = max_in_window(&l.grants, 1_000_000_000);
        assert!(m <= rate, "max in window {m} of {rate}");
        let got = l.grants.len() as f64 / secs as f64;
        let first = l.grants.iter().filter(|&&t| t < 1_000_000_000).count();
        if got > best.0 {
            best = (got, first);
        }
        if got >= 0.97 * rate as f64 && first as f64 >= 0.97 * rate as f64 {
            break;
        }
    }
    best
}

#[test]
fn rate_is_held_across_arbiters() {
    System::new().block_on(async {
        let high = if cfg!(debug_assertions) {
            20_000
        } else {
            1_000_000
        };
        let (got, _) = measure(high, 1000, 3).await;
        assert!(got >= 0.97 * high as f64, "{got} of {high}");

        let (got, first) = measure(1000, 100, 4).await;
        assert!(got >= 970.0, "{got} of 1000");
        assert!(first >= 970, "first second {first}");
    });
}
