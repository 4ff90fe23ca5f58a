//! Amoc's coordinator suite, ported: plans, groups, timeouts, reset and stop.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amoc::coordinator::{
    Action, CoordinationEvent, CoordinatorError, Coordinators, EventKind, Plan, PlanItem, Size,
};
use amoc::telemetry::test::Recorder;
use amoc::telemetry::{EventPattern, Telemetry};
use amoc::Value;
use common::TIMEOUT;

type Calls = Arc<Mutex<Vec<(String, EventKind, usize, Vec<u32>)>>>;

fn users(label: &str, calls: &Calls) -> Action<u32> {
    let (label, calls) = (label.to_owned(), calls.clone());
    Action::users(move |e: CoordinationEvent, group: &[Arc<u32>]| {
        let ids = group.iter().map(|u| **u).collect();
        calls
            .lock()
            .unwrap()
            .push((label.clone(), e.kind, e.count, ids));
    })
}

fn pairs(label: &str, calls: &Calls) -> Action<u32> {
    let (label, calls) = (label.to_owned(), calls.clone());
    Action::pairs(move |e, a: Option<&u32>, b: Option<&u32>| {
        let ids = a.into_iter().chain(b).copied().collect();
        calls
            .lock()
            .unwrap()
            .push((label.clone(), e.kind, e.count, ids));
    })
}

fn group(label: &str, calls: &Calls) -> Action<u32> {
    let (label, calls) = (label.to_owned(), calls.clone());
    Action::group(move |e| {
        calls
            .lock()
            .unwrap()
            .push((label.clone(), e.kind, e.count, vec![]))
    })
}

fn calls_of(calls: &Calls, label: &str) -> Vec<(EventKind, usize, Vec<u32>)> {
    calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.0 == label)
        .map(|c| (c.1, c.2, c.3.clone()))
        .collect()
}

fn labels(calls: &Calls) -> Vec<String> {
    calls.lock().unwrap().iter().map(|c| c.0.clone()).collect()
}

/// "Check" of SPEC 7.4 for a `users` action on an item of size n after k adds (users 1..=k).
fn check(calls: &Calls, label: &str, n: usize, k: usize, e: EventKind, base: u32) {
    let got = calls_of(calls, label);
    let mut want = Vec::new();
    for b in 0..k / n {
        let ids = (0..n as u32)
            .map(|i| base + (b * n) as u32 + i + 1)
            .collect();
        want.push((EventKind::Coordinate, n, ids));
    }
    let rest = ((k / n * n) as u32 + 1..=k as u32)
        .map(|i| base + i)
        .collect();
    want.push((e, k % n, rest));
    assert_eq!(got, want, "item {label}");
}

/// Lets `d` go by on the test's paused clock (it jumps ahead once every task is idle), so
/// coordinator timeouts of seconds take no real time.
async fn elapse(d: Duration) {
    tokio::time::sleep(d).await;
}

async fn setup() -> (Coordinators, Calls, Telemetry) {
    let t = Telemetry::new();
    t.start();
    (
        Coordinators::new(t.clone()),
        Arc::new(Mutex::new(Vec::new())),
        t,
    )
}

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
