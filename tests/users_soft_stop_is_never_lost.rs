//! Stress: `stop_scenario` asks every running user to stop, every time. Thousands of runs
//! of 1 000 users that await `user.stopping()` must all end (`ended`), never be aborted after
//! the removal grace (`killed`). A lost stop request in one run out of hundreds used to
//! count the whole run killed.

mod common;

use std::time::{Duration, Instant};

use amoc::controller::StatusKind;
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use common::app::{builder, infinity, users_until};

/// Users wait for the stop request, then return.
struct Polite;

impl Scenario for Polite {
    const NAME: &'static str = "polite";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        user.stopping().await;
        Ok(())
    }
}

/// At most this many cycles…
const CYCLES: u32 = 2_000;
/// …and no more cycles once this much time went by (a busy machine runs fewer).
const BUDGET: Duration = Duration::from_secs(30);

#[actix_rt::test]
async fn a_thousand_users_awaiting_stopping_all_end_in_every_run() {
    let app = builder()
        .scenario(Polite)
        .start()
        .await
        .expect("app starts");
    let c = app.controller();
    let begun = Instant::now();
    let mut cycles = 0;
    while cycles < CYCLES && begun.elapsed() < BUDGET {
        c.run(Polite::NAME, 1_000, infinity()).await.unwrap();
        users_until(c, |u| u.running == 1_000).await;
        c.stop_scenario().await.unwrap();
        assert_eq!(c.wait_finished().await, StatusKind::Finished);
        let users = c.status().users;
        assert_eq!(
            (users.ended, users.killed, users.crashed, users.cancelled),
            (1_000, 0, 0, 0),
            "run {cycles}: {users:?}"
        );
        cycles += 1;
    }
    assert!(cycles >= 100, "only {cycles} runs in {BUDGET:?}");
    app.shutdown().await;
}
