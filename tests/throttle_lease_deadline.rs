//! The node's cluster lease is checked where permits are granted: past its deadline a leased
//! throttle grants nothing, whatever share it holds, until renewed. A node woken after a
//! freeze (SIGSTOP, SIGCONT) runs its throttles before its cluster agent sees the lapse; the
//! real-process case is `a_woken_worker_never_grants_on_its_lapsed_lease` in
//! `actors/tests/cluster_throttle.rs`.

use std::time::Duration;

use amoc::telemetry::Telemetry;
use amoc::throttle::{ThrottleConfig, Throttles};
use tokio::time::{timeout, Instant};

const SECOND: Duration = Duration::from_secs(1);
/// Long enough for any permit a share of 1 000/s would give to show.
const QUIET: Duration = Duration::from_millis(300);
/// The bound on a permit that must come (CI is a busy 2-core machine).
const SOON: Duration = Duration::from_secs(10);

#[actix_rt::test]
async fn a_lapsed_lease_grants_nothing_until_renewed() {
    let t = Throttles::new(Telemetry::new());
    let leased = t.lease_shares();
    t.start("n", ThrottleConfig::rate_per(1_000, SECOND))
        .await
        .unwrap();
    leased.apply("n", 1_000, SECOND).await.unwrap();
    leased.renew_until(Instant::now() + Duration::from_millis(200));
    assert!(timeout(SOON, t.wait("n")).await.is_ok_and(|p| p.is_ok()));

    // Past the deadline, the share of 1 000/s is still applied, and nothing passes.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let before = leased.usage("n").await.unwrap().granted;
    assert!(
        timeout(QUIET, t.wait("n")).await.is_err(),
        "granted on a lapsed lease"
    );
    assert_eq!(leased.usage("n").await.unwrap().granted, before);

    // Renewed: the waiting request passes.
    let waiting = tokio::spawn({
        let t = t.clone();
        async move { t.wait("n").await }
    });
    // Renewed once the request waits (a state, not a pause).
    while leased.usage("n").await.unwrap().waiting == 0 {
        tokio::task::yield_now().await;
    }
    leased.renew_until(Instant::now() + SOON);
    let permit = timeout(SOON, waiting).await;
    assert!(permit.is_ok_and(|r| r.is_ok_and(|p| p.is_ok())));

    // Lapsed on purpose: nothing passes at once.
    leased.lapse();
    assert!(
        timeout(QUIET, t.wait("n")).await.is_err(),
        "granted after lapse()"
    );
}

#[actix_rt::test]
async fn throttles_that_are_not_leased_ignore_the_lease() {
    let t = Throttles::new(Telemetry::new());
    let leased = t.lease_shares();
    t.start("free", ThrottleConfig::unlimited()).await.unwrap();
    t.start("rate", ThrottleConfig::rate_per(1_000, SECOND))
        .await
        .unwrap();
    // `rate` leaves the cluster: it becomes unlimited, applied locally.
    t.change_rate("rate", ThrottleConfig::unlimited())
        .await
        .unwrap();
    leased.lapse();
    for name in ["free", "rate"] {
        assert!(timeout(SOON, t.wait(name)).await.is_ok_and(|p| p.is_ok()));
    }
}
