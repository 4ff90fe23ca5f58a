//! Amoc's coordinator suite, ported (continued): the guide's example, event metadata, the
//! shapes of actions, and users on several arbiters.

mod common;
mod coordinator_support;

use std::time::Duration;

use amoc::coordinator::{Action, EventKind, Plan, PlanItem, Size};
use amoc::telemetry::test::Recorder;
use amoc::telemetry::EventPattern;
use amoc::Value;
use common::TIMEOUT;
use coordinator_support::*;

#[actix_rt::test]
async fn guide_example_five_users() {
    tokio::time::pause();
    let (c, calls, _t) = setup().await;
    let plan = Plan::from(vec![
        PlanItem::new(Size::Exactly(2), users("A1", &calls)),
        PlanItem::new(Size::Exactly(2), users("A2", &calls)),
        PlanItem::new(Size::Exactly(2), pairs("A3", &calls)),
        PlanItem::new(Size::Exactly(3), users("B", &calls)),
        PlanItem::new(Size::All, users("C", &calls)),
    ]);
    c.start("guide", plan, Some(Duration::from_millis(300)))
        .unwrap();
    for u in 1..=5u32 {
        c.add("guide", u).unwrap();
    }
    elapse(Duration::from_millis(1000)).await;
    use EventKind::*;
    for l in ["A1", "A2"] {
        assert_eq!(
            calls_of(&calls, l),
            vec![
                (Coordinate, 2, vec![1, 2]),
                (Coordinate, 2, vec![3, 4]),
                (Timeout, 1, vec![5])
            ]
        );
    }
    assert_eq!(
        calls_of(&calls, "A3"),
        vec![
            (Coordinate, 2, vec![1, 2]),
            (Coordinate, 2, vec![3, 4]),
            (Timeout, 1, vec![5])
        ]
    );
    assert_eq!(
        calls_of(&calls, "B"),
        vec![(Coordinate, 3, vec![1, 2, 3]), (Timeout, 2, vec![4, 5])]
    );
    assert_eq!(
        calls_of(&calls, "C"),
        vec![(Timeout, 5, vec![1, 2, 3, 4, 5])]
    );
    c.stop("guide").await.unwrap();
}

#[actix_rt::test]
async fn execute_events_carry_event_configured_and_count() {
    let (c, calls, t) = setup().await;
    let mut rec = Recorder::attach(
        &t,
        [EventPattern::exact(&["amoc", "coordinator", "execute"])],
    )
    .await
    .unwrap();
    let plan = Plan::from(vec![
        PlanItem::new(Size::Exactly(2), group("A", &calls)),
        PlanItem::new(Size::All, group("X", &calls)),
    ]);
    c.start("exec", plan, None).unwrap();
    for u in 1..=3u32 {
        c.add("exec", u).unwrap();
    }
    c.stop("exec").await.unwrap();
    let ev = rec.take(3, TIMEOUT).await;
    let got: Vec<(Value, Value, f64)> = ev
        .iter()
        .map(|e| {
            (
                e.metadata.get("event").cloned().unwrap(),
                e.metadata.get("configured").cloned().unwrap(),
                e.measurements.get("count").unwrap().as_f64(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Value::from("coordinate"), Value::from(2), 2.0),
            (Value::from("stop"), Value::from(2), 1.0),
            (Value::from("stop"), Value::from("all"), 3.0),
        ]
    );
    assert!(ev
        .iter()
        .all(|e| e.metadata.get("name") == Some(&Value::from("exec"))));
}

#[actix_rt::test]
async fn each_user_and_pairs_shapes() {
    let (c, calls, _t) = setup().await;
    let each = {
        let calls = calls.clone();
        Action::each_user(move |e, u: &u32| {
            calls
                .lock()
                .unwrap()
                .push(("each".into(), e.kind, e.count, vec![*u]))
        })
    };
    let plan = Plan::from(vec![
        PlanItem::new(Size::Exactly(3), each),
        PlanItem::new(Size::Exactly(3), pairs("pairs", &calls)),
    ]);
    c.start("shapes", plan, None).unwrap();
    for u in 1..=3u32 {
        c.add("shapes", u).unwrap();
    }
    c.stop("shapes").await.unwrap();
    use EventKind::*;
    assert_eq!(
        calls_of(&calls, "each"),
        vec![
            (Coordinate, 3, vec![1]),
            (Coordinate, 3, vec![2]),
            (Coordinate, 3, vec![3])
        ]
    );
    assert_eq!(
        calls_of(&calls, "pairs"),
        vec![
            (Coordinate, 3, vec![1, 2]),
            (Coordinate, 3, vec![1, 3]),
            (Coordinate, 3, vec![2, 3]),
            (Stop, 0, vec![])
        ]
    );
}

#[test]
fn users_on_different_arbiters_are_grouped_correctly() {
    actix_rt::System::new().block_on(async {
        let (c, calls, _t) = setup().await;
        c.start(
            "multi",
            PlanItem::new(Size::Exactly(2), users("m", &calls)),
            None,
        )
        .unwrap();
        let arbiters = [actix_rt::Arbiter::new(), actix_rt::Arbiter::new()];
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for (a, arb) in arbiters.iter().enumerate() {
            let (c, tx) = (c.clone(), tx.clone());
            arb.spawn(async move {
                for i in 0..500u32 {
                    c.add("multi", a as u32 * 1000 + i).unwrap();
                }
                let _ = tx.send(());
            });
        }
        for _ in 0..2 {
            rx.recv().await.unwrap();
        }
        c.stop("multi").await.unwrap();
        let got = calls_of(&calls, "m");
        let coordinated: Vec<_> = got
            .iter()
            .filter(|c| c.0 == EventKind::Coordinate)
            .collect();
        assert_eq!(coordinated.len(), 500);
        let mut all: Vec<u32> = coordinated.iter().flat_map(|c| c.2.clone()).collect();
        all.sort();
        let mut want: Vec<u32> = (0..500).chain(1000..1500).collect();
        want.sort();
        assert_eq!(all, want);
        for arb in arbiters {
            arb.stop();
        }
    });
}
