//! The app's supervision tree: its shape, and crashes inside it that the test survives.

mod common;

use amoc::app::App;
use amoc::controller::StatusKind;
use amoc::supervisor::{ChildRef, SupervisorRef};
use common::app::{builder, infinity, users_until};
use common::poll::eventually;
use common::scenarios::*;

async fn app() -> App {
    builder().scenario(Idle::default()).start().await.unwrap()
}

async fn child(sup: &SupervisorRef, id: &str) -> ChildRef {
    sup.which_child(id).await.unwrap().child().cloned().unwrap()
}

/// Waits until `id` runs as a child other than `old` (supervisors publish no restart
/// notification, so this re-checks); panics after the tests' timeout.
async fn restarted_child(sup: &SupervisorRef, id: &str, old: &ChildRef) -> bool {
    eventually(&format!("{id} restarted"), || async {
        sup.which_child(id)
            .await
            .is_ok_and(|info| info.child().is_some_and(|r| r != old))
    })
    .await;
    true
}

#[actix_rt::test]
async fn the_tree_has_the_designed_shape() {
    let app = app().await;
    let ids: Vec<String> = app
        .supervisor()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        ids,
        [
            "controller",
            "users",
            "coordinators",
            "throttles",
            "config",
            "telemetry"
        ],
        "newest first"
    );
    let users = SupervisorRef::from_child(&child(app.supervisor(), "users").await).unwrap();
    assert_eq!(
        users.count_children().await.unwrap().as_array(),
        [2, 2, 0, 2]
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn a_killed_shard_restarts_empty_and_the_run_goes_on() {
    let app = app().await;
    let c = app.controller();
    c.run("idle", 10, infinity()).await.unwrap();
    users_until(c, |u| u.running == 10).await;
    let users = SupervisorRef::from_child(&child(app.supervisor(), "users").await).unwrap();
    let shard0 = child(&users, "shard_0").await;
    shard0.kill();
    // Its 5 users (odd ids) are killed with it; the other shard's 5 keep running.
    users_until(c, |u| u.killed == 5).await;
    assert_eq!(c.status().users.running, 5);
    assert!(
        restarted_child(&users, "shard_0", &shard0).await,
        "shard_0 restarted"
    );
    // The restarted shard serves the run: new users on both shards start.
    c.add_users(4).await.unwrap();
    users_until(c, |u| u.running == 9).await;
    assert_eq!(c.status().kind, StatusKind::Running);
    app.shutdown().await;
}

#[actix_rt::test]
async fn a_killed_controller_restarts_and_keeps_the_run() {
    let app = app().await;
    let c = app.controller();
    c.run("idle", 4, infinity()).await.unwrap();
    users_until(c, |u| u.running == 4).await;
    let controller = child(app.supervisor(), "controller").await;
    controller.kill();
    assert!(
        restarted_child(app.supervisor(), "controller", &controller).await,
        "controller restarted"
    );
    assert_eq!(c.status().kind, StatusKind::Running);
    assert_eq!(c.add_users(2).await.map(|r| (r.first, r.last)), Ok((5, 6)));
    users_until(c, |u| u.running == 6).await;
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    app.shutdown().await;
}

#[actix_rt::test]
async fn shutdown_ends_the_run_and_calls_terminate_once() {
    let scenario = Idle::default();
    let terminated = scenario.terminated.clone();
    let app = builder().scenario(scenario).start().await.unwrap();
    let c = app.controller().clone();
    c.run("idle", 5, infinity()).await.unwrap();
    users_until(&c, |u| u.running == 5).await;
    app.shutdown().await;
    assert_eq!(terminated.load(std::sync::atomic::Ordering::SeqCst), 1);
    let u = c.status().users;
    assert_eq!((u.running, u.ended), (0, 5));
}

#[actix_rt::test]
async fn throttles_and_coordinators_live_under_the_root() {
    let app = app().await;
    app.throttles()
        .start("t", amoc::throttle::ThrottleConfig::rate(10))
        .await
        .unwrap();
    app.coordinators().start("c", plan(), None).unwrap();
    let throttles = child(app.supervisor(), "throttles").await;
    assert_eq!(app.coordinators().supervised().await, Some(1));
    assert_eq!(app.coordinators().names(), ["c"]);
    // A killed throttles supervisor is restarted by the root (rest_for_one: the later
    // children restart too); its throttles are gone, and new ones can be started.
    throttles.kill();
    assert!(restarted_child(app.supervisor(), "throttles", &throttles).await);
    eventually("old names dropped", || async {
        app.throttles().names().is_empty() && app.coordinators().names().is_empty()
    })
    .await;
    assert!(app.throttles().names().is_empty(), "old throttles dropped");
    assert!(
        app.coordinators().names().is_empty(),
        "old coordinators dropped"
    );
    app.throttles()
        .start("t", amoc::throttle::ThrottleConfig::rate(5))
        .await
        .unwrap();
    assert_eq!(app.throttles().names(), ["t"]);
    app.coordinators().start("c", plan(), None).unwrap();
    app.shutdown().await;
}

fn plan() -> amoc::coordinator::PlanItem<()> {
    use amoc::coordinator::{Action, PlanItem, Size};
    PlanItem::new(Size::All, Action::group(|_| {}))
}
