//! A registry in cluster mode (`Throttles::lease_shares`): which throttles are leased, what
//! `start`, `change_rate`, `change_rate_gradually` and `stop` do to them, and the share the
//! cluster agent applies.

use std::time::Duration;

use amoc::telemetry::Telemetry;
use amoc::throttle::{GradualPlan, Rate, ThrottleConfig, ThrottleError, Throttles};

const SECOND: Duration = Duration::from_secs(1);

#[actix_rt::test]
async fn finite_rates_concurrency_limits_and_user_rate_are_leased_others_stay_local() {
    let t = Throttles::new(Telemetry::new());
    let leased = t.lease_shares();
    t.start("rate", ThrottleConfig::rate_per(100, SECOND))
        .await
        .unwrap();
    t.start("conc", ThrottleConfig::concurrency(3))
        .await
        .unwrap();
    t.start("free", ThrottleConfig::unlimited()).await.unwrap();
    let r = t.reserve("user_rate").unwrap();
    t.start_reserved(&r, ThrottleConfig::rate(60))
        .await
        .unwrap();
    let declared = leased.declared();
    // The controller's reserved `user_rate` belongs to the master's run (SPEC 9).
    assert_eq!(
        declared.keys().collect::<Vec<_>>(),
        vec!["conc", "rate", "user_rate"]
    );
    assert_eq!(declared["user_rate"], ThrottleConfig::rate(60));
    assert_eq!(t.info("rate").await.unwrap().rate, Rate::Finite(0));
    assert_eq!(t.info("conc").await.unwrap().rate, Rate::Finite(0));
    assert_eq!(t.info("free").await.unwrap().rate, Rate::Unlimited);
    assert_eq!(t.info("user_rate").await.unwrap().rate, Rate::Finite(0));
    // Unlimited, it leaves the cluster and costs nothing; finite again, it rejoins at 0.
    t.change_rate("user_rate", ThrottleConfig::unlimited())
        .await
        .unwrap();
    assert!(!leased.declared().contains_key("user_rate"));
    assert_eq!(t.info("user_rate").await.unwrap().rate, Rate::Unlimited);
    t.change_rate("user_rate", ThrottleConfig::rate(600))
        .await
        .unwrap();
    assert_eq!(leased.declared()["user_rate"], ThrottleConfig::rate(600));
    assert_eq!(t.info("user_rate").await.unwrap().rate, Rate::Finite(0));
    t.stop_reserved(&r).await.unwrap();
    assert!(!leased.declared().contains_key("user_rate"));
    // A permit passes once a share is applied.
    leased.apply("rate", 10, SECOND).await.unwrap();
    let permit = tokio::time::timeout(SECOND, t.wait("rate")).await;
    assert!(permit.is_ok_and(|p| p.is_ok()));
    assert_eq!(leased.usage("rate").await.unwrap().granted, 1);
    assert!(matches!(
        leased.apply("conc", 1, SECOND).await,
        Err(ThrottleError::InvalidConfig(_))
    ));
    assert_eq!(
        leased.apply("free", 1, SECOND).await,
        Err(ThrottleError::NoSuchThrottle("free".into()))
    );
    leased.apply("conc", 2, Duration::ZERO).await.unwrap();
    assert_eq!(t.info("conc").await.unwrap().rate, Rate::Finite(2));
}

#[actix_rt::test]
async fn a_concurrency_limit_keeps_its_kind_and_its_permits_outlive_a_stop() {
    let t = Throttles::new(Telemetry::new());
    let leased = t.lease_shares();
    t.start("c", ThrottleConfig::concurrency(5)).await.unwrap();
    leased.apply("c", 2, Duration::ZERO).await.unwrap();
    let permit = t.wait("c").await.unwrap();
    assert_eq!(leased.usage("c").await.unwrap().in_flight, 1);
    // Another limit of the same kind changes the declared one; a rate is refused.
    t.change_rate("c", ThrottleConfig::concurrency(4))
        .await
        .unwrap();
    assert_eq!(leased.declared()["c"], ThrottleConfig::concurrency(4));
    assert!(matches!(
        t.change_rate("c", ThrottleConfig::rate(4)).await,
        Err(ThrottleError::InvalidConfig(_))
    ));
    // Stopped with a permit out: it keeps counting under the name, also once restarted.
    t.stop("c").await.unwrap();
    assert_eq!(leased.retired_in_flight("c"), 1);
    t.start("c", ThrottleConfig::concurrency(4)).await.unwrap();
    assert_eq!(leased.usage("c").await.unwrap().in_flight, 1);
    drop(permit);
    assert_eq!(leased.retired_in_flight("c"), 0);
    assert_eq!(leased.usage("c").await.unwrap().in_flight, 0);
}

#[actix_rt::test]
async fn changes_go_to_the_declared_rate_and_stop_forgets_it() {
    let t = Throttles::new(Telemetry::new());
    let leased = t.lease_shares();
    let mut changes = leased.changes();
    t.start("n", ThrottleConfig::rate_per(100, SECOND))
        .await
        .unwrap();
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();
    leased.apply("n", 40, SECOND).await.unwrap();
    t.change_rate("n", ThrottleConfig::rate_per(50, SECOND))
        .await
        .unwrap();
    assert!(changes.has_changed().unwrap());
    assert_eq!(leased.declared()["n"], ThrottleConfig::rate_per(50, SECOND));
    assert_eq!(
        t.info("n").await.unwrap().rate,
        Rate::Finite(40),
        "the share stays"
    );
    assert!(matches!(
        t.start("n", ThrottleConfig::rate_per(100, SECOND)).await,
        Err(ThrottleError::WrongReconfiguration { .. })
    ));
    let plan = GradualPlan::new(10, 20).every(Duration::from_millis(10), 2);
    assert!(matches!(
        t.change_rate_gradually("n", plan).await,
        Err(ThrottleError::InvalidPlan(_))
    ));
    // To unlimited: no longer a cluster throttle.
    t.change_rate("n", ThrottleConfig::unlimited())
        .await
        .unwrap();
    assert!(leased.declared().is_empty());
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Unlimited);
    // Back to a finite rate: leased again, from share 0.
    t.change_rate("n", ThrottleConfig::rate_per(70, SECOND))
        .await
        .unwrap();
    assert_eq!(t.info("n").await.unwrap().rate, Rate::Finite(0));
    t.stop("n").await.unwrap();
    assert!(leased.declared().is_empty());
}

#[actix_rt::test]
async fn a_home_throttle_lets_its_oldest_waiter_through_one_at_a_time() {
    let t = Throttles::new(Telemetry::new());
    let leased = t.lease_shares();
    t.start("n", ThrottleConfig::rate_per(20, SECOND))
        .await
        .unwrap();
    assert_eq!(leased.grant_oldest("n"), Ok(false));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..3 {
        let (t, tx) = (t.clone(), tx.clone());
        actix_rt::spawn(async move {
            let p = t.wait("n").await;
            let _ = tx.send((i, p));
        });
        leased.arrivals("n").await.unwrap();
    }
    assert_eq!(leased.demand("n"), Ok(3));
    for i in 0..3 {
        let before = tokio::time::Instant::now();
        assert_eq!(leased.grant_oldest("n"), Ok(true));
        let (who, p) = tokio::time::timeout(SECOND, rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(who, i, "FIFO: the oldest first");
        let p = p.unwrap();
        assert!(p.granted_at() >= before && p.due_at() == p.granted_at());
        // Exactly one per call.
        assert!(rx.try_recv().is_err());
    }
    assert_eq!(leased.grant_oldest("n"), Ok(false));
    assert_eq!(leased.usage("n").await.unwrap().granted, 3);
    // Paused: nothing is asked for, nothing passes.
    let waiter = {
        let t = t.clone();
        actix_rt::spawn(async move { t.wait("n").await })
    };
    leased.arrivals("n").await.unwrap();
    t.pause("n").await.unwrap();
    assert_eq!(leased.demand("n"), Ok(0));
    assert_eq!(leased.grant_oldest("n"), Ok(false));
    t.resume("n").await.unwrap();
    assert_eq!(leased.grant_oldest("n"), Ok(true));
    assert!(waiter.await.unwrap().is_ok());
    assert_eq!(
        leased.grant_oldest("local"),
        Err(ThrottleError::NoSuchThrottle("local".into()))
    );
}
