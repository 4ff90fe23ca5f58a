//! Amoc's controller suite, ported: states, adding and removing users, stopping, errors.

mod common;

use std::time::Duration;

use amoc::app::App;
use amoc::config::MapEnv;
use amoc::controller::{ControllerError, StatusKind, StopOutcome, UserRange};
use amoc::Value;
use common::scenarios::*;

fn infinity() -> Vec<(String, Value)> {
    vec![("user_rate".into(), Value::from("infinity"))]
}

async fn app() -> App {
    App::builder()
        .scenario(Idle::default())
        .scenario(Stubborn)
        .scenario(Configured)
        .scenario(Crashy)
        .shards(2)
        .removal_grace(Duration::from_millis(200))
        .env(MapEnv::new())
        .start()
        .await
        .unwrap()
}

/// Polls until `f` holds, at most 10 s.
async fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 10 s");
}

#[actix_rt::test]
async fn no_scenario_running_status_is_idle() {
    let app = app().await;
    assert_eq!(app.controller().status().kind, StatusKind::Idle);
    app.shutdown().await;
}

#[actix_rt::test]
async fn start_scenario_check_status_and_add_users() {
    let app = app().await;
    let c = app.controller();
    c.start_scenario("idle", infinity()).await.unwrap();
    let s = c.status();
    assert_eq!(
        (s.kind, s.users.running, s.highest_user_id),
        (StatusKind::Running, 0, 0)
    );
    assert_eq!(c.add_users(10).await, Ok(UserRange { first: 1, last: 10 }));
    assert_eq!(
        c.add_users(5).await,
        Ok(UserRange {
            first: 11,
            last: 15
        })
    );
    eventually(|| c.status().users.running == 15).await;
    assert_eq!(c.status().highest_user_id, 15);
    app.shutdown().await;
}

#[actix_rt::test]
async fn stop_running_scenario_with_users_eventually_terminates() {
    let app = app().await;
    let c = app.controller();
    c.run("idle", 20, infinity()).await.unwrap();
    eventually(|| c.status().users.running == 20).await;
    let out = c.stop_scenario().await.unwrap();
    assert!(matches!(
        out,
        StopOutcome::Terminating | StopOutcome::Finished
    ));
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    assert_eq!(c.status().users.ended, 20);
    app.shutdown().await;
}

#[actix_rt::test]
async fn add_users_scenario_not_started_fails() {
    let app = app().await;
    let c = app.controller();
    assert_eq!(
        c.add_users(1).await,
        Err(ControllerError::InvalidStatus(StatusKind::Idle))
    );
    assert_eq!(
        c.remove_users(1, false).await,
        Err(ControllerError::InvalidStatus(StatusKind::Idle))
    );
    assert_eq!(
        c.stop_scenario().await,
        Err(ControllerError::InvalidStatus(StatusKind::Idle))
    );
    app.shutdown().await;
}
