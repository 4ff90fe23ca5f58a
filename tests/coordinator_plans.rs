//! Amoc's coordinator suite, ported: plans, groups, timeouts, reset and stop.

mod common;
mod coordinator_support;

use std::sync::Arc;
use std::time::Duration;

use amoc::coordinator::{Action, CoordinatorError, EventKind, Plan, PlanItem, Size};
use amoc::telemetry::test::Recorder;
use amoc::telemetry::EventPattern;
use amoc::Value;
use coordinator_support::*;

#[test]
fn plan_normalises_successfully() {
    let calls: Calls = Arc::default();
    let single = Plan::from(PlanItem::new(Size::Exactly(2), users("a", &calls)));
    let list = Plan::from(vec![PlanItem::with_actions(
        Size::Exactly(2),
        vec![users("a", &calls)],
    )]);
    let (a, b) = (single.normalise().unwrap(), list.normalise().unwrap());
    assert_eq!(a.len(), b.len());
    assert_eq!(a[0].size, b[0].size);
    assert_eq!(a[0].actions.len(), b[0].actions.len());
}

#[test]
fn ordering_plan_sets_all_at_the_end() {
    let calls: Calls = Arc::default();
    let item = |size, l: &str| PlanItem::new(size, group(l, &calls));
    let plan = Plan::from(vec![
        item(Size::All, "X2"),
        item(Size::Exactly(2), "A"),
        item(Size::Exactly(5), "B"),
        item(Size::Exactly(1), "C"),
        item(Size::All, "X1"),
    ]);
    let sizes: Vec<Size> = plan.normalise().unwrap().iter().map(|i| i.size).collect();
    use Size::*;
    assert_eq!(sizes, [Exactly(2), Exactly(5), Exactly(1), All, All]);
}

#[test]
fn invalid_plans_are_refused() {
    let calls: Calls = Arc::default();
    let bad = [
        Plan::from(Vec::<PlanItem<u32>>::new()),
        Plan::from(PlanItem::with_actions(Size::Exactly(2), vec![])),
        Plan::from(PlanItem::new(Size::Exactly(0), group("a", &calls))),
        Plan::from(PlanItem::new(
            Size::Range { min: 3, max: 2 },
            group("a", &calls),
        )),
        Plan::from(PlanItem::new(Size::All, pairs("a", &calls))),
    ];
    for plan in bad {
        assert!(matches!(
            plan.normalise(),
            Err(CoordinatorError::InvalidPlan(_))
        ));
    }
}

#[actix_rt::test]
async fn failing_action_does_not_kill_the_worker() {
    let (c, calls, _t) = setup().await;
    let boom = Action::group(|_| panic!("action failed on purpose"));
    c.start(
        "failing",
        PlanItem::with_actions(Size::Exactly(2), vec![boom, users("ok", &calls)]),
        None,
    )
    .unwrap();
    for u in 1..=4u32 {
        c.add("failing", u).unwrap();
    }
    c.stop("failing").await.unwrap();
    assert_eq!(calls_of(&calls, "ok").len(), 3);
}

#[actix_rt::test]
async fn coordinator_name_can_be_dynamic_terms() {
    let (c, calls, _t) = setup().await;
    for name in [
        "{tuple, 1}",
        "list/of/atoms",
        "aGVsbG8gd29ybGQ=",
        "ключ-名前",
    ] {
        c.start(
            name,
            PlanItem::new(Size::Exactly(3), users(name, &calls)),
            None,
        )
        .unwrap();
        for u in 1..=10u32 {
            c.add(name, u).unwrap();
        }
        c.stop(name).await.unwrap();
        check(&calls, name, 3, 10, EventKind::Stop, 0);
    }
}

#[actix_rt::test]
async fn execute_with_range_without_timeout() {
    let (c, calls, t) = setup().await;
    let mut rec = Recorder::attach(&t, [EventPattern::prefix(&["amoc", "coordinator"])])
        .await
        .unwrap();
    let plan = Plan::from(vec![
        PlanItem::new(Size::Range { min: 5, max: 10 }, users("A", &calls)),
        PlanItem::new(Size::All, users("X", &calls)),
    ]);
    c.start("range", plan, None).unwrap();
    for u in 1..=20u32 {
        c.add("range", u).unwrap();
    }
    c.stop("range").await.unwrap();
    let a = calls_of(&calls, "A");
    let coordinated = a.iter().filter(|c| c.0 == EventKind::Coordinate).count();
    assert!((2..=4).contains(&coordinated), "{a:?}");
    assert_eq!(a.last().unwrap().0, EventKind::Stop);
    let ids: Vec<u32> = a.iter().flat_map(|c| c.2.clone()).collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    assert_eq!(
        calls_of(&calls, "X"),
        vec![(EventKind::Stop, 20, (1..=20).collect())]
    );
    assert_eq!(labels(&calls).last().unwrap(), "X");
    let names: Vec<String> = rec
        .take(100, Duration::from_millis(300))
        .await
        .iter()
        .filter(|e| e.name.segments()[2] != "execute")
        .map(|e| e.name.segments()[2].to_owned())
        .collect();
    let mut want = vec!["start".to_owned()];
    want.extend(std::iter::repeat_n("add".to_owned(), 20));
    want.push("stop".to_owned());
    assert_eq!(names, want);
}

fn five_item_plan(calls: &Calls) -> Plan<u32> {
    Plan::from(vec![
        PlanItem::with_actions(
            Size::Exactly(2),
            vec![users("A2", calls), users("A1", calls)],
        ),
        PlanItem::with_actions(
            Size::Exactly(4),
            vec![users("B3", calls), users("B1", calls)],
        ),
        PlanItem::with_actions(Size::All, vec![users("X2", calls), users("X1", calls)]),
        PlanItem::new(Size::Exactly(3), users("C1", calls)),
        PlanItem::new(Size::All, users("Y1", calls)),
    ])
}

fn check_five(calls: &Calls, k: usize, e: EventKind, base: u32) {
    for (label, n) in [("A2", 2), ("A1", 2), ("B3", 4), ("B1", 4), ("C1", 3)] {
        check(calls, label, n, k, e, base);
    }
    for label in ["X2", "X1", "Y1"] {
        let all = (base + 1..=base + k as u32).collect();
        assert_eq!(calls_of(calls, label), vec![(e, k, all)], "{label}");
    }
    // All last: every `all` call after every other call, X before Y.
    let l = labels(calls);
    assert_eq!(&l[l.len() - 3..], ["X2", "X1", "Y1"]);
}

#[actix_rt::test]
async fn execute_plan_without_timeout() {
    let (c, calls, _t) = setup().await;
    c.start("plan", five_item_plan(&calls), None).unwrap();
    for u in 1..=4u32 {
        c.add("plan", u).unwrap();
    }
    c.stop("plan").await.unwrap();
    check_five(&calls, 4, EventKind::Stop, 0);
}

#[actix_rt::test]
async fn reset_plan_without_timeout() {
    tokio::time::pause();
    let (c, calls, t) = setup().await;
    let mut rec = Recorder::attach(&t, [EventPattern::prefix(&["amoc", "coordinator"])])
        .await
        .unwrap();
    c.start(
        "reset",
        five_item_plan(&calls),
        Some(Duration::from_secs(1)),
    )
    .unwrap();
    for u in 1..=5u32 {
        c.add("reset", u).unwrap();
    }
    c.reset("reset").await.unwrap();
    check_five(&calls, 5, EventKind::Reset, 0);
    calls.lock().unwrap().clear();
    elapse(Duration::from_millis(1500)).await;
    assert!(
        calls.lock().unwrap().is_empty(),
        "reset disarms the timeout"
    );
    for u in 6..=11u32 {
        c.add("reset", u).unwrap();
    }
    c.reset("reset").await.unwrap();
    check_five(&calls, 6, EventKind::Reset, 5);
    calls.lock().unwrap().clear();
    c.reset("reset").await.unwrap();
    assert!(calls
        .lock()
        .unwrap()
        .iter()
        .all(|c| c.1 == EventKind::Reset && c.2 == 0));
    assert_eq!(calls.lock().unwrap().len(), 8);
    calls.lock().unwrap().clear();
    c.stop("reset").await.unwrap();
    assert!(calls
        .lock()
        .unwrap()
        .iter()
        .all(|c| c.1 == EventKind::Stop && c.2 == 0));
    let names: Vec<String> = rec
        .take(100, Duration::from_millis(300))
        .await
        .iter()
        .filter(|e| e.name.segments()[2] != "execute")
        .map(|e| e.name.segments()[2].to_owned())
        .collect();
    let mut want = vec!["start".to_owned()];
    want.extend(std::iter::repeat_n("add".to_owned(), 5));
    want.push("reset".to_owned());
    want.extend(std::iter::repeat_n("add".to_owned(), 6));
    want.extend(["reset", "reset", "stop"].map(String::from));
    assert_eq!(names, want);
}

#[actix_rt::test]
async fn execute_plan_with_timeout() {
    tokio::time::pause();
    let (c, calls, t) = setup().await;
    let mut rec = Recorder::attach(&t, [EventPattern::prefix(&["amoc", "coordinator"])])
        .await
        .unwrap();
    c.start(
        "timeout",
        five_item_plan(&calls),
        Some(Duration::from_millis(500)),
    )
    .unwrap();
    elapse(Duration::from_millis(800)).await;
    assert!(
        calls.lock().unwrap().is_empty(),
        "no timeout before the first add"
    );
    for u in 1..=7u32 {
        c.add("timeout", u).unwrap();
    }
    elapse(Duration::from_millis(1500)).await;
    check_five(&calls, 7, EventKind::Timeout, 0);
    calls.lock().unwrap().clear();
    for u in 8..=15u32 {
        c.add("timeout", u).unwrap();
    }
    elapse(Duration::from_millis(1500)).await;
    check_five(&calls, 8, EventKind::Timeout, 7);
    calls.lock().unwrap().clear();
    c.stop("timeout").await.unwrap();
    assert!(calls
        .lock()
        .unwrap()
        .iter()
        .all(|c| c.1 == EventKind::Stop && c.2 == 0));
    let events: Vec<_> = rec
        .take(200, Duration::from_millis(300))
        .await
        .into_iter()
        .filter(|e| e.name.segments()[2] != "execute")
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e.name.segments()[2]).collect();
    let mut want = vec!["start"];
    want.extend(std::iter::repeat_n("add", 7));
    want.push("timeout");
    want.extend(std::iter::repeat_n("add", 8));
    want.extend(["timeout", "stop"]);
    assert_eq!(names, want);
    for e in &events {
        assert_eq!(e.measurements.get("count").unwrap().as_f64(), 1.0);
        assert_eq!(e.metadata.get("name"), Some(&Value::from("timeout")));
        assert!(e.metadata.get("monotonic_time").is_some());
    }
}

#[actix_rt::test]
async fn second_start_is_refused_and_the_first_keeps_working() {
    let (c, calls, _t) = setup().await;
    c.start(
        "twice",
        PlanItem::new(Size::Exactly(2), users("first", &calls)),
        None,
    )
    .unwrap();
    let again = c.start(
        "twice",
        PlanItem::new(Size::Exactly(2), users("second", &calls)),
        None,
    );
    assert_eq!(again, Err(CoordinatorError::AlreadyStarted("twice".into())));
    c.add("twice", 1u32).unwrap();
    c.add("twice", 2u32).unwrap();
    c.stop("twice").await.unwrap();
    assert_eq!(
        calls_of(&calls, "first")[0],
        (EventKind::Coordinate, 2, vec![1, 2])
    );
    assert!(calls_of(&calls, "second").is_empty());
}

#[actix_rt::test]
async fn unknown_and_stopped_names_are_errors() {
    let (c, calls, t) = setup().await;
    let mut rec = Recorder::attach(&t, [EventPattern::prefix(&["amoc", "coordinator"])])
        .await
        .unwrap();
    let missing = |n: &str| Err(CoordinatorError::NoSuchCoordinator(n.into()));
    assert_eq!(c.add("nope", 1u32), missing("nope"));
    assert_eq!(c.reset("nope").await, missing("nope"));
    assert_eq!(c.stop("nope").await, missing("nope"));
    c.start(
        "gone",
        PlanItem::new(Size::Exactly(2), users("g", &calls)),
        None,
    )
    .unwrap();
    c.stop("gone").await.unwrap();
    assert_eq!(c.add("gone", 1u32), missing("gone"));
    assert_eq!(c.stop("gone").await, missing("gone"));
    assert_eq!(
        c.start(
            "gone",
            PlanItem::new(Size::Exactly(2), users("g", &calls)),
            None
        ),
        Ok(())
    );
    let mismatch = c.add("gone", "text").unwrap_err();
    assert_eq!(
        mismatch.to_string(),
        "coordinator \"gone\" takes data of type u32, not &str"
    );
    assert_eq!(
        c.start::<u32>(
            "z",
            PlanItem::new(Size::Exactly(2), group("g", &calls)),
            Some(Duration::ZERO)
        ),
        Err(CoordinatorError::InvalidTimeout)
    );
    let adds = rec.take(100, Duration::from_millis(200)).await;
    assert!(adds.iter().all(|e| e.name.segments()[2] != "add"));
}
