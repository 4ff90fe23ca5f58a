//! SPEC 6.7 cases 7 (interval 0 limits parallelism) and 19.

#[path = "throttle_support/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amoc::throttle::{ThrottleConfig as C, Throttles};
use common::{throttles, TIMEOUT};
use tokio::time::Instant;

#[derive(Default)]
struct Gauge {
    now: AtomicU64,
    max: AtomicU64,
}

/// Runs `n` throttled futures of `each` and returns the largest number seen running at once.
async fn run_many(t: &Throttles, n: usize, each: Duration) -> u64 {
    let g = Arc::new(Gauge::default());
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let g = g.clone();
            t.run("n", async move {
                let cur = g.now.fetch_add(1, Ordering::SeqCst) + 1;
                g.max.fetch_max(cur, Ordering::SeqCst);
                tokio::time::sleep(each).await;
                g.now.fetch_sub(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect();
    for h in handles {
        tokio::time::timeout(TIMEOUT * 4, h).await.unwrap().unwrap();
    }
    g.max.load(Ordering::SeqCst)
}

#[actix_rt::test]
async fn interval_equal_zero_limits_parallelism() {
    let t = throttles();
    t.start("n", C::concurrency(36)).await.unwrap();
    let max = run_many(&t, 100, Duration::from_millis(50)).await;
    assert!((30..=36).contains(&max), "max {max}");
    assert_eq!(t.info("n").await.unwrap().in_flight, 0);
}

#[actix_rt::test]
async fn change_rate_to_interval_zero_limits_parallelism() {
    let t = throttles();
    t.start("n", C::rate(100)).await.unwrap();
    t.change_rate("n", C::rate_per(100, Duration::ZERO))
        .await
        .unwrap();
    let max = run_many(&t, 300, Duration::from_millis(50)).await;
    assert!((90..=100).contains(&max), "max {max}");
}

#[actix_rt::test]
async fn concurrency_three_runs_in_batches() {
    let t = throttles();
    t.start("n", C::concurrency(3)).await.unwrap();
    let started = Instant::now();
    let max = run_many(&t, 10, Duration::from_millis(200)).await;
    let took = started.elapsed();
    assert!(max <= 3, "max {max}");
    assert!(
        took >= Duration::from_millis(790) && took < Duration::from_millis(1500),
        "took {took:?}"
    );
}

#[actix_rt::test]
async fn wait_permits_hold_their_slot_until_dropped() {
    let t = throttles();
    t.start("n", C::concurrency(2)).await.unwrap();
    let a = t.wait("n").await.unwrap();
    let _b = t.wait("n").await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), t.wait("n"))
            .await
            .is_err()
    );
    drop(a);
    let c = tokio::time::timeout(TIMEOUT, t.wait("n"))
        .await
        .unwrap()
        .unwrap();
    assert!(c.holds_slot());
    assert_eq!(t.info("n").await.unwrap().in_flight, 2);
}

#[actix_rt::test]
async fn concurrency_zero_lets_nothing_pass() {
    let t = throttles();
    t.start("n", C::concurrency(0)).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), t.wait("n"))
            .await
            .is_err()
    );
}
