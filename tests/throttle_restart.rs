//! Supervision seam (SPEC 6.3) and the `is inactive` report (6.6).

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::telemetry::{names, test::Recorder, EventPattern, Telemetry};
use amoc::throttle::{GradualPlan, Rate, ThrottleConfig as C, ThrottleError, Throttles};
use amoc::Value;
use common::{queued_wait, TIMEOUT};

const MS: fn(u64) -> Duration = Duration::from_millis;

#[actix_rt::test]
async fn restarted_throttle_comes_back_with_its_last_config() {
    let tel = Telemetry::new();
    tel.start();
    let t = Throttles::new(tel.clone());
    t.start("n", C::rate_per(1, MS(60_000))).await.unwrap();
    t.wait("n").await.unwrap();
    t.change_rate_gradually(
        "n",
        GradualPlan::new(1, 2)
            .interval(MS(60_000))
            .every(MS(100), 10),
    )
    .await
    .unwrap();
    let waiter = queued_wait(&t, "n").await;
    let mut rec = Recorder::attach(&tel, [EventPattern::prefix(&["amoc", "throttle"])])
        .await
        .unwrap();
    t.restart("n").await.unwrap();
    let w = tokio::time::timeout(TIMEOUT, waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(w, Err(ThrottleError::Stopped)));
    let info = t.info("n").await.unwrap();
    assert_eq!((info.rate, info.gradual), (Rate::Finite(1), None));
    let ev = rec.take(20, MS(300)).await;
    assert!(ev.iter().any(|e| e.name == &names::THROTTLE_INIT));
    assert!(ev
        .iter()
        .any(|e| e.metadata.get("msg") == Some(&Value::from("gradual plan cancelled"))));
    // No step of the cancelled plan applies later.
    tokio::time::sleep(MS(300)).await;
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(1));
    assert!(matches!(
        t.restart("x").await,
        Err(ThrottleError::NoSuchThrottle(_))
    ));
}

#[actix_rt::test]
async fn an_idle_shard_is_reported_inactive_once() {
    tokio::time::pause();
    let tel = Telemetry::new();
    tel.start();
    let t = Throttles::new(tel.clone());
    let mut rec = Recorder::attach(&tel, [EventPattern::from(&names::THROTTLE_PROCESS)])
        .await
        .unwrap();
    t.start("n", C::rate_per(10, MS(1000))).await.unwrap();
    t.wait("n").await.unwrap();
    // Inactive after interval + 60 s; reported once however long it stays idle.
    tokio::time::sleep(MS(90_000)).await;
    let inactive: Vec<_> = rec
        .drain()
        .into_iter()
        .filter(|e| e.metadata.get("msg") == Some(&Value::from("is inactive")))
        .collect();
    assert_eq!(inactive.len(), 1, "{inactive:?}");
    assert_eq!(
        inactive[0].metadata.get("log_level"),
        Some(&Value::from("debug"))
    );
}
