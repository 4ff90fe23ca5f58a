//! The management API: child_adm, which_children, count_children, restart loops.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

#[test]
fn child_adm() {
    run(|| async {
        let sup = start_sup(flags(Strategy::OneForOne), vec![]).await;
        let c1 = sup
            .start_child(worker("child1"))
            .await
            .unwrap()
            .child
            .unwrap();
        assert_eq!(
            sup.start_child(worker("child1")).await.unwrap_err(),
            ChildError::AlreadyStarted("child1".into(), c1.clone())
        );
        assert_eq!(
            sup.restart_child("child1").await.unwrap_err(),
            ChildError::Running
        );
        assert_eq!(
            sup.restart_child("nope").await.unwrap_err(),
            ChildError::NotFound
        );
        assert_eq!(
            sup.delete_child("child1").await.unwrap_err(),
            ChildError::Running
        );
        assert_eq!(
            sup.terminate_child("nope").await.unwrap_err(),
            ChildError::NotFound
        );
        sup.terminate_child("child1").await.unwrap();
        assert_eq!(within(c1.wait()).await, ExitReason::Shutdown);
        sup.terminate_child("child1").await.unwrap();
        assert_eq!(
            sup.start_child(worker("child1")).await.unwrap_err(),
            ChildError::AlreadyPresent("child1".into())
        );
        let c1 = sup.restart_child("child1").await.unwrap().child.unwrap();
        assert_eq!(ping(&c1).await.as_deref(), Some("child1"));
        sup.terminate_child("child1").await.unwrap();
        sup.delete_child("child1").await.unwrap();
        assert_eq!(
            sup.delete_child("child1").await.unwrap_err(),
            ChildError::NotFound
        );
        assert_eq!(counts(&sup).await, [0, 0, 0, 0]);
        within(sup.stop()).await;
        assert_eq!(
            sup.start_child(worker("x")).await.unwrap_err(),
            ChildError::SupervisorGone
        );
        assert_eq!(
            sup.terminate_child("x").await.unwrap_err(),
            ChildError::SupervisorGone
        );
        assert_eq!(
            sup.restart_child("x").await.unwrap_err(),
            ChildError::SupervisorGone
        );
        assert_eq!(
            sup.delete_child("x").await.unwrap_err(),
            ChildError::SupervisorGone
        );
        assert_eq!(
            sup.which_children().await.unwrap_err(),
            ChildError::SupervisorGone
        );
        assert_eq!(
            sup.count_children().await.unwrap_err(),
            ChildError::SupervisorGone
        );
    });
}

#[test]
fn child_adm_simple() {
    run(|| async {
        let t = template(&Ctl::default(), &Log::default());
        let sup = DynamicSupervisor::start(flags(Strategy::OneForOne), t.clone())
            .await
            .unwrap();
        let other = DynamicSupervisor::start(flags(Strategy::OneForOne), t)
            .await
            .unwrap();
        let c = sup.start_child("a".into()).await.unwrap().child.unwrap();
        let foreign = other.start_child("b".into()).await.unwrap().child.unwrap();
        assert_eq!(
            sup.terminate_child(&foreign).await.unwrap_err(),
            ChildError::NotFound
        );
        assert_eq!(ping(&foreign).await.as_deref(), Some("b"));
        sup.terminate_child(&c).await.unwrap();
        assert_eq!(within(c.wait()).await, ExitReason::Shutdown);
        sup.terminate_child(&c).await.unwrap();
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 0]);
    });
}

#[test]
fn which_children() {
    run(|| async {
        let sup = start_sup(flags(Strategy::OneForOne), vec![worker("c1"), worker("c2")]).await;
        let which = sup.which_children().await.unwrap();
        assert_eq!(
            which.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["c2", "c1"]
        );
        let c1 = child(&sup, "c1").await;
        assert_eq!(which[1].child(), Some(&c1));
        assert_eq!(which[1].kind, ChildKind::Worker);
        sup.terminate_child("c1").await.unwrap();
        assert_eq!(
            sup.which_child("c1").await.unwrap().state,
            ChildState::NotRunning
        );
        sup.delete_child("c1").await.unwrap();
        assert_eq!(
            sup.which_child("c1").await.unwrap_err(),
            ChildError::NotFound
        );
    });
}

#[test]
fn which_children_simple_one_for_one() {
    run(|| async {
        let sup = DynamicSupervisor::start(
            flags(Strategy::OneForOne),
            template(&Ctl::default(), &Log::default()),
        )
        .await
        .unwrap();
        let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
        let b = sup.start_child("b".into()).await.unwrap().child.unwrap();
        let mut refs: Vec<ChildRef> = sup
            .which_children()
            .await
            .unwrap()
            .into_iter()
            .filter_map(|i| i.child().cloned())
            .collect();
        refs.sort_by_key(|r| r == &b);
        assert_eq!(refs, [a.clone(), b.clone()]);
        assert_eq!(sup.which_child(&a).await.unwrap().child(), Some(&a));
        sup.terminate_child(&a).await.unwrap();
        assert_eq!(sup.which_child(&a).await.unwrap_err(), ChildError::NotFound);
    });
}

fn count_many(kind: ChildKind) {
    run(|| async move {
        let t = template(&Ctl::default(), &Log::default())
            .with_restart(Restart::Temporary)
            .with_kind(kind);
        let sup = DynamicSupervisor::start(flags(Strategy::OneForOne), t)
            .await
            .unwrap();
        let expect = |n| match kind {
            ChildKind::Worker => [1, n, 0, n],
            ChildKind::Supervisor => [1, n, n, 0],
        };
        let mut refs = Vec::new();
        for n in [1000, 2000] {
            while refs.len() < n {
                refs.push(
                    sup.start_child(format!("c{}", refs.len()))
                        .await
                        .unwrap()
                        .child
                        .unwrap(),
                );
            }
            assert_eq!(dcounts(&sup).await, expect(n));
        }
        for r in &refs {
            r.kill();
        }
        for r in &refs {
            within(r.wait()).await;
        }
        settle().await;
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 0]);
    });
}

#[test]
fn count_children() {
    count_many(ChildKind::Worker);
}

#[test]
fn count_children_supervisor() {
    count_many(ChildKind::Supervisor);
}

#[test]
fn count_restarting_children() {
    run(|| async {
        let ctl = Ctl::default();
        let f = flags(Strategy::OneForOne).intensity(1000, Duration::from_secs(3600));
        let sup = DynamicSupervisor::start(f, template(&ctl, &Log::default()))
            .await
            .unwrap();
        let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
        let b = sup.start_child("b".into()).await.unwrap().child.unwrap();
        ctl.set(Mode::SlowFail(Duration::from_millis(100)));
        kill(&a).await;
        kill(&b).await;
        settle().await;
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 2]);
        ctl.set(Mode::Start);
        eventually(|| {
            let sup = sup.clone();
            async move { sup.count_children().await.unwrap().as_array() == [1, 2, 0, 2] }
        })
        .await;
    });
}

fn restart_loop(strategy: Strategy) {
    run(|| async move {
        let ctl = Ctl::default();
        let f = SupFlags::new(strategy).intensity(1000, Duration::from_secs(10));
        let mut specs = vec![spec("child1", &ctl, &Log::default())];
        if strategy == Strategy::RestForOne {
            specs.insert(0, worker("child0"));
            specs.push(worker("child2"));
        }
        let sup = start_sup(f, specs).await;
        let c1 = child(&sup, "child1").await;
        ctl.set(Mode::SlowFail(Duration::from_millis(100)));
        kill(&c1).await;
        elapse(Duration::from_millis(500)).await;
        let again = spec("child1", &ctl, &Log::default());
        assert_eq!(
            sup.start_child(again).await.unwrap_err(),
            ChildError::AlreadyPresent("child1".into())
        );
        assert_eq!(
            sup.restart_child("child1").await.unwrap_err(),
            ChildError::Restarting
        );
        assert_eq!(
            sup.delete_child("child1").await.unwrap_err(),
            ChildError::Restarting
        );
        assert_eq!(
            sup.which_child("child1").await.unwrap().state,
            ChildState::Restarting
        );
        if strategy == Strategy::RestForOne {
            assert_eq!(
                sup.which_child("child2").await.unwrap().state,
                ChildState::NotRunning
            );
            assert_eq!(counts(&sup).await, [3, 1, 0, 3]);
        } else {
            assert_eq!(counts(&sup).await, [1, 0, 0, 1]);
        }
        sup.terminate_child("child1").await.unwrap();
        assert_eq!(
            sup.which_child("child1").await.unwrap().state,
            ChildState::NotRunning
        );
        ctl.set(Mode::Start);
        let c2 = sup.restart_child("child1").await.unwrap().child.unwrap();
        ctl.set(Mode::SlowFail(Duration::from_millis(100)));
        kill(&c2).await;
        elapse(Duration::from_millis(500)).await;
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
    });
}

#[test]
fn hanging_restart_loop() {
    restart_loop(Strategy::OneForOne);
}

#[test]
fn hanging_restart_loop_rest_for_one() {
    restart_loop(Strategy::RestForOne);
}

#[test]
fn hanging_restart_loop_simple() {
    run(|| async {
        let ctl = Ctl::default();
        let f = flags(Strategy::OneForOne).intensity(1000, Duration::from_secs(10));
        let sup = DynamicSupervisor::start(f, template(&ctl, &Log::default()))
            .await
            .unwrap();
        let c = sup.start_child("a".into()).await.unwrap().child.unwrap();
        ctl.set(Mode::SlowFail(Duration::from_millis(100)));
        kill(&c).await;
        elapse(Duration::from_millis(500)).await;
        assert_eq!(
            sup.which_child(&c).await.unwrap().state,
            ChildState::Restarting
        );
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 1]);
        sup.terminate_child(&c).await.unwrap();
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 0]);
        let c = sup.start_child("b".into()).await;
        assert!(c.is_err());
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
    });
}

#[test]
fn child_unlink() {
    run(|| async {
        let deaf = spec("child1", &Ctl::new(Mode::StartDeaf), &Log::default())
            .with_shutdown(Shutdown::Timeout(Duration::from_secs(1)));
        let sup = start_sup(flags(Strategy::OneForOne), vec![deaf]).await;
        let c = child(&sup, "child1").await;
        let t0 = tokio::time::Instant::now();
        within(sup.terminate_child("child1")).await.unwrap();
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(2),
            "{took:?}"
        );
        assert_eq!(c.exit_reason(), Some(ExitReason::Killed));
    });
}
