//! Amoc's controller suite, ported: states, adding and removing users, stopping, errors.

mod common;

use std::time::Duration;

use amoc::controller::{ControllerError, InitError, StatusKind, StopOutcome, UserRange};
use amoc::user_rate::UserRate;
use amoc::Value;
use common::app::{
    app_of_ported_scenarios, builder, infinity, users_never, users_until, value_until,
};
use common::scenarios::*;

#[actix_rt::test]
async fn no_scenario_running_status_is_idle() {
    let app = app_of_ported_scenarios().await;
    assert_eq!(app.controller().status().kind, StatusKind::Idle);
    app.shutdown().await;
}

#[actix_rt::test]
async fn start_scenario_check_status_and_add_users() {
    let app = app_of_ported_scenarios().await;
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
    users_until(c, |u| u.running == 15).await;
    assert_eq!(c.status().highest_user_id, 15);
    app.shutdown().await;
}

#[actix_rt::test]
async fn stop_running_scenario_with_users_eventually_terminates() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("idle", 20, infinity()).await.unwrap();
    users_until(c, |u| u.running == 20).await;
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
    let app = app_of_ported_scenarios().await;
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

#[actix_rt::test]
async fn start_non_existing_scenario_fails() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    let missing = Err(ControllerError::NoSuchScenario("nope".into()));
    assert_eq!(c.start_scenario("nope", vec![]).await, missing);
    c.start_scenario("idle", infinity()).await.unwrap();
    assert_eq!(c.start_scenario("nope", vec![]).await, missing);
    assert_eq!(
        c.start_scenario("idle", vec![]).await,
        Err(ControllerError::InvalidStatus(StatusKind::Running))
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn start_scenario_without_vars_fails_and_a_corrected_start_runs() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    let err = c.start_scenario("configured", vec![]).await.unwrap_err();
    match err {
        ControllerError::Config(amoc::config::ConfigError::VerificationFailed(list)) => {
            assert_eq!(list.len(), 1);
            assert_eq!(list[0].name, "testing_var1");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(c.status().kind, StatusKind::Error);
    assert!(c.status().error.is_some());
    let undeclared = vec![("undeclared".to_owned(), Value::from(1))];
    assert!(matches!(
        c.start_scenario("configured", undeclared).await,
        Err(ControllerError::Config(_))
    ));
    let settings = vec![("testing_var1".to_owned(), Value::from("x"))];
    c.start_scenario("configured", settings).await.unwrap();
    assert_eq!(c.status().kind, StatusKind::Running);
    assert_eq!(c.status().error, None);
    app.shutdown().await;
}

#[actix_rt::test]
async fn scenario_with_failing_init_fails() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    let settings = vec![
        ("testing_var1".to_owned(), Value::from("x")),
        ("fail_init".to_owned(), Value::from(true)),
    ];
    let err = c.start_scenario("configured", settings).await.unwrap_err();
    assert!(matches!(
        err,
        ControllerError::InitFailed(InitError::Error(_))
    ));
    // The scenario's own error stays reachable as the cause.
    let cause = std::error::Error::source(&err).and_then(|e| e.source());
    assert_eq!(
        cause.map(|e| e.to_string()).as_deref(),
        Some("init failed on purpose")
    );
    assert_eq!(c.status().kind, StatusKind::Error);
    assert!(
        app.throttles().info("user_rate").await.is_err(),
        "user_rate is stopped"
    );
    // A new start works from Error.
    c.start_scenario("idle", infinity()).await.unwrap();
    app.shutdown().await;
}

#[actix_rt::test]
async fn add_user_ranges() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.start_scenario("idle", infinity()).await.unwrap();
    assert_eq!(
        c.add_user_range(6, 10).await,
        Ok(UserRange { first: 6, last: 10 })
    );
    users_until(c, |u| u.running == 5).await;
    assert_eq!(c.status().highest_user_id, 10);
    assert_eq!(
        c.add_user_range(5, 12).await,
        Err(ControllerError::InvalidRange {
            first: 5,
            last: 12,
            highest: 10
        })
    );
    assert!(matches!(
        c.add_user_range(20, 11).await,
        Err(ControllerError::InvalidRange { .. })
    ));
    assert_eq!(c.add_users(0).await, Err(ControllerError::InvalidCount));
    assert_eq!(
        c.add_user_range(20, 22).await,
        Ok(UserRange {
            first: 20,
            last: 22
        })
    );
    assert_eq!(
        c.add_users(1).await,
        Ok(UserRange {
            first: 23,
            last: 23
        })
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn killing_users_is_correct() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("idle", 200, infinity()).await.unwrap();
    users_until(c, |u| u.running == 200).await;
    assert_eq!(c.remove_users(1, true).await, Ok(1));
    users_until(c, |u| u.running == 199).await;
    assert_eq!(c.remove_users(120, true).await, Ok(120));
    users_until(c, |u| u.running == 79).await;
    assert_eq!(c.remove_users(999, false).await, Ok(79));
    users_until(c, |u| u.running == 0).await;
    assert_eq!(c.remove_users(5, true).await, Ok(0));
    let s = c.status();
    assert_eq!(
        (s.kind, s.highest_user_id, s.users.ended),
        (StatusKind::Running, 200, 200)
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn stop_running_scenario_with_no_users_immediately_terminates() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.start_scenario("idle", infinity()).await.unwrap();
    assert_eq!(c.stop_scenario().await, Ok(StopOutcome::Finished));
    assert_eq!(c.status().kind, StatusKind::Finished);
    app.shutdown().await;
}

#[actix_rt::test]
async fn stop_running_scenario_with_users_stays_in_terminating() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("stubborn", 10, infinity()).await.unwrap();
    users_until(c, |u| u.running == 10).await;
    assert_eq!(c.stop_scenario().await, Ok(StopOutcome::Terminating));
    assert_eq!(c.status().kind, StatusKind::Terminating);
    assert_eq!(
        c.add_users(1).await,
        Err(ControllerError::InvalidStatus(StatusKind::Terminating))
    );
    assert_eq!(
        c.remove_users(1, true).await,
        Err(ControllerError::InvalidStatus(StatusKind::Terminating))
    );
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    assert_eq!(c.status().users.killed, 10);
    app.shutdown().await;
}

#[actix_rt::test]
async fn user_rate_equal_zero_starts_no_users() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("idle", 1000, vec![UserRate::PerMinute(0).setting()])
        .await
        .unwrap();
    users_until(c, |u| u.waiting == 1000).await;
    users_never(c, Duration::from_millis(100), |u| u.running > 0).await;
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    let u = c.status().users;
    assert_eq!((u.waiting, u.running, u.cancelled), (0, 0, 1000));
    app.shutdown().await;
}

#[actix_rt::test]
async fn user_rate_equal_infinity_starts_all_users_at_once() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("idle", 1000, infinity()).await.unwrap();
    users_until(c, |u| u.running == 1000).await;
    app.shutdown().await;
}

#[actix_rt::test]
async fn soft_removal_of_users_that_ignore_it_then_forced() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("stubborn", 2, infinity()).await.unwrap();
    users_until(c, |u| u.running == 2).await;
    assert_eq!(c.remove_users(10, false).await, Ok(2));
    users_never(c, Duration::from_millis(100), |u| u.running < 2).await;
    assert_eq!(
        (c.status().users.running, c.status().users.stopping),
        (2, 2)
    );
    assert_eq!(c.remove_users(10, false).await, Ok(0), "already asked");
    assert_eq!(c.remove_users(10, true).await, Ok(2));
    users_until(c, |u| u.running == 0).await;
    assert_eq!(c.status().users.killed, 2);
    app.shutdown().await;
}

#[actix_rt::test]
async fn two_immediate_soft_removals_pick_distinct_users() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("stubborn", 10, infinity()).await.unwrap();
    users_until(c, |u| u.running == 10).await;
    let (a, b) = tokio::join!(c.remove_users(3, false), c.remove_users(3, false));
    assert_eq!((a, b), (Ok(3), Ok(3)));
    assert_eq!(c.status().users.stopping, 6);
    app.shutdown().await;
}

#[actix_rt::test]
async fn start_and_then_stop_can_rerun_and_reset() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.run("idle", 3, infinity()).await.unwrap();
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    c.run("idle", 3, infinity()).await.unwrap();
    users_until(c, |u| u.running == 3).await;
    assert_eq!(
        c.status().highest_user_id,
        3,
        "ids start from 1 in each run"
    );
    c.reset().await.unwrap();
    assert_eq!(c.status().kind, StatusKind::Idle);
    assert_eq!(
        c.update_settings(vec![]).await,
        Err(ControllerError::InvalidStatus(StatusKind::Idle))
    );
    c.run("idle", 1, infinity()).await.unwrap();
    app.shutdown().await;
}

#[actix_rt::test]
async fn crashing_users_do_not_disturb_the_others() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    let mut rec = amoc::telemetry::test::Recorder::attach(
        app.telemetry(),
        [amoc::telemetry::EventPattern::from(
            &amoc::telemetry::names::SCENARIO_START.exception,
        )],
    )
    .await
    .unwrap();
    c.run("crashy", 3, infinity()).await.unwrap();
    let ev = rec.take(2, common::TIMEOUT).await;
    let mut kinds: Vec<_> = ev
        .iter()
        .map(|e| e.metadata.get("kind").cloned().unwrap())
        .collect();
    kinds.sort_by_key(|k| k.to_string());
    assert_eq!(kinds, [Value::from("error"), Value::from("panic")]);
    users_until(c, |u| u.crashed == 2).await;
    let s = c.status();
    assert_eq!((s.kind, s.users.running), (StatusKind::Running, 1));
    app.shutdown().await;
}

#[actix_rt::test]
async fn users_message_each_other_and_see_stop_requests() {
    let scenario = Mailboxes::default();
    let app = builder().scenario(scenario.clone()).start().await.unwrap();
    let c = app.controller();
    c.run("mailboxes", 4, infinity()).await.unwrap();
    value_until(&scenario.refs, |refs| refs.len() == 4).await;
    let three = scenario.refs.borrow()[&3].clone();
    assert_eq!(three.user_id().0, 3);
    three.send("hello from 4".into()).await.unwrap();
    value_until(&scenario.got, |got| {
        got.contains(&(3, "hello from 4".into()))
    })
    .await;
    c.stop_user(3, false).await.unwrap();
    value_until(&scenario.got, |got| {
        got.contains(&(3, "stop requested".into()))
    })
    .await;
    users_until(c, |u| u.running == 3).await;
    assert!(matches!(
        three.try_send("late".into()),
        Err(amoc::users::SendError::UserGone(_))
    ));
    assert_eq!(
        c.stop_user(3, false).await,
        Err(ControllerError::NoSuchUser(3))
    );
    assert_eq!(
        c.stop_user(99, true).await,
        Err(ControllerError::NoSuchUser(99))
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn force_remove_removes_first_started_ids() {
    let app = app_of_ported_scenarios().await;
    let c = app.controller();
    c.start_scenario("idle", infinity()).await.unwrap();
    for i in 1..=50 {
        c.add_users(1).await.unwrap();
        users_until(c, |u| u.running == i).await;
    }
    let mut rec = amoc::telemetry::test::Recorder::attach(
        app.telemetry(),
        [amoc::telemetry::EventPattern::from(
            &amoc::telemetry::names::SCENARIO_START.stop,
        )],
    )
    .await
    .unwrap();
    assert_eq!(c.remove_users(10, true).await, Ok(10));
    let ev = rec.take(10, common::TIMEOUT).await;
    let mut ids: Vec<u64> = ev
        .iter()
        .map(|e| e.metadata.get("user_id").and_then(Value::as_u64).unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, (1..=10).collect::<Vec<_>>());
    users_until(c, |u| u.running == 40).await;
    assert_eq!(c.status().highest_user_id, 50);
    app.shutdown().await;
}
