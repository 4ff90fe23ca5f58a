//! Coordinators under their supervisor (SPEC 7.3): a crashed coordinator comes back with its
//! plan and empty groups; `stop` ends it for good; too many crashes remove it.

mod common;

use std::sync::{Arc, Mutex};

use amoc::coordinator::{Action, CoordinatorError, Coordinators, EventKind, PlanItem, Size};
use amoc::telemetry::Telemetry;
use common::poll::eventually;

type Groups = Arc<Mutex<Vec<(EventKind, Vec<u32>)>>>;

fn recording(size: usize) -> (PlanItem<u32>, Groups) {
    let groups: Groups = Arc::default();
    let seen = groups.clone();
    let action = Action::users(move |e, group: &[Arc<u32>]| {
        let ids = group.iter().map(|u| **u).collect();
        seen.lock().unwrap().push((e.kind, ids));
    });
    (PlanItem::new(Size::Exactly(size), action), groups)
}

fn taken(groups: &Groups) -> Vec<(EventKind, Vec<u32>)> {
    std::mem::take(&mut *groups.lock().unwrap())
}

#[actix_rt::test]
async fn crashed_coordinator_comes_back_with_its_plan_and_empty_groups() {
    let c = Coordinators::new(Telemetry::new());
    let (plan, groups) = recording(3);
    c.start("crashy", plan, None).unwrap();
    eventually("actor running", || async {
        c.supervised().await == Some(1)
    })
    .await;
    c.add("crashy", 1u32).unwrap();
    c.add("crashy", 2u32).unwrap();
    c.crash("crashy").unwrap();
    // Queued behind the crash: handled by the restarted actor, grouped from empty.
    for u in 3..=7u32 {
        c.add("crashy", u).unwrap();
    }
    c.reset("crashy").await.unwrap();
    assert_eq!(
        taken(&groups),
        [
            (EventKind::Coordinate, vec![3, 4, 5]),
            (EventKind::Reset, vec![6, 7]),
        ]
    );
    assert_eq!(c.supervised().await, Some(1));
    assert_eq!(c.names(), ["crashy"]);
    c.stop("crashy").await.unwrap();
    assert_eq!(taken(&groups), [(EventKind::Stop, vec![])]);
}

#[actix_rt::test]
async fn stop_leaves_no_restart_and_frees_the_name() {
    let c = Coordinators::new(Telemetry::new());
    let (plan, groups) = recording(2);
    c.start("once", plan.clone(), None).unwrap();
    c.add("once", 1u32).unwrap();
    c.stop("once").await.unwrap();
    assert_eq!(taken(&groups), [(EventKind::Stop, vec![1])]);
    // The supervisor decides on a restart in the same step that sees its child exit (OTP:
    // restarts are not delayed), so once the child is gone it stays gone.
    eventually("actor gone", || async { c.supervised().await == Some(0) }).await;
    assert_eq!(
        c.supervised().await,
        Some(0),
        "a stopped coordinator is not restarted"
    );
    assert!(c.names().is_empty());
    assert_eq!(
        c.add("once", 2u32),
        Err(CoordinatorError::NoSuchCoordinator("once".into()))
    );
    // The name is free: a new coordinator starts under it, with fresh groups.
    c.start("once", plan, None).unwrap();
    c.add("once", 3u32).unwrap();
    c.add("once", 4u32).unwrap();
    c.stop("once").await.unwrap();
    assert_eq!(
        taken(&groups),
        [
            (EventKind::Coordinate, vec![3, 4]),
            (EventKind::Stop, vec![])
        ]
    );
}

#[actix_rt::test]
async fn too_many_crashes_remove_the_coordinators_and_a_new_start_works() {
    let c = Coordinators::new(Telemetry::new());
    let (plan, groups) = recording(2);
    c.start("fragile", plan.clone(), None).unwrap();
    let (other, _) = recording(2);
    c.start("bystander", other, None).unwrap();
    // Intensity 5 per 10 s: the sixth crash makes the supervisor give up.
    for _ in 0..6 {
        c.crash("fragile").unwrap();
    }
    eventually("coordinators removed", || async { c.names().is_empty() }).await;
    let gone = |n: &str| Err(CoordinatorError::NoSuchCoordinator(n.into()));
    assert_eq!(c.add("fragile", 1u32), gone("fragile"));
    assert_eq!(c.add("bystander", 1u32), gone("bystander"));
    assert_eq!(c.stop("fragile").await, gone("fragile"));
    // A new start brings up a new supervisor.
    c.start("fragile", plan, None).unwrap();
    c.add("fragile", 1u32).unwrap();
    c.add("fragile", 2u32).unwrap();
    c.stop("fragile").await.unwrap();
    assert_eq!(
        taken(&groups),
        [
            (EventKind::Coordinate, vec![1, 2]),
            (EventKind::Stop, vec![])
        ]
    );
}

#[test]
fn supervisor_starts_lazily_on_the_first_start_inside_an_arbiter() {
    // Made outside any arbiter: no home yet, so `start` outside one is refused.
    let c = Coordinators::new(Telemetry::new());
    let (plan, groups) = recording(2);
    assert_eq!(
        c.start("lazy", plan.clone(), None),
        Err(CoordinatorError::NoArbiter)
    );
    assert!(c.names().is_empty());
    actix_rt::System::new().block_on(async {
        c.start("lazy", plan, None).unwrap();
        for u in 1..=3u32 {
            c.add("lazy", u).unwrap();
        }
        c.stop("lazy").await.unwrap();
        eventually("actor gone", || async { c.supervised().await == Some(0) }).await;
    });
    assert_eq!(
        taken(&groups),
        [
            (EventKind::Coordinate, vec![1, 2]),
            (EventKind::Stop, vec![3])
        ]
    );
}

#[actix_rt::test]
async fn adds_from_another_thread_reach_a_supervised_coordinator() {
    let c = Coordinators::new(Telemetry::new());
    let (plan, groups) = recording(2);
    c.start("remote", plan, None).unwrap();
    let adder = c.clone();
    std::thread::spawn(move || {
        for u in 1..=4u32 {
            adder.add("remote", u).unwrap();
        }
    })
    .join()
    .unwrap();
    c.stop("remote").await.unwrap();
    assert_eq!(
        taken(&groups),
        [
            (EventKind::Coordinate, vec![1, 2]),
            (EventKind::Coordinate, vec![3, 4]),
            (EventKind::Stop, vec![]),
        ]
    );
}
