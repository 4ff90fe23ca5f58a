//! SPEC 4.4 user lifecycle cases not covered by `controller_basics`: id allocation, shard
//! placement, users that all return, span metadata, a zero user rate, event order, and ten
//! thousand users started with distinct ids.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use amoc::app::App;
use amoc::controller::{StatusKind, UserRange};
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::telemetry::names;
use amoc::telemetry::test::Recorder;
use amoc::telemetry::{Event, EventPattern};
use amoc::user_rate::UserRate;
use amoc::Value;
use common::app::{builder, infinity, users_until};
use common::scenarios::Idle;
use common::TIMEOUT;
use tokio::sync::watch;

/// Users record `(id, shard)`, then wait for a stop request.
#[derive(Clone)]
struct Recording {
    seen: Arc<watch::Sender<Vec<(u64, usize)>>>,
}

impl Default for Recording {
    fn default() -> Self {
        Self {
            seen: Arc::new(watch::Sender::new(Vec::new())),
        }
    }
}

impl Scenario for Recording {
    const NAME: &'static str = "recording";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        self.seen
            .send_modify(|seen| seen.push((user.user_id().0, user.shard())));
        user.stopping().await;
        Ok(())
    }
}

/// Users return as soon as they start.
struct Quick;

impl Scenario for Quick {
    const NAME: &'static str = "quick";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, _: UserContext<Self>) -> Result<(), ScenarioError> {
        Ok(())
    }
}

async fn app_with(shards: usize, recording: &Recording) -> App {
    builder()
        .scenario(recording.clone())
        .scenario(Quick)
        .scenario(Idle::default())
        .shards(shards)
        .start()
        .await
        .expect("app starts")
}

/// A two-shard app, and a recorder of the `[amoc, scenario, start, *]` events.
async fn app_recording_start_spans() -> (App, Recorder) {
    let app = app_with(2, &Recording::default()).await;
    let spans = Recorder::attach(
        app.telemetry(),
        [EventPattern::prefix(&["amoc", "scenario", "start"])],
    )
    .await
    .unwrap();
    (app, spans)
}

/// Waits until `n` users have recorded themselves; their ids.
async fn seen_ids(r: &Recording, n: usize) -> BTreeSet<u64> {
    let mut rx = r.seen.subscribe();
    let seen = tokio::time::timeout(TIMEOUT, rx.wait_for(|v| v.len() >= n))
        .await
        .expect("users recorded in time")
        .expect("the sender lives in `r`");
    seen.iter().map(|(id, _)| *id).collect()
}

fn name_of(e: &Event) -> String {
    e.name.segments().join(".")
}

fn user_id(e: &Event) -> Option<u64> {
    e.metadata.get("user_id").and_then(Value::as_u64)
}

#[actix_rt::test]
async fn run_10_then_add_5_continues_the_ids() {
    let rec = Recording::default();
    let app = app_with(2, &rec).await;
    let c = app.controller();
    c.run(Recording::NAME, 10, infinity()).await.unwrap();
    assert_eq!(seen_ids(&rec, 10).await, (1..=10).collect());
    assert_eq!(
        c.add_users(5).await,
        Ok(UserRange {
            first: 11,
            last: 15
        })
    );
    assert_eq!(seen_ids(&rec, 15).await, (1..=15).collect());
    assert_eq!(c.status().highest_user_id, 15);
    app.shutdown().await;
}

#[actix_rt::test]
async fn with_4_shards_user_1_runs_on_shard_0_and_user_6_on_shard_1() {
    let rec = Recording::default();
    let app = app_with(4, &rec).await;
    let c = app.controller();
    c.run(Recording::NAME, 8, infinity()).await.unwrap();
    assert_eq!(seen_ids(&rec, 8).await.len(), 8);
    let seen = rec.seen.borrow().clone();
    let shard_of = |id| seen.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
    assert_eq!(shard_of(1), Some(0));
    assert_eq!(shard_of(6), Some(1));
    for (id, shard) in &seen {
        assert_eq!(*shard as u64, (id - 1) % 4, "user {id}");
    }
    app.shutdown().await;
}

#[actix_rt::test]
async fn all_users_return_and_the_run_goes_on() {
    let app = app_with(2, &Recording::default()).await;
    let c = app.controller();
    c.run(Quick::NAME, 5, infinity()).await.unwrap();
    users_until(c, |u| u.ended == 5).await;
    let s = c.status();
    assert_eq!(
        (s.kind, s.users.running, s.users.waiting),
        (StatusKind::Running, 0, 0)
    );
    c.add_users(3).await.unwrap();
    users_until(c, |u| u.ended == 8).await;
    assert_eq!(c.status().kind, StatusKind::Running);
    app.shutdown().await;
}

#[actix_rt::test]
async fn every_start_span_has_scenario_state_and_user_id_and_stop_adds_return() {
    let (app, mut spans) = app_recording_start_spans().await;
    let c = app.controller();
    c.run(Idle::NAME, 3, infinity()).await.unwrap();
    users_until(c, |u| u.running == 3).await;
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    let events = spans.take(6, TIMEOUT).await;
    assert_eq!(events.len(), 6, "{events:?}");
    for e in &events {
        for key in ["scenario", "state", "user_id", "telemetry_span_context"] {
            assert!(e.metadata.get(key).is_some(), "{key} missing in {e:?}");
        }
        assert_eq!(e.metadata.get("scenario"), Some(&Value::from("idle")));
        match name_of(e).as_str() {
            "amoc.scenario.start.start" => assert!(e.metadata.get("return").is_none()),
            "amoc.scenario.start.stop" => {
                assert_eq!(e.metadata.get("return"), Some(&Value::from("()")));
                assert!(e.measurements.get("duration").is_some());
            }
            other => panic!("unexpected event {other}"),
        }
    }
    let starts: BTreeSet<u64> = events.iter().filter_map(|e| user_id(e)).collect();
    assert_eq!(starts, (1..=3).collect());
    app.shutdown().await;
}

#[actix_rt::test]
async fn zero_user_rate_keeps_1000_users_waiting_and_stop_cancels_them() {
    let (app, mut spans) = app_recording_start_spans().await;
    let c = app.controller();
    c.run(Idle::NAME, 1000, vec![UserRate::PerMinute(0).setting()])
        .await
        .unwrap();
    users_until(c, |u| u.waiting == 1000).await;
    // Nobody starts at rate 0: no start span within 100 ms.
    spans.assert_no_event(Duration::from_millis(100)).await;
    assert_eq!(c.status().users.running, 0);
    assert_eq!(c.status().users.waiting, 1000);
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    let u = c.status().users;
    assert_eq!(u.cancelled, 1000);
    assert_eq!(
        (u.waiting, u.running, u.stopping, u.ended, u.crashed, u.killed),
        (0, 0, 0, 0, 0, 0)
    );
    spans.assert_no_event(Duration::from_millis(200)).await;
    app.shutdown().await;
}

#[actix_rt::test]
async fn run_2_with_infinite_rate_emits_events_in_order() {
    let app = app_with(2, &Recording::default()).await;
    let mut rec = Recorder::attach(
        app.telemetry(),
        [
            EventPattern::exact(&["amoc", "throttle", "init"]),
            EventPattern::exact(&["amoc", "throttle", "rate"]),
            EventPattern::prefix(&["amoc", "scenario"]),
            EventPattern::prefix(&["amoc", "controller"]),
        ],
    )
    .await
    .unwrap();
    let c = app.controller();
    c.run(Idle::NAME, 2, infinity()).await.unwrap();
    let events = rec.take(7, TIMEOUT).await;
    let got: Vec<String> = events.iter().map(|e| name_of(e)).collect();
    assert_eq!(
        got,
        [
            "amoc.throttle.init",
            "amoc.throttle.rate",
            "amoc.scenario.init.start",
            "amoc.scenario.init.stop",
            "amoc.controller.users",
            "amoc.scenario.start.start",
            "amoc.scenario.start.start",
        ]
    );
    let users = &events[4];
    assert_eq!(users.metadata.get("type"), Some(&Value::from("add")));
    assert_eq!(
        users.measurements.get("count").map(|n| n.as_f64()),
        Some(2.0)
    );
    let ids: BTreeSet<u64> = events[5..].iter().filter_map(|e| user_id(e)).collect();
    assert_eq!(ids, BTreeSet::from([1, 2]));
    assert_eq!(
        events[0].metadata.get("name"),
        Some(&Value::from("user_rate"))
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn ten_thousand_users_all_start_with_ids_1_to_10000() {
    let app = app_with(2, &Recording::default()).await;
    let mut starts = Recorder::attach(
        app.telemetry(),
        [EventPattern::from(&names::SCENARIO_START.start)],
    )
    .await
    .unwrap();
    let c = app.controller();
    c.run(Idle::NAME, 10_000, infinity()).await.unwrap();
    let events = starts.take(10_000, TIMEOUT * 6).await;
    let ids: BTreeSet<u64> = events.iter().filter_map(|e| user_id(e)).collect();
    assert_eq!(ids.len(), 10_000);
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&10_000));
    users_until(c, |u| u.running == 10_000).await;
    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    assert_eq!(c.status().users.ended, 10_000);
    app.shutdown().await;
}
