//! SPEC 6.7 case 24 and 6.6: the throttle's events.

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::telemetry::{names, test::Recorder, EventPattern, Number, Telemetry};
use amoc::throttle::{GradualPlan, ThrottleConfig as C, Throttles};
use amoc::Value;
use common::{sink, Msg, TIMEOUT};

const MS: fn(u64) -> Duration = Duration::from_millis;

async fn setup() -> (Telemetry, Throttles, Recorder) {
    let tel = Telemetry::new();
    tel.start();
    let rec = Recorder::attach(&tel, [EventPattern::prefix(&["amoc", "throttle"])])
        .await
        .unwrap();
    (tel.clone(), Throttles::new(tel), rec)
}

fn is(e: &amoc::telemetry::Event, name: &'static amoc::telemetry::EventName) -> bool {
    e.name == name
}

#[actix_rt::test]
async fn events_of_start_change_plan_and_wait() {
    let (_tel, t, mut rec) = setup().await;
    t.start("n", C::rate_per(100, MS(1000))).await.unwrap();
    let ev = rec.take(2, TIMEOUT).await;
    assert!(is(&ev[0], &names::THROTTLE_INIT) && is(&ev[1], &names::THROTTLE_RATE));
    assert_eq!(ev[0].metadata.get("name"), Some(&Value::from("n")));
    assert!(ev[0].metadata.get("monotonic_time").is_some());
    assert_eq!(ev[1].measurements.get("rate"), Some(&Number::U64(100)));
    assert_eq!(ev[1].measurements.get("interval"), Some(&Number::U64(1000)));

    // An identical change emits nothing; an AlreadyStarted start emits nothing.
    t.change_rate("n", C::rate_per(100, MS(1000)))
        .await
        .unwrap();
    t.start("n", C::rate_per(100, MS(1000))).await.unwrap();
    t.pause("n").await.unwrap();
    t.resume("n").await.unwrap();
    let others: Vec<_> = rec
        .take(10, MS(300))
        .await
        .into_iter()
        .filter(|e| !is(e, &names::THROTTLE_PROCESS))
        .collect();
    assert!(others.is_empty(), "{others:?}");

    // A 4-step plan: 5 rate events.
    let plan = GradualPlan::new(100, 500)
        .interval(MS(1000))
        .every(MS(20), 4);
    t.change_rate_gradually("n", plan).await.unwrap();
    let mut rates = Vec::new();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while rates.len() < 5 && tokio::time::Instant::now() < deadline {
        if let Some(e) = rec.next(MS(100)).await {
            if is(&e, &names::THROTTLE_RATE) {
                rates.push(e.measurements.get("rate").copied());
            }
        }
    }
    let want: Vec<_> = [100u64, 200, 300, 400, 500]
        .map(|r| Some(Number::U64(r)))
        .into();
    assert_eq!(rates, want);
    tokio::time::sleep(MS(200)).await;
    assert!(rec.drain().iter().all(|e| !is(e, &names::THROTTLE_RATE)));

    // Each wait, send and run: one request and one execute.
    t.change_rate("n", C::unlimited()).await.unwrap();
    // The change's own rate event is the last one before the requests'.
    while let Some(e) = rec.next(TIMEOUT).await {
        if is(&e, &names::THROTTLE_RATE) {
            break;
        }
    }
    rec.drain();
    for _ in 0..3 {
        t.wait("n").await.unwrap();
    }
    let (r, mut rx) = sink();
    t.send("n", r, Msg(1)).unwrap();
    rx.recv().await.unwrap();
    t.run("n", async {}).unwrap().await.unwrap();
    let ev = rec.take(10, TIMEOUT).await;
    let count = |n| ev.iter().filter(|e| is(e, n)).count();
    assert_eq!(
        (
            count(&names::THROTTLE_REQUEST),
            count(&names::THROTTLE_EXECUTE)
        ),
        (5, 5)
    );
}

#[actix_rt::test]
async fn unlock_emits_an_infinite_rate_and_stop_reports_dropped_sends() {
    let (_tel, t, mut rec) = setup().await;
    t.start("n", C::rate(0)).await.unwrap();
    let (r, _rx) = sink();
    for i in 0..3 {
        t.send("n", r.clone(), Msg(i)).unwrap();
    }
    t.change_rate("n", C::concurrency(5)).await.unwrap();
    t.change_rate("n", C::rate(0)).await.unwrap();
    t.unlock("n").await.unwrap();
    t.change_rate("n", C::rate(0)).await.unwrap();
    for i in 0..2 {
        t.send("n", r.clone(), Msg(i)).unwrap();
    }
    t.stop("n").await.unwrap();
    let ev = rec.take(40, MS(500)).await;
    let rates: Vec<_> = ev
        .iter()
        .filter(|e| is(e, &names::THROTTLE_RATE))
        .map(|e| {
            (
                e.measurements.get("rate").copied(),
                e.measurements.get("interval").copied(),
            )
        })
        .collect();
    assert_eq!(
        rates,
        vec![
            (Some(Number::U64(0)), Some(Number::U64(60_000))),
            (Some(Number::U64(5)), Some(Number::U64(0))),
            (Some(Number::U64(0)), Some(Number::U64(60_000))),
            (Some(Number::F64(f64::INFINITY)), None),
            (Some(Number::U64(0)), Some(Number::U64(60_000))),
        ]
    );
    let warning = ev
        .iter()
        .find(|e| e.metadata.get("msg") == Some(&Value::from("pending requests dropped")))
        .expect("a warning");
    assert_eq!(warning.metadata.get("n"), Some(&Value::from(2)));
    assert_eq!(
        warning.metadata.get("log_level"),
        Some(&Value::from("warning"))
    );
    assert_eq!(warning.measurements.get("warning"), Some(&Number::U64(1)));
}
