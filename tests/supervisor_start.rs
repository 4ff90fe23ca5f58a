//! Start-up: init results, ignored and failing children, spec defaults and validation.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

#[test]
fn sup_start_normal() {
    run(|| async {
        let sup = start_sup(flags(Strategy::OneForOne), vec![]).await;
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
    });
}

#[test]
fn sup_start_ignore_init() {
    run(|| async {
        let r = Supervisor::start(|| Init::Ignore).await.unwrap();
        assert!(matches!(r, Started::Ignored));
    });
}

#[test]
fn sup_start_ignore_child() {
    run(|| async {
        let sup = start_sup(flags(Strategy::OneForOne), vec![]).await;
        let ignore = spec("child1", &Ctl::new(Mode::Ignore), &Log::default());
        let r = sup.start_child(ignore).await.unwrap();
        assert_eq!(r.child, None);
        sup.start_child(worker("child2")).await.unwrap();
        let which = sup.which_children().await.unwrap();
        assert_eq!(which.len(), 2);
        assert_eq!(which[0].id, "child2");
        assert!(which[0].child().is_some());
        assert_eq!(which[1].id, "child1");
        assert_eq!(which[1].state, ChildState::NotRunning);
        assert_eq!(counts(&sup).await, [2, 1, 0, 2]);
    });
}

#[test]
fn sup_start_ignore_temporary_child() {
    run(|| async {
        let ignore = spec("child1", &Ctl::new(Mode::Ignore), &Log::default())
            .with_restart(Restart::Temporary);
        let sup = start_sup(flags(Strategy::OneForOne), vec![ignore, worker("child2")]).await;
        let which = sup.which_children().await.unwrap();
        assert_eq!(which.len(), 1);
        assert_eq!(which[0].id, "child2");
        assert_eq!(counts(&sup).await, [1, 1, 0, 1]);
    });
}

#[test]
fn sup_start_ignore_temporary_child_start_child() {
    run(|| async {
        let sup = start_sup(flags(Strategy::OneForOne), vec![]).await;
        let ignore = spec("child1", &Ctl::new(Mode::Ignore), &Log::default())
            .with_restart(Restart::Temporary);
        assert_eq!(sup.start_child(ignore).await.unwrap().child, None);
        sup.start_child(worker("child2")).await.unwrap();
        assert_eq!(counts(&sup).await, [1, 1, 0, 1]);
    });
}

fn ignore_simple(restart: Restart) {
    run(|| async move {
        let ctl = Ctl::new(Mode::Ignore);
        let t = template(&ctl, &Log::default()).with_restart(restart);
        let sup = DynamicSupervisor::start(flags(Strategy::OneForOne), t)
            .await
            .unwrap();
        assert_eq!(sup.start_child("c1".into()).await.unwrap().child, None);
        ctl.set(Mode::Start);
        sup.start_child("c2".into()).await.unwrap();
        assert_eq!(dcounts(&sup).await, [1, 1, 0, 1]);
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
    });
}

#[test]
fn sup_start_ignore_temporary_child_start_child_simple() {
    ignore_simple(Restart::Temporary);
}

#[test]
fn sup_start_ignore_permanent_child_start_child_simple() {
    ignore_simple(Restart::Permanent);
}

#[test]
fn sup_start_fail() {
    run(|| async {
        let r = Supervisor::start(|| panic!("init failed")).await;
        assert!(matches!(r, Err(SupervisorStartError::InitFailed(m)) if m.contains("init failed")));
        // a child failing at start-up stops the ones started before it
        let log = Log::default();
        let specs = vec![
            spec("c1", &Ctl::default(), &log),
            spec("c2", &Ctl::new(Mode::Fail), &log),
        ];
        let r = Supervisor::start(move || Init::Supervise(flags(Strategy::OneForOne), specs)).await;
        match r {
            Err(SupervisorStartError::FailedToStartChild { id, .. }) => assert_eq!(id, "c2"),
            other => panic!("unexpected {other:?}"),
        }
        settle().await;
        assert_eq!(log.take(), vec!["start c1", "stop c1"]);
    });
}

#[test]
fn sup_start_child_returns_error() {
    run(|| async {
        let sup = start_sup(flags(Strategy::OneForOne), vec![]).await;
        for mode in [Mode::Fail, Mode::Panic] {
            let s = spec("child1", &Ctl::new(mode), &Log::default());
            assert!(matches!(
                sup.start_child(s).await,
                Err(ChildError::StartFailed(_))
            ));
        }
        assert_eq!(sup.which_children().await.unwrap(), vec![]);
    });
}

#[test]
fn sup_start_child_returns_error_simple() {
    run(|| async {
        let ctl = Ctl::new(Mode::Fail);
        let sup =
            DynamicSupervisor::start(flags(Strategy::OneForOne), template(&ctl, &Log::default()))
                .await
                .unwrap();
        assert!(matches!(
            sup.start_child("a".into()).await,
            Err(ChildError::StartFailed(_))
        ));
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 0]);
    });
}

#[test]
fn sup_start_restart_child_returns_error() {
    run(|| async {
        let ctl = Ctl::default();
        let sup = start_sup(
            flags(Strategy::OneForOne),
            vec![spec("child1", &ctl, &Log::default())],
        )
        .await;
        sup.terminate_child("child1").await.unwrap();
        ctl.set(Mode::Fail);
        assert!(matches!(
            sup.restart_child("child1").await,
            Err(ChildError::StartFailed(_))
        ));
        assert_eq!(
            sup.which_child("child1").await.unwrap().state,
            ChildState::NotRunning
        );
    });
}

#[test]
fn sup_start_map() {
    run(|| async {
        let sup = start_sup(
            flags(Strategy::OneForOne),
            vec![
                worker("w"),
                Supervisor::child_spec("s", || Init::Supervise(SupFlags::default(), vec![])),
            ],
        )
        .await;
        let w = sup.get_childspec("w").await.unwrap();
        assert_eq!(
            (w.restart, w.shutdown, w.kind, w.significant),
            (
                Restart::Permanent,
                Shutdown::Timeout(Duration::from_secs(5)),
                ChildKind::Worker,
                false
            )
        );
        let s = sup.get_childspec("s").await.unwrap();
        assert_eq!(
            (s.shutdown, s.kind),
            (Shutdown::Infinity, ChildKind::Supervisor)
        );
        assert_eq!(
            sup.get_childspec("x").await.unwrap_err(),
            ChildError::NotFound
        );
        assert_eq!(counts(&sup).await, [2, 2, 1, 1]);
    });
}

#[test]
fn sup_start_map_simple() {
    run(|| async {
        let sup = DynamicSupervisor::start(
            flags(Strategy::OneForOne),
            template(&Ctl::default(), &Log::default()),
        )
        .await
        .unwrap();
        let c = sup.start_child("a".into()).await.unwrap().child.unwrap();
        let t = sup.get_childspec(&c).await.unwrap();
        assert_eq!(
            (t.restart, t.shutdown, t.kind),
            (
                Restart::Permanent,
                DEFAULT_WORKER_SHUTDOWN,
                ChildKind::Worker
            )
        );
        sup.terminate_child(&c).await.unwrap();
        assert_eq!(
            sup.get_childspec(&c).await.unwrap_err(),
            ChildError::NotFound
        );
    });
}

#[test]
fn extra_return() {
    run(|| async {
        let ctl = Ctl::new(Mode::StartInfo);
        let sup = start_sup(flags(Strategy::OneForOne), vec![]).await;
        let r = sup
            .start_child(spec("child1", &ctl, &Log::default()))
            .await
            .unwrap();
        assert_eq!(r.info, Some(serde_json::json!({"info": true})));
        sup.terminate_child("child1").await.unwrap();
        let r = sup.restart_child("child1").await.unwrap();
        assert!(r.info.is_some());
        let old = r.child.unwrap();
        kill(&old).await;
        let new = replaced(&sup, "child1", &old).await;
        assert_ne!(new, old);
    });
}

#[test]
fn simple_one_for_one_extra() {
    run(|| async {
        let ctl = Ctl::new(Mode::StartInfo);
        let sup =
            DynamicSupervisor::start(flags(Strategy::OneForOne), template(&ctl, &Log::default()))
                .await
                .unwrap();
        let r = sup.start_child("a".into()).await.unwrap();
        assert!(r.info.is_some());
        let old = r.child.unwrap();
        kill(&old).await;
        eventually(|| {
            let sup = sup.clone();
            let old = old.clone();
            async move {
                let w = sup.which_children().await.unwrap();
                w.len() == 1 && w[0].child().is_some_and(|c| *c != old)
            }
        })
        .await;
    });
}

#[test]
fn child_specs() {
    let f = SupFlags::default();
    let any = SupFlags::default().auto_shutdown(AutoShutdown::AnySignificant);
    let w = || worker("w");
    assert_eq!(
        validate_all(&f, &[w(), w()]),
        Err(SpecError::DuplicateChildId("w".into()))
    );
    assert_eq!(worker("").validate(&f), Err(SpecError::EmptyId));
    assert_eq!(
        w().with_significant(true).validate(&any),
        Err(SpecError::SignificantPermanent("w".into()))
    );
    assert_eq!(
        w().with_restart(Restart::Transient)
            .with_significant(true)
            .validate(&f),
        Err(SpecError::SignificantWithoutAutoShutdown("w".into()))
    );
    for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
        for shutdown in [
            Shutdown::BrutalKill,
            Shutdown::Infinity,
            Shutdown::Timeout(Duration::from_millis(1)),
        ] {
            for kind in [ChildKind::Worker, ChildKind::Supervisor] {
                let s = w()
                    .with_restart(restart)
                    .with_kind(kind)
                    .with_shutdown(shutdown);
                assert_eq!(s.validate(&f), Ok(()));
                if restart != Restart::Permanent {
                    assert_eq!(s.with_significant(true).validate(&any), Ok(()));
                }
            }
        }
    }
    run(|| async {
        let r = Supervisor::start(|| {
            Init::Supervise(SupFlags::default(), vec![worker("a"), worker("a")])
        })
        .await;
        assert_eq!(
            r.unwrap_err(),
            SupervisorStartError::InvalidSpec(SpecError::DuplicateChildId("a".into()))
        );
        let sup = start_sup(SupFlags::default(), vec![]).await;
        let bad = worker("x")
            .with_restart(Restart::Transient)
            .with_significant(true);
        assert!(matches!(
            sup.start_child(bad).await,
            Err(ChildError::InvalidSpec(_))
        ));
    });
}

#[test]
fn sup_flags() {
    assert_eq!(
        SupFlags::default().intensity(1, Duration::ZERO).validate(),
        Err(SpecError::InvalidPeriod)
    );
    assert_eq!(
        SupFlags::default()
            .auto_shutdown(AutoShutdown::AllSignificant)
            .validate_dynamic(),
        Err(SpecError::AutoShutdownOnDynamic)
    );
    for strategy in [
        Strategy::OneForOne,
        Strategy::OneForAll,
        Strategy::RestForOne,
    ] {
        for auto in [
            AutoShutdown::Never,
            AutoShutdown::AnySignificant,
            AutoShutdown::AllSignificant,
        ] {
            for intensity in [0, 1, 10] {
                let f = SupFlags::new(strategy)
                    .intensity(intensity, Duration::from_millis(1))
                    .auto_shutdown(auto);
                assert_eq!(f.validate(), Ok(()));
            }
        }
    }
    let d = SupFlags::default();
    assert_eq!(
        (d.strategy, d.intensity, d.period, d.auto_shutdown),
        (
            Strategy::OneForOne,
            1,
            Duration::from_secs(5),
            AutoShutdown::Never
        )
    );
    run(|| async {
        let r = Supervisor::start(|| {
            Init::Supervise(SupFlags::default().intensity(1, Duration::ZERO), vec![])
        })
        .await;
        assert_eq!(
            r.unwrap_err(),
            SupervisorStartError::InvalidSpec(SpecError::InvalidPeriod)
        );
    });
}
