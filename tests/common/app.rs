//! Building an app the way the controller tests need it, and awaiting its status.

use std::time::Duration;

use amoc::app::{App, AppBuilder};
use amoc::config::MapEnv;
use amoc::controller::{Controller, StatusKind};
use amoc::user_rate::UserRate;
use amoc::users::UserCounts;
use amoc::Value;

/// Settings that start users as fast as they are added.
pub fn infinity() -> Vec<(String, Value)> {
    vec![UserRate::Infinity.setting()]
}

/// Two shards, a 200 ms removal grace, no `AMOC_*` variables; add scenarios and `start`.
pub fn builder() -> AppBuilder {
    App::builder()
        .shards(2)
        .removal_grace(Duration::from_millis(200))
        .env(MapEnv::new())
}

/// A started app with the controller suite's scenarios: `Idle`, `Stubborn`, `Configured`,
/// `Crashy` (see [`super::scenarios`]).
pub async fn app_of_ported_scenarios() -> App {
    use super::scenarios::{Configured, Crashy, Idle, Stubborn};
    builder()
        .scenario(Idle::default())
        .scenario(Stubborn)
        .scenario(Configured)
        .scenario(Crashy)
        .start()
        .await
        .unwrap()
}

/// Waits until the users' counters satisfy `f` (re-checked on every change); panics after
/// [`super::TIMEOUT`].
pub async fn users_until(c: &Controller, f: impl FnMut(&UserCounts) -> bool) -> UserCounts {
    match tokio::time::timeout(super::TIMEOUT, c.users().wait_until(f)).await {
        Ok(counts) => counts,
        Err(_) => panic!("users never got there; now {:?}", c.status().users),
    }
}

/// Waits until the controller's state is `kind`; panics after [`super::TIMEOUT`].
pub async fn status_is(c: &Controller, kind: StatusKind) {
    let waited = tokio::time::timeout(super::TIMEOUT, c.wait_status(|k| k == kind)).await;
    assert!(
        waited.is_ok(),
        "state {kind} not reached; now {}",
        c.status().kind
    );
}

/// Asserts that the users' counters do not satisfy `f` within `within` (for "nothing
/// happens": a rate of 0, users that ignore a soft stop).
pub async fn users_never(c: &Controller, within: Duration, f: impl FnMut(&UserCounts) -> bool) {
    if let Ok(counts) = tokio::time::timeout(within, c.users().wait_until(f)).await {
        panic!("users got there within {within:?}: {counts:?}");
    }
}

/// Waits until `tx`'s value satisfies `f`; panics after [`super::TIMEOUT`].
pub async fn value_until<T>(tx: &tokio::sync::watch::Sender<T>, f: impl FnMut(&T) -> bool) {
    let mut rx = tx.subscribe();
    let waited = tokio::time::timeout(super::TIMEOUT, rx.wait_for(f)).await;
    assert!(matches!(waited, Ok(Ok(_))), "value not reached in time");
}
