//! Building an app the way the controller tests need it, and polling its status.

use std::time::Duration;

use amoc::app::{App, AppBuilder};
use amoc::config::MapEnv;
use amoc::Value;

/// Settings that start users as fast as they are added.
pub fn infinity() -> Vec<(String, Value)> {
    vec![("user_rate".into(), Value::from("infinity"))]
}

/// Two shards, a 200 ms removal grace, no `AMOC_*` variables; add scenarios and `start`.
pub fn builder() -> AppBuilder {
    App::builder()
        .shards(2)
        .removal_grace(Duration::from_millis(200))
        .env(MapEnv::new())
}

/// Polls `f` every 10 ms until it holds; panics after [`super::TIMEOUT`].
pub async fn eventually(mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + super::TIMEOUT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within {:?}",
            super::TIMEOUT
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
