//! SPEC 6.7 cases 13 (`just_wait`), 14, 15 (`async_runner_dies_when_throttler_dies`) and 22.

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::throttle::{RunError, ThrottleConfig as C, ThrottleError};
use common::{arrives, queued_wait, sink, throttles, Msg, TIMEOUT};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[actix_rt::test]
async fn just_wait() {
    let t = throttles();
    assert!(matches!(
        t.wait("n").await,
        Err(ThrottleError::NoSuchThrottle(_))
    ));
    t.start("n", C::rate_per(100, MS(10))).await.unwrap();
    t.wait("n").await.unwrap();
    let (r, mut rx) = sink();
    t.send("n", r.clone(), Msg(0)).unwrap();
    assert!(arrives(&mut rx, MS(100)).await);
    // Another user on this arbiter queues 10 000 sends; ours comes after them (FIFO).
    let (other, _other_rx) = sink();
    for i in 0..10_000 {
        t.send("n", other.clone(), Msg(i)).unwrap();
    }
    t.send("n", r, Msg(1)).unwrap();
    assert!(!arrives(&mut rx, MS(200)).await);
}

#[actix_rt::test]
async fn wait_for_process_to_die_sends_a_kill() {
    let t = throttles();
    t.start("n", C::rate(600)).await.unwrap();
    let h = t.run("n", async { panic!("user crashed") }).unwrap();
    assert_eq!(
        h.await.map(|_: ()| ()),
        Err(RunError::Panicked("user crashed".into()))
    );
    // A panicking future releases its concurrency slot.
    t.change_rate("n", C::concurrency(1)).await.unwrap();
    let h = t.run("n", async { panic!("again") }).unwrap();
    assert!(matches!(h.await, Err(RunError::Panicked(_))));
    let ok = t.run("n", async { 7 }).unwrap();
    assert_eq!(tokio::time::timeout(TIMEOUT, ok).await.unwrap(), Ok(7));
}

#[actix_rt::test]
async fn async_runner_dies_while_waiting_raises_exit() {
    let t = throttles();
    // One permit in a minute, none granted yet.
    t.start("n", C::rate_per(1, MS(60_000))).await.unwrap();
    t.pause("n").await.unwrap();
    let gone = tokio::time::timeout(MS(50), t.wait("n")).await;
    assert!(gone.is_err(), "withdrawn while queued");
    let next = queued_wait(&t, "n").await;
    t.resume("n").await.unwrap();
    // The only permit goes to the waiter still there.
    assert!(tokio::time::timeout(MS(200), next)
        .await
        .unwrap()
        .unwrap()
        .is_ok());
}

#[actix_rt::test]
async fn async_runner_dies_when_throttler_dies() {
    let t = throttles();
    t.start("n", C::rate_per(1, MS(60_000))).await.unwrap();
    t.wait("n").await.unwrap();
    let waiter = queued_wait(&t, "n").await;
    let run = t.run("n", async {}).unwrap();
    let (r, mut rx) = sink();
    t.send("n", r, Msg(1)).unwrap();
    assert_eq!(t.info("n").await.unwrap().waiting, 3);
    let stopped = Instant::now();
    t.stop("n").await.unwrap();
    let w = tokio::time::timeout(MS(100), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(w, Err(ThrottleError::Stopped)));
    let r = tokio::time::timeout(MS(100), run).await.unwrap();
    assert_eq!(r, Err(RunError::Throttle(ThrottleError::Stopped)));
    assert!(stopped.elapsed() < MS(100));
    assert!(
        !arrives(&mut rx, MS(50)).await,
        "undelivered sends are discarded"
    );
}

#[actix_rt::test]
async fn idle_throttle_banks_one_permit() {
    tokio::time::pause();
    let t = throttles();
    t.start("n", C::rate_per(10, MS(1000))).await.unwrap();
    tokio::time::sleep(MS(10_000)).await;
    let t0 = Instant::now();
    let waiters: Vec<_> = (0..100)
        .map(|_| {
            let t = t.clone();
            actix_rt::spawn(async move { t.wait("n").await.unwrap().granted_at() })
        })
        .collect();
    let mut times = Vec::new();
    for w in waiters {
        times.push(w.await.unwrap());
    }
    times.sort();
    assert!(times[0] - t0 <= MS(1), "first at once");
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= MS(99),
            "spacing {:?}",
            pair[1] - pair[0]
        );
    }
}
