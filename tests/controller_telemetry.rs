//! The controller's telemetry (SPEC 2.9 table): init, terminate and removal events with their
//! metadata; stopping runs `terminate` once and leaves no user behind; a panicking
//! `terminate` is reported and the run still finishes.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amoc::app::App;
use amoc::controller::StatusKind;
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::telemetry::test::Recorder;
use amoc::telemetry::{names, Event, EventPattern};
use amoc::users::Received;
use amoc::Value;
use common::app::{builder, infinity, users_until};
use common::scenarios::*;
use common::TIMEOUT;

/// Users hold a clone of `alive` while they run (so its count tells how many user futures
/// still exist); `terminate` counts its calls and panics when asked to.
#[derive(Clone, Default)]
struct Holder {
    alive: Arc<()>,
    terminated: Arc<AtomicU64>,
    panic_in_terminate: bool,
}

impl Scenario for Holder {
    const NAME: &'static str = "holder";
    type State = u32;
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<u32, ScenarioError> {
        Ok(42)
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let _alive = self.alive.clone();
        while !matches!(user.recv().await, Received::StopRequested) {}
        Ok(())
    }

    async fn terminate(&self, _: Arc<u32>, _: RunContext) -> Result<(), ScenarioError> {
        self.terminated.fetch_add(1, Ordering::SeqCst);
        if self.panic_in_terminate {
            panic!("terminate panics on purpose");
        }
        Ok(())
    }
}

async fn app_with(holder: Holder) -> App {
    builder()
        .scenario(Idle::default())
        .scenario(Configured)
        .scenario(holder)
        .start()
        .await
        .unwrap()
}

fn md<'a>(e: &'a Event, key: &str) -> Option<&'a Value> {
    e.metadata.get(key)
}

fn name(e: &Event) -> String {
    e.name.segments().join(".")
}

#[actix_rt::test]
async fn failing_init_emits_init_exception_with_kind_error() {
    let app = app_with(Holder::default()).await;
    let mut rec = Recorder::attach(
        app.telemetry(),
        [EventPattern::prefix(&["amoc", "scenario", "init"])],
    )
    .await
    .unwrap();
    let settings = vec![
        ("testing_var1".to_owned(), Value::from("x")),
        ("fail_init".to_owned(), Value::from(true)),
    ];
    assert!(app
        .controller()
        .start_scenario("configured", settings)
        .await
        .is_err());
    let ev = rec.take(2, TIMEOUT).await;
    assert_eq!(
        ev.iter().map(|e| name(e)).collect::<Vec<_>>(),
        ["amoc.scenario.init.start", "amoc.scenario.init.exception"]
    );
    let exception = &ev[1];
    assert_eq!(md(exception, "scenario"), Some(&Value::from("configured")));
    assert_eq!(md(exception, "kind"), Some(&Value::from("error")));
    let reason = md(exception, "reason").and_then(Value::as_str).unwrap();
    assert!(reason.contains("init failed on purpose"), "{reason}");
    assert!(exception.measurements.get("duration").is_some());
    assert_eq!(
        md(&ev[0], "telemetry_span_context"),
        md(exception, "telemetry_span_context")
    );
    rec.assert_no_event(Duration::from_millis(100)).await;
    app.shutdown().await;
}

#[actix_rt::test]
async fn stop_runs_terminate_once_in_its_span_and_leaves_no_user_behind() {
    let holder = Holder::default();
    let (alive, terminated) = (holder.alive.clone(), holder.terminated.clone());
    let app = app_with(holder).await;
    let c = app.controller();
    c.run("holder", 30, infinity()).await.unwrap();
    users_until(c, |u| u.running == 30).await;
    // Ours, the scenario's, and one per user future.
    assert_eq!(Arc::strong_count(&alive), 2 + 30, "30 user futures hold it");
    let mut rec = Recorder::attach(
        app.telemetry(),
        [EventPattern::prefix(&["amoc", "scenario", "terminate"])],
    )
    .await
    .unwrap();
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    let ev = rec.take(2, TIMEOUT).await;
    assert_eq!(
        ev.iter().map(|e| name(e)).collect::<Vec<_>>(),
        [
            "amoc.scenario.terminate.start",
            "amoc.scenario.terminate.stop"
        ]
    );
    for e in &ev {
        assert_eq!(md(e, "scenario"), Some(&Value::from("holder")));
        assert_eq!(md(e, "state"), Some(&Value::from("42")));
    }
    assert_eq!(md(&ev[1], "return"), Some(&Value::from("()")));
    assert_eq!(terminated.load(Ordering::SeqCst), 1);
    let u = c.status().users;
    assert_eq!(
        (u.waiting, u.running, u.stopping, u.ended, u.killed),
        (0, 0, 0, 30, 0)
    );
    assert_eq!(Arc::strong_count(&alive), 2, "every user future is gone");
    rec.assert_no_event(Duration::from_millis(200)).await;
    assert_eq!(terminated.load(Ordering::SeqCst), 1, "terminate ran once");
    app.shutdown().await;
    assert_eq!(
        terminated.load(Ordering::SeqCst),
        1,
        "not again at shutdown"
    );
}

#[actix_rt::test]
async fn panicking_terminate_is_reported_and_the_run_finishes() {
    let holder = Holder {
        panic_in_terminate: true,
        ..Holder::default()
    };
    let app = app_with(holder).await;
    let c = app.controller();
    let mut rec = Recorder::attach(
        app.telemetry(),
        [EventPattern::from(&names::SCENARIO_TERMINATE.exception)],
    )
    .await
    .unwrap();
    c.run("holder", 5, infinity()).await.unwrap();
    users_until(c, |u| u.running == 5).await;
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    let ev = rec.take(1, TIMEOUT).await;
    assert_eq!(md(&ev[0], "kind"), Some(&Value::from("panic")));
    let reason = md(&ev[0], "reason").and_then(Value::as_str).unwrap();
    assert!(reason.contains("terminate panics on purpose"), "{reason}");
    // The controller survived it: a new run starts.
    c.run("idle", 3, infinity()).await.unwrap();
    users_until(c, |u| u.running == 3).await;
    app.shutdown().await;
}

#[actix_rt::test]
async fn removals_emit_controller_users_with_type_remove() {
    let app = app_with(Holder::default()).await;
    let c = app.controller();
    c.run("idle", 20, infinity()).await.unwrap();
    users_until(c, |u| u.running == 20).await;
    let mut rec = Recorder::attach(
        app.telemetry(),
        [EventPattern::from(&names::CONTROLLER_USERS)],
    )
    .await
    .unwrap();
    assert_eq!(c.remove_users(5, false).await, Ok(5));
    let ev = rec.take(1, TIMEOUT).await;
    assert_eq!(md(&ev[0], "type"), Some(&Value::from("remove")));
    assert_eq!(md(&ev[0], "scenario"), Some(&Value::from("idle")));
    assert_eq!(
        ev[0].measurements.get("count").map(|n| n.as_f64()),
        Some(5.0)
    );
    users_until(c, |u| u.running == 15).await;
    app.shutdown().await;
}

#[actix_rt::test]
async fn removing_100_takes_the_100_oldest_started() {
    let app = app_with(Holder::default()).await;
    let c = app.controller();
    c.start_scenario("idle", infinity()).await.unwrap();
    // Three waves, each running before the next starts: the first wave is the oldest.
    for wave in 1..=3 {
        c.add_users(100).await.unwrap();
        users_until(c, |u| u.running == wave * 100).await;
    }
    let mut rec = Recorder::attach(
        app.telemetry(),
        [EventPattern::from(&names::SCENARIO_START.stop)],
    )
    .await
    .unwrap();
    assert_eq!(c.remove_users(100, false).await, Ok(100));
    let ev = rec.take(100, TIMEOUT).await;
    let mut ids: Vec<u64> = ev
        .iter()
        .filter_map(|e| md(e, "user_id").and_then(Value::as_u64))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    users_until(c, |u| u.running == 200).await;
    rec.assert_no_event(Duration::from_millis(100)).await;
    app.shutdown().await;
}
