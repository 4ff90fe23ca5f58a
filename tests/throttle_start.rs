//! SPEC 6.7 cases 1–5, 16 (`get_state`), 18 (unknown names), 22 (`interarrival(2 min)`) and
//! the `user_rate` reservation (5.3).

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::throttle::{GradualPlan, Rate, StartOutcome, ThrottleConfig as C, ThrottleError};
use amoc::user_rate::THROTTLE as USER_RATE;
use common::throttles;

const MS: fn(u64) -> Duration = Duration::from_millis;

async fn rate_interval(t: &amoc::throttle::Throttles, name: &str) -> (Rate, Duration) {
    let i = t.info(name).await.unwrap();
    (i.rate, i.interval)
}

#[actix_rt::test]
async fn start() {
    let t = throttles();
    assert_eq!(t.start("n", C::rate(100)).await, Ok(StartOutcome::Started));
    assert_eq!(
        t.start("n", C::rate(100)).await,
        Ok(StartOutcome::AlreadyStarted)
    );
    assert_eq!(
        t.start("n", C::rate(101)).await,
        Err(ThrottleError::WrongReconfiguration {
            current: C::rate(100),
            requested: C::rate(101)
        })
    );
}

#[actix_rt::test]
async fn start_descriptive() {
    let t = throttles();
    assert_eq!(
        t.start("n", C::rate_per(100, MS(5000))).await,
        Ok(StartOutcome::Started)
    );
    assert_eq!(rate_interval(&t, "n").await, (Rate::Finite(100), MS(5000)));
}

#[actix_rt::test]
async fn start_interarrival() {
    let t = throttles();
    t.start("n", C::interarrival(MS(50))).await.unwrap();
    assert_eq!(
        rate_interval(&t, "n").await,
        (Rate::Finite(1200), MS(60_000))
    );
}

#[actix_rt::test]
async fn start_interarrival_zero() {
    let t = throttles();
    t.start("n", C::interarrival(MS(0))).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await.0, Rate::Unlimited);
}

#[actix_rt::test]
async fn start_interarrival_infinity() {
    let t = throttles();
    t.start("n", C::interarrival_never()).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await, (Rate::Finite(0), MS(60_000)));
}

#[actix_rt::test]
async fn start_rate_zero() {
    let t = throttles();
    t.start("n", C::rate(0)).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await, (Rate::Finite(0), MS(60_000)));
}

#[actix_rt::test]
async fn start_rate_infinity() {
    let t = throttles();
    t.start("n", C::unlimited()).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await.0, Rate::Unlimited);
}

#[actix_rt::test]
async fn start_interval_zero() {
    let t = throttles();
    t.start("n", C::rate_per(60, MS(0))).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await, (Rate::Finite(60), MS(0)));
}

#[actix_rt::test]
async fn low_rate_does_not_get_remapped() {
    let t = throttles();
    t.start("n", C::rate_per(2, MS(100))).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await, (Rate::Finite(2), MS(100)));
}

#[actix_rt::test]
async fn low_interval_does_not_get_remapped() {
    let t = throttles();
    t.start("n", C::rate_per(1, MS(1))).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await, (Rate::Finite(1), MS(1)));
}

#[actix_rt::test]
async fn start_and_stop() {
    let t = throttles();
    t.start("n", C::rate(100)).await.unwrap();
    assert_eq!(t.stop("n").await, Ok(()));
    assert_eq!(
        t.info("n").await,
        Err(ThrottleError::NoSuchThrottle("n".into()))
    );
    assert_eq!(t.start("n", C::rate(100)).await, Ok(StartOutcome::Started));
}

#[actix_rt::test]
async fn get_state() {
    let t = throttles();
    t.start("n", C::rate_per(100, MS(60_000))).await.unwrap();
    let info = t.info("n").await.unwrap();
    assert_eq!(
        (info.rate, info.interval, info.paused),
        (Rate::Finite(100), MS(60_000), false)
    );
    assert_eq!(info.gradual, None);
}

#[actix_rt::test]
async fn interarrival_above_a_minute_is_one_per_interarrival() {
    let t = throttles();
    t.start("n", C::interarrival(MS(120_000))).await.unwrap();
    assert_eq!(rate_interval(&t, "n").await, (Rate::Finite(1), MS(120_000)));
}

#[actix_rt::test]
async fn invalid_configs_and_names() {
    let t = throttles();
    assert!(matches!(
        t.start("n", C::rate_per(1, Duration::from_micros(100)))
            .await,
        Err(ThrottleError::InvalidConfig(_))
    ));
    assert!(matches!(
        t.start("n", C::rate_per(1, MS((1 << 32) + 1))).await,
        Err(ThrottleError::InvalidConfig(_))
    ));
    assert_eq!(
        t.start("", C::rate(1)).await,
        Err(ThrottleError::InvalidName)
    );
    t.start("n", C::rate(1)).await.unwrap();
    assert!(matches!(
        t.change_rate("n", C::rate_per(1, Duration::from_micros(1500)))
            .await,
        Err(ThrottleError::InvalidConfig(_))
    ));
}

#[actix_rt::test]
async fn every_operation_on_an_unknown_name_is_an_error() {
    let t = throttles();
    let no = || Err::<(), _>(ThrottleError::NoSuchThrottle("x".into()));
    assert_eq!(t.stop("x").await, no());
    assert_eq!(t.wait("x").await.map(drop), no());
    let (r, _rx) = common::sink();
    assert_eq!(t.send("x", r, common::Msg(1)), no());
    assert_eq!(t.run("x", async {}).map(drop), no());
    assert_eq!(t.pause("x").await, no());
    assert_eq!(t.resume("x").await, no());
    assert_eq!(t.change_rate("x", C::rate(1)).await, no());
    assert_eq!(t.unlock("x").await, no());
    let plan = GradualPlan::new(1, 2).every(MS(10), 2);
    assert_eq!(t.change_rate_gradually("x", plan).await, no());
    assert_eq!(t.info("x").await.map(drop), no());
    // The registry still works.
    assert_eq!(t.start("x", C::rate(1)).await, Ok(StartOutcome::Started));
}

#[actix_rt::test]
async fn user_rate_is_reserved_for_its_owner() {
    let t = throttles();
    let r = t.reserve(USER_RATE).unwrap();
    assert_eq!(
        t.reserve(USER_RATE),
        Err(ThrottleError::Reserved(USER_RATE.into()))
    );
    let reserved = Err(ThrottleError::Reserved(USER_RATE.into()));
    assert_eq!(t.start(USER_RATE, C::rate(1200)).await, reserved.clone());
    assert_eq!(
        t.start_reserved(&r, C::rate(1200)).await,
        Ok(StartOutcome::Started)
    );
    // Rate operations are allowed to everyone.
    t.change_rate(USER_RATE, C::rate(60)).await.unwrap();
    t.pause(USER_RATE).await.unwrap();
    t.resume(USER_RATE).await.unwrap();
    assert_eq!(t.stop(USER_RATE).await, reserved.map(drop));
    t.stop_reserved(&r).await.unwrap();
    t.release(r);
    assert_eq!(
        t.start(USER_RATE, C::rate(1)).await,
        Ok(StartOutcome::Started)
    );
    t.stop(USER_RATE).await.unwrap();
}
