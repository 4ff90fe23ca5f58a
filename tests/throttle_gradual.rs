//! SPEC 6.7 cases 9–11 (gradual changes), 18 (stop during a plan) and 23 (step timings).

#[path = "throttle_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::telemetry::{names, test::Recorder, EventPattern, Telemetry};
use amoc::throttle::{GradualPlan, Rate, ThrottleConfig as C, ThrottleError, Throttles};
use common::throttles;
use proptest::prelude::*;
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[actix_rt::test]
async fn change_rate_gradually() {
    let t = throttles();
    let plan = GradualPlan::new(10, 3000)
        .interval(MS(1))
        .every(MS(100), 300);
    assert_eq!(
        t.change_rate_gradually("n", plan).await,
        Err(ThrottleError::NoSuchThrottle("n".into()))
    );
    t.start("n", C::rate(10)).await.unwrap();
    assert_eq!(t.change_rate_gradually("n", plan).await, Ok(()));
    assert_eq!(
        t.change_rate_gradually("n", plan).await,
        Err(ThrottleError::GradualChangeInProgress)
    );
    assert_eq!(
        t.change_rate("n", C::rate(5)).await,
        Err(ThrottleError::GradualChangeInProgress)
    );
    assert_eq!(
        t.unlock("n").await,
        Err(ThrottleError::GradualChangeInProgress)
    );
    // Identical to the current step: a no-op success.
    assert_eq!(t.change_rate("n", C::rate_per(10, MS(1))).await, Ok(()));
    let info = t.info("n").await.unwrap();
    let g = info.gradual.expect("plan in progress");
    assert_eq!((g.step, g.steps), (0, 300));
}

#[actix_rt::test]
async fn change_interarrival_gradually() {
    let t = throttles();
    let plan = GradualPlan::from_interarrival(MS(10), MS(3000)).every(MS(10), 1000);
    assert!(matches!(
        t.change_rate_gradually("n", plan).await,
        Err(ThrottleError::NoSuchThrottle(_))
    ));
    t.start("n", C::rate(10)).await.unwrap();
    assert_eq!(t.change_rate_gradually("n", plan).await, Ok(()));
    assert_eq!(
        t.change_rate_gradually("n", plan).await,
        Err(ThrottleError::GradualChangeInProgress)
    );
    assert_eq!(
        t.change_rate("n", C::rate(5)).await,
        Err(ThrottleError::GradualChangeInProgress)
    );
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(6000));
}

fn check(plan: GradualPlan, len: usize, first: u64, last: u64, interval: Duration) {
    let s = plan.resolve().unwrap();
    let rates: Vec<u64> = s.rates().collect();
    assert_eq!(rates.len(), len, "{plan:?}");
    assert_eq!((rates[0], rates[len - 1]), (first, last));
    assert_eq!(s.interval, interval);
    if first <= last {
        assert!(rates.windows(2).all(|w| w[0] <= w[1]), "ascending");
    } else {
        assert!(rates.windows(2).all(|w| w[0] >= w[1]), "descending");
    }
}

#[test]
fn change_rate_gradually_verify_descriptions() {
    let min = MS(60_000);
    check(
        GradualPlan::new(80, 5000)
            .interval(MS(15_000))
            .every(MS(50), 984),
        985,
        80,
        5000,
        MS(15_000),
    );
    check(
        GradualPlan::new(5000, 80)
            .interval(MS(1000))
            .every(MS(10), 4920),
        4921,
        5000,
        80,
        MS(1000),
    );
    check(
        GradualPlan::new(1200, 4000).every(MS(100), 100),
        101,
        1200,
        4000,
        min,
    );
    check(
        GradualPlan::new(4000, 1200).every(MS(100), 100),
        101,
        4000,
        1200,
        min,
    );
    let ia = |a, b| GradualPlan::from_interarrival(MS(a), MS(b));
    check(ia(1000, 100).every(MS(100), 100), 101, 60, 600, min);
    check(ia(100, 1000).every(MS(100), 100), 101, 600, 60, min);
    // The same six spread over a duration: steps of 100 ms.
    let ten = MS(600_000);
    let thirty = MS(1_800_000);
    check(
        GradualPlan::new(80, 5000).interval(MS(15_000)).over(ten),
        6001,
        80,
        5000,
        MS(15_000),
    );
    check(
        GradualPlan::new(5000, 80).interval(MS(1000)).over(thirty),
        18_001,
        5000,
        80,
        MS(1000),
    );
    check(
        GradualPlan::new(1200, 4000).over(ten),
        6001,
        1200,
        4000,
        min,
    );
    check(
        GradualPlan::new(4000, 1200).over(thirty),
        18_001,
        4000,
        1200,
        min,
    );
    check(ia(1000, 100).over(ten), 6001, 60, 600, min);
    check(ia(100, 1000).over(thirty), 18_001, 600, 60, min);
    assert_eq!(
        GradualPlan::new(80, 5000)
            .over(ten)
            .resolve()
            .unwrap()
            .step_interval,
        MS(100)
    );
    assert!(matches!(
        GradualPlan::new(1, 2).resolve(),
        Err(ThrottleError::InvalidPlan(_))
    ));
}

/// Reference rounding: `from + round((to − from)·i / K)`, half away from zero, done as
/// `(2·num ± K) / 2K` truncated.
fn reference(from: u64, to: u64, k: u64, i: u64) -> u64 {
    let num = (i128::from(to) - i128::from(from)) * i128::from(i);
    let k = i128::from(k);
    let q = (2 * num + num.signum() * k) / (2 * k);
    (i128::from(from) + q) as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(65_536))]
    #[test]
    fn change_rate_gradually_verify_descriptions_properties(
        from in 0u64..=(1 << 61),
        to in 0u64..=(1 << 61),
        interval in 1u64..=(1 << 24),
        step in 1u64..=256,
        count in 1u64..=(1 << 24),
        probes in proptest::collection::vec(any::<u64>(), 8),
    ) {
        let s = GradualPlan::new(from, to).interval(MS(interval)).every(MS(step), count).resolve().unwrap();
        prop_assert_eq!(s.rates().size_hint().0 as u64, count + 1);
        prop_assert_eq!(s.rate_at(0), from);
        prop_assert_eq!(s.rate_at(count), to);
        let mut idx: Vec<u64> = probes.iter().map(|p| p % (count + 1)).collect();
        idx.extend([0, 1.min(count), count - 1, count]);
        idx.sort_unstable();
        let rates: Vec<u64> = idx.iter().map(|&i| s.rate_at(i)).collect();
        for (&i, &r) in idx.iter().zip(&rates) {
            prop_assert_eq!(r, reference(from, to, count, i));
        }
        if from <= to {
            prop_assert!(rates.windows(2).all(|w| w[0] <= w[1]));
        } else {
            prop_assert!(rates.windows(2).all(|w| w[0] >= w[1]));
        }
    }
}

#[actix_rt::test]
async fn gradual_steps_apply_on_time() {
    tokio::time::pause();
    let t = throttles();
    t.start("n", C::rate_per(10, MS(1000))).await.unwrap();
    let t0 = Instant::now();
    let plan = GradualPlan::new(10, 50)
        .interval(MS(1000))
        .every(MS(100), 4);
    t.change_rate_gradually("n", plan).await.unwrap();
    tokio::time::sleep_until(t0 + MS(150)).await;
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(20));
    tokio::time::sleep_until(t0 + MS(250)).await;
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(30));
    tokio::time::sleep_until(t0 + MS(550)).await;
    let info = t.info("n").await.unwrap();
    assert_eq!((info.rate, info.gradual), (Rate::Finite(50), None));
    // Another plan is accepted once this one is done.
    t.change_rate_gradually("n", plan).await.unwrap();
}

#[actix_rt::test]
async fn stop_during_a_gradual_plan_cancels_it() {
    let tel = Telemetry::new();
    tel.start();
    let t = Throttles::new(tel.clone());
    let mut rec = Recorder::attach(&tel, [EventPattern::from(&names::THROTTLE_RATE)])
        .await
        .unwrap();
    t.start("n", C::rate_per(10, MS(1000))).await.unwrap();
    let plan = GradualPlan::new(10, 50)
        .interval(MS(1000))
        .every(MS(100), 4);
    t.change_rate_gradually("n", plan).await.unwrap();
    let before = rec.take(3, common::TIMEOUT).await.len(); // start, step 0, step 1 (100 ms)
    assert_eq!(before, 3);
    assert_eq!(t.stop("n").await, Ok(()));
    rec.assert_no_event(MS(500)).await;
    assert!(matches!(
        t.info("n").await,
        Err(ThrottleError::NoSuchThrottle(_))
    ));
}

#[actix_rt::test]
async fn pause_during_a_plan_keeps_its_timeline() {
    tokio::time::pause();
    let t = throttles();
    t.start("n", C::rate_per(10, MS(1000))).await.unwrap();
    let t0 = Instant::now();
    t.change_rate_gradually(
        "n",
        GradualPlan::new(10, 50)
            .interval(MS(1000))
            .every(MS(100), 4),
    )
    .await
    .unwrap();
    t.pause("n").await.unwrap();
    tokio::time::sleep_until(t0 + MS(250)).await;
    let info = t.info("n").await.unwrap();
    assert_eq!((info.rate, info.paused), (Rate::Finite(30), true));
    tokio::time::sleep_until(t0 + MS(550)).await;
    let info = t.info("n").await.unwrap();
    assert_eq!(
        (info.rate, info.paused, info.gradual),
        (Rate::Finite(50), true, None)
    );
}
