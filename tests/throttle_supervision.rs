//! SPEC 6.3 "Supervision" and 3.5: each throttle's owner is a transient child of the
//! `throttles` DynamicSupervisor (5 restarts per 10 s). A crashed owner comes back with the
//! throttle's last configuration; requests that were waiting fail with `Stopped`; `init` is
//! emitted again; `stop` is not followed by a restart; too many crashes make the supervisor
//! give up, and every operation then fails with `SupervisorDown` instead of hanging.

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::telemetry::{names, test::Recorder, Event, EventPattern, Telemetry};
use amoc::throttle::{
    GradualPlan, Rate, StartOutcome, ThrottleConfig as C, ThrottleError, Throttles,
};
use amoc::Value;
use common::{queued_wait, TIMEOUT};

const MS: fn(u64) -> Duration = Duration::from_millis;

async fn setup() -> (Throttles, Recorder) {
    let tel = Telemetry::new();
    tel.start();
    let rec = Recorder::attach(&tel, [EventPattern::prefix(&["amoc", "throttle"])])
        .await
        .unwrap();
    (Throttles::new(tel), rec)
}

fn count(events: &[std::sync::Arc<Event>], name: &'static amoc::telemetry::EventName) -> usize {
    events.iter().filter(|e| e.name == name).count()
}

fn has_msg(events: &[std::sync::Arc<Event>], msg: &str) -> bool {
    events
        .iter()
        .any(|e| e.metadata.get("msg") == Some(&Value::from(msg)))
}

fn is_down(r: &Result<impl std::fmt::Debug, ThrottleError>) -> bool {
    matches!(r, Err(ThrottleError::SupervisorDown(_)))
}

#[actix_rt::test]
async fn crashed_owner_comes_back_with_its_last_config_and_fails_waiters() {
    let (t, mut rec) = setup().await;
    t.start("n", C::rate_per(100, MS(1000))).await.unwrap();
    // The last configuration differs from the one the throttle was started with.
    t.change_rate("n", C::rate_per(1, MS(60_000)))
        .await
        .unwrap();
    t.wait("n").await.unwrap();
    let waiter = queued_wait(&t, "n").await;
    assert_eq!(t.info("n").await.unwrap().waiting, 1);
    rec.drain();

    t.crash_owner_for_test("n").await.unwrap();

    // The queued waiter is failed, not served and not left hanging.
    let w = tokio::time::timeout(TIMEOUT, waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(w, Err(ThrottleError::Stopped)));
    let info = t.info("n").await.unwrap();
    assert_eq!(
        (
            info.rate,
            info.interval,
            info.paused,
            info.gradual,
            info.waiting
        ),
        (Rate::Finite(1), MS(60_000), false, None, 0)
    );
    let ev = rec.take(2, TIMEOUT).await;
    assert_eq!(count(&ev, &names::THROTTLE_INIT), 1, "{ev:?}");
    assert!(ev[0].name == &names::THROTTLE_INIT && ev[1].name == &names::THROTTLE_RATE);
    assert_eq!(ev[0].metadata.get("name"), Some(&Value::from("n")));
    // Still 1 per minute: the next permit is not granted early.
    assert!(tokio::time::timeout(MS(300), t.wait("n")).await.is_err());
    // Same config again: AlreadyStarted.
    assert_eq!(
        t.start("n", C::rate_per(1, MS(60_000))).await,
        Ok(StartOutcome::AlreadyStarted)
    );
}

#[actix_rt::test]
async fn after_a_crash_new_waits_are_served_at_the_rate() {
    let (t, _rec) = setup().await;
    t.start("n", C::rate_per(20, MS(1000))).await.unwrap();
    for _ in 0..3 {
        t.wait("n").await.unwrap();
    }
    t.crash_owner_for_test("n").await.unwrap();
    let started = tokio::time::Instant::now();
    let mut granted = Vec::new();
    for _ in 0..10 {
        let p = tokio::time::timeout(TIMEOUT, t.wait("n"))
            .await
            .unwrap()
            .unwrap();
        granted.push(p.granted_at());
    }
    let elapsed = started.elapsed();
    // 10 permits at 20/s: spaced 50 ms (the first may pass at once) — about 450–500 ms.
    assert!(elapsed >= MS(400), "too fast: {elapsed:?}");
    assert!(elapsed <= MS(2000), "too slow: {elapsed:?}");
    // Grants keep to the even schedule (50 ms slots). One that a busy machine made late is
    // followed by the next on its own slot (G2 catch-up, at most one permit at this rate),
    // so a single gap may be short however late a grant was; but no grant comes before its
    // slot, so four grants never fall within 100 ms.
    for w in granted.windows(4) {
        assert!(
            w[3] - w[0] >= MS(99),
            "four grants within {:?}",
            w[3] - w[0]
        );
    }
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(20));
}

#[actix_rt::test]
async fn a_paused_throttle_stays_paused_after_a_crash() {
    let (t, _rec) = setup().await;
    t.start("n", C::rate_per(1000, MS(1000))).await.unwrap();
    t.pause("n").await.unwrap();
    t.crash_owner_for_test("n").await.unwrap();
    assert!(t.info("n").await.unwrap().paused);
    assert!(tokio::time::timeout(MS(200), t.wait("n")).await.is_err());
    t.resume("n").await.unwrap();
    tokio::time::timeout(TIMEOUT, t.wait("n"))
        .await
        .unwrap()
        .unwrap();
}

#[actix_rt::test]
async fn a_crash_cancels_a_gradual_plan_and_reports_it() {
    let (t, mut rec) = setup().await;
    t.start("n", C::rate_per(10, MS(1000))).await.unwrap();
    let plan = GradualPlan::new(10, 50)
        .interval(MS(1000))
        .every(MS(200), 4);
    t.change_rate_gradually("n", plan).await.unwrap();
    assert!(t.info("n").await.unwrap().gradual.is_some());
    rec.drain();
    t.crash_owner_for_test("n").await.unwrap();
    let info = t.info("n").await.unwrap();
    assert_eq!((info.rate, info.gradual), (Rate::Finite(10), None));
    let ev = rec.take(3, TIMEOUT).await;
    assert!(has_msg(&ev, "gradual plan cancelled"), "{ev:?}");
    // No later step applies, and a new plan may start.
    tokio::time::sleep(MS(500)).await;
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(10));
    t.change_rate_gradually("n", plan).await.unwrap();
}

#[actix_rt::test]
async fn calls_queued_behind_a_crash_are_answered_by_the_new_owner() {
    let (t, _rec) = setup().await;
    t.start("n", C::rate_per(5, MS(1000))).await.unwrap();
    let infos = futures::future::join_all((0..20).map(|_| t.info("n")));
    let (crashed, infos) = futures::join!(t.crash_owner_for_test("n"), infos);
    crashed.unwrap();
    for info in infos {
        assert_eq!(info.unwrap().rate, Rate::Finite(5));
    }
    t.change_rate("n", C::rate_per(6, MS(1000))).await.unwrap();
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(6));
}

#[actix_rt::test]
async fn a_stopped_throttle_is_not_restarted() {
    let (t, mut rec) = setup().await;
    t.start("n", C::rate_per(5, MS(1000))).await.unwrap();
    t.crash_owner_for_test("n").await.unwrap();
    t.stop("n").await.unwrap();
    rec.drain();
    tokio::time::sleep(MS(200)).await;
    let ev = rec.drain();
    assert_eq!(count(&ev, &names::THROTTLE_INIT), 0, "{ev:?}");
    assert!(matches!(
        t.info("n").await,
        Err(ThrottleError::NoSuchThrottle(_))
    ));
    assert!(matches!(
        t.crash_owner_for_test("n").await,
        Err(ThrottleError::NoSuchThrottle(_))
    ));
    // The name is free again; the new throttle has its own config.
    assert_eq!(
        t.start("n", C::rate_per(7, MS(1000))).await,
        Ok(StartOutcome::Started)
    );
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(7));
}

#[actix_rt::test]
async fn exceeding_the_intensity_gives_up_and_operations_fail_clearly() {
    let (t, mut rec) = setup().await;
    t.start("a", C::rate_per(5, MS(1000))).await.unwrap();
    t.start("b", C::rate_per(1, MS(60_000))).await.unwrap();
    t.wait("b").await.unwrap();
    let waiter = {
        let t = t.clone();
        actix_rt::spawn(async move { t.wait("b").await.map(drop) })
    };
    rec.drain();
    // Five restarts within 10 s are allowed.
    for i in 1..=5 {
        t.crash_owner_for_test("a").await.unwrap();
        assert_eq!(
            t.info("a").await.unwrap().rate,
            Rate::Finite(5),
            "after crash {i}"
        );
    }
    let ev = rec.drain();
    assert_eq!(count(&ev, &names::THROTTLE_INIT), 5, "{ev:?}");
    // The sixth makes the supervisor give up (SPEC 3.5): every throttle stops.
    t.crash_owner_for_test("a").await.unwrap();
    let w = tokio::time::timeout(TIMEOUT, waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w, Err(ThrottleError::Stopped));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.info("a")).await.unwrap()
    ));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.info("b")).await.unwrap()
    ));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.wait("a")).await.unwrap()
    ));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.wait("b")).await.unwrap()
    ));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.pause("b")).await.unwrap()
    ));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.change_rate("b", C::rate(5)))
            .await
            .unwrap()
    ));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.stop("b")).await.unwrap()
    ));
    assert!(is_down(&t.run("b", async {})));
    assert!(is_down(
        &tokio::time::timeout(TIMEOUT, t.start("c", C::rate(5)))
            .await
            .unwrap()
    ));
    assert!(t.names().is_empty());
    let Err(ThrottleError::SupervisorDown(why)) = t.info("a").await else {
        unreachable!()
    };
    assert!(why.contains("gave up"), "{why}");
}

#[actix_rt::test]
async fn restarts_age_out_of_the_intensity_window() {
    tokio::time::pause();
    let (t, _rec) = setup().await;
    t.start("a", C::rate_per(5, MS(1000))).await.unwrap();
    for _ in 0..5 {
        t.crash_owner_for_test("a").await.unwrap();
    }
    // More than 10 s later the five earlier restarts no longer count.
    tokio::time::sleep(MS(10_500)).await;
    for _ in 0..5 {
        t.crash_owner_for_test("a").await.unwrap();
    }
    assert_eq!(t.info("a").await.unwrap().rate, Rate::Finite(5));
}
