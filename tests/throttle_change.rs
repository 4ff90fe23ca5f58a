//! SPEC 6.7 cases 6 (`change_rate`), 8 (`change_rate_triggers_parallelism`), 16
//! (`pause_and_resume`), 17 (idempotent pause/resume, change while paused) and 20.

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::throttle::{Rate, ThrottleConfig as C, ThrottleError};
use common::{arrives, sink, throttles, Msg, TIMEOUT};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[actix_rt::test]
async fn change_rate() {
    let t = throttles();
    assert_eq!(
        t.change_rate("n", C::rate(101)).await,
        Err(ThrottleError::NoSuchThrottle("n".into()))
    );
    t.start("n", C::rate(100)).await.unwrap();
    t.change_rate("n", C::rate(101)).await.unwrap();
    let (r, mut rx) = sink();

    t.change_rate("n", C::rate_per(10_000, MS(100)))
        .await
        .unwrap();
    t.send("n", r.clone(), Msg(1)).unwrap();
    assert!(arrives(&mut rx, MS(100)).await, "10 000 per 100 ms");

    t.change_rate("n", C::rate(0)).await.unwrap();
    t.send("n", r.clone(), Msg(2)).unwrap();
    assert!(!arrives(&mut rx, MS(200)).await, "rate 0");

    t.change_rate("n", C::unlimited()).await.unwrap();
    assert!(arrives(&mut rx, MS(100)).await, "unlimited");

    t.change_rate("n", C::interarrival(MS(1))).await.unwrap();
    t.send("n", r.clone(), Msg(3)).unwrap();
    assert!(arrives(&mut rx, MS(100)).await, "interarrival 1 ms");

    t.change_rate("n", C::interarrival(MS(30_000)))
        .await
        .unwrap();
    t.send("n", r.clone(), Msg(4)).unwrap();
    assert!(!arrives(&mut rx, MS(200)).await, "interarrival 30 s");
}

#[actix_rt::test]
async fn change_rate_triggers_parallelism() {
    let t = throttles();
    t.start("n", C::rate(1)).await.unwrap();
    let (r, mut rx) = sink();
    for i in 0..100 {
        t.send("n", r.clone(), Msg(i)).unwrap();
    }
    // The first passes at once (an idle throttle banks one permit).
    assert!(arrives(&mut rx, TIMEOUT).await);
    let started = Instant::now();
    t.change_rate("n", C::rate(60_000)).await.unwrap();
    for i in 100..110 {
        t.send("n", r.clone(), Msg(i)).unwrap();
    }
    for _ in 1..110 {
        assert!(arrives(&mut rx, MS(250)).await);
    }
    assert!(started.elapsed() < MS(250), "took {:?}", started.elapsed());
}

#[actix_rt::test]
async fn pause_and_resume() {
    let t = throttles();
    t.start("n", C::rate(600_000)).await.unwrap();
    let (r, mut rx) = sink();
    t.pause("n").await.unwrap();
    t.send("n", r.clone(), Msg(1)).unwrap();
    assert!(!arrives(&mut rx, MS(200)).await);
    t.resume("n").await.unwrap();
    assert!(arrives(&mut rx, MS(200)).await);
    let info = t.info("n").await.unwrap();
    assert_eq!((info.rate, info.paused), (Rate::Finite(600_000), false));
}

#[actix_rt::test]
async fn pause_and_resume_are_idempotent_and_change_while_paused_stays_paused() {
    let t = throttles();
    t.start("n", C::rate(0)).await.unwrap();
    t.resume("n").await.unwrap(); // resume without pause
    t.pause("n").await.unwrap();
    t.pause("n").await.unwrap();
    t.change_rate("n", C::unlimited()).await.unwrap();
    let info = t.info("n").await.unwrap();
    assert_eq!((info.rate, info.paused), (Rate::Unlimited, true));
    let (r, mut rx) = sink();
    t.send("n", r.clone(), Msg(1)).unwrap();
    let waiter = {
        let t = t.clone();
        actix_rt::spawn(async move { t.wait("n").await.map(drop) })
    };
    assert!(!arrives(&mut rx, MS(200)).await, "paused after change_rate");
    t.resume("n").await.unwrap();
    t.resume("n").await.unwrap();
    assert!(arrives(&mut rx, TIMEOUT).await);
    assert_eq!(
        tokio::time::timeout(TIMEOUT, waiter)
            .await
            .unwrap()
            .unwrap(),
        Ok(())
    );
    // The new (unlimited) rate applies.
    for _ in 0..1000 {
        t.wait("n").await.unwrap();
    }
}

#[actix_rt::test]
async fn rate_increase_serves_the_queue() {
    let t = throttles();
    t.start("n", C::rate_per(20, MS(1000))).await.unwrap();
    let (r, mut rx) = sink();
    for i in 0..400 {
        t.send("n", r.clone(), Msg(i)).unwrap();
    }
    assert!(arrives(&mut rx, TIMEOUT).await);
    let started = Instant::now();
    t.change_rate("n", C::rate_per(600, MS(1000)))
        .await
        .unwrap();
    for _ in 1..400 {
        assert!(arrives(&mut rx, TIMEOUT).await);
    }
    assert!(started.elapsed() < MS(1000), "took {:?}", started.elapsed());
}
