//! Issue 15 (first bullet): a permit carries the time its slot was due, and allowance that
//! accrues while nobody waits is counted as missed (in `info` and on `execute` events),
//! without ever being granted later (G1, G2).

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::telemetry::{test::Recorder, EventPattern, Number, Telemetry};
use amoc::throttle::{ThrottleConfig as C, Throttles};
use common::{queued_wait, TIMEOUT};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn missed_of(e: &amoc::telemetry::Event) -> u64 {
    match e.measurements.get("missed") {
        Some(Number::U64(n)) => *n,
        None => 0,
        Some(other) => panic!("missed is not a u64: {other:?}"),
    }
}

#[actix_rt::test]
async fn allowance_nobody_waits_for_is_counted_as_missed() {
    tokio::time::pause();
    let tel = Telemetry::new();
    tel.start();
    let mut rec = Recorder::attach(
        &tel,
        [EventPattern::exact(&["amoc", "throttle", "execute"])],
    )
    .await
    .unwrap();
    let t = Throttles::new(tel);
    t.start("n", C::rate_per(1000, Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(t.info("n").await.unwrap().missed, 0);
    t.wait("n").await.unwrap();
    // 100 ms with nobody waiting: 100 permits accrue, one is banked (G2), 99 are missed.
    tokio::time::sleep(MS(100)).await;
    let missed = t.info("n").await.unwrap().missed;
    assert!((98..=100).contains(&missed), "missed {missed}");
    // The banked one passes at once; the next request waits for its slot (nothing missed
    // is granted later).
    let before = Instant::now();
    let p = t.wait("n").await.unwrap();
    assert_eq!(p.granted_at(), before);
    let p = t.wait("n").await.unwrap();
    assert!(p.granted_at() > before);
    let ev = rec.take(3, TIMEOUT).await;
    assert_eq!(ev.len(), 3);
    let reported: u64 = ev.iter().map(|e| missed_of(e)).sum();
    assert_eq!(reported, t.info("n").await.unwrap().missed);
    assert!(reported >= missed);
}

#[actix_rt::test]
async fn a_permit_that_waited_was_due_when_its_slot_was() {
    let t = Throttles::new(Telemetry::new());
    t.start("n", C::rate_per(10, Duration::from_secs(1)))
        .await
        .unwrap();
    let first = t.wait("n").await.unwrap();
    assert_eq!(
        first.due_at(),
        first.granted_at(),
        "served at once: due on arrival"
    );
    let queued_at = Instant::now();
    let waiter = queued_wait(&t, "n").await;
    assert_eq!(t.info("n").await.unwrap().waiting, 1);
    // The arbiter is busy for 300 ms: its slot (100 ms after the first) passes meanwhile.
    std::thread::sleep(MS(300));
    let p = tokio::time::timeout(TIMEOUT, waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(p.due_at() >= queued_at);
    assert!(
        p.due_at() <= first.granted_at() + MS(110),
        "due {:?}",
        p.due_at() - first.granted_at()
    );
    assert!(
        p.granted_at() - p.due_at() >= MS(150),
        "late by {:?}",
        p.granted_at() - p.due_at()
    );
}
