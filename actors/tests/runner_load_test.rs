//! `LoadTest`: one test from code, with a `SimpleScenario` (no `init`, state from `Default`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amoc::prelude::*;
use amoc_actors::{LoadTest, Progress, RunError};

/// Each user takes one step and ends; `terminate` reports the count kept in the state.
struct Step {
    seen: Arc<AtomicU64>,
}

impl SimpleScenario for Step {
    const NAME: &'static str = "step";
    type State = AtomicU64;
    type Message = ();

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        user.state().fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn terminate(&self, state: Arc<AtomicU64>, _: RunContext) -> Result<(), ScenarioError> {
        self.seen
            .store(state.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(())
    }
}

#[actix_rt::test]
async fn a_test_ends_when_every_user_has_ended() {
    let seen = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let outcome = LoadTest::new(Step { seen: seen.clone() })
        .users(7)
        .duration(Duration::from_secs(60))
        .set("user_rate", "infinity")
        .shards(2)
        .progress(Progress::Off)
        .run()
        .await
        .expect("the test runs");
    assert!(started.elapsed() < Duration::from_secs(30), "ended early");
    assert_eq!(outcome.status.users.ended, 7);
    assert_eq!(
        seen.load(Ordering::Relaxed),
        7,
        "one default state for the run"
    );
    assert_eq!(outcome.stopped_by, None);
    assert_eq!(outcome.exit_code(), 0);
}

#[actix_rt::test]
async fn no_users_is_an_invalid_test() {
    let seen = Arc::new(AtomicU64::new(0));
    let err = LoadTest::new(Step { seen })
        .users(0)
        .progress(Progress::Off)
        .run()
        .await
        .expect_err("refused");
    assert!(matches!(err, RunError::InvalidPlan(_)), "{err}");
}

#[actix_rt::test]
async fn a_refused_setting_is_an_error_of_the_run() {
    let seen = Arc::new(AtomicU64::new(0));
    let err = LoadTest::new(Step { seen })
        .set("user_rate", "fast")
        .progress(Progress::Off)
        .run()
        .await
        .expect_err("refused");
    assert!(
        err.to_string()
            .contains("expected a non-negative integer or \"infinity\""),
        "{err}"
    );
}
