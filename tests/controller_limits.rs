//! The controller's limits: adds beyond the maximum of users, and stopping one of many
//! waiting users.

mod common;

use amoc::controller::{ControllerError, StatusKind};
use amoc::user_rate::UserRate;
use common::app::{app_of_ported_scenarios, builder, infinity, users_until};
use common::scenarios::*;

#[actix_rt::test]
async fn adds_beyond_max_users_are_refused() {
    let app = builder()
        .scenario(Idle::default())
        .max_users(1000)
        .start()
        .await
        .unwrap();
    let c = app.controller();
    c.start_scenario("idle", infinity()).await.unwrap();
    assert_eq!(
        c.add_users(1_000_000_000_000).await,
        Err(ControllerError::TooManyUsers {
            adding: 1_000_000_000_000,
            live: 0,
            max: 1000
        })
    );
    assert_eq!(c.add_users(600).await.map(|r| r.last), Ok(600));
    users_until(c, |u| u.running == 600).await;
    assert!(matches!(
        c.add_users(600).await,
        Err(ControllerError::TooManyUsers { live: 600, .. })
    ));
    assert_eq!(c.add_users(400).await.map(|r| r.last), Ok(1000));
    // The refused adds used no ids, and removals still answer.
    assert_eq!(c.status().highest_user_id, 1000);
    assert_eq!(c.remove_users(10, true).await, Ok(10));
    app.shutdown().await;
}

#[actix_rt::test]
async fn stopping_one_of_many_waiting_users_cancels_only_it() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    let zero_rate = vec![UserRate::PerMinute(0).setting()];
    c.run("idle", 200_000, zero_rate).await.unwrap();
    // 100 000 per shard take several turns to spawn: the last ids are likely still pending.
    assert_eq!(c.stop_user(200_000, false).await, Ok(()));
    assert_eq!(c.stop_user(150_001, false).await, Ok(()));
    users_until(c, |u| u.cancelled == 2).await;
    users_until(c, |u| u.waiting == 199_998).await;
    assert_eq!(c.remove_users(1, false).await, Ok(0), "nobody runs");
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    assert_eq!(c.status().users.cancelled, 200_000);
    app.shutdown().await;
}
