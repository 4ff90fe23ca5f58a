//! The shutdown protocol: Infinity, Timeout, BrutalKill, children exiting on their own
//! during shutdown, and a panicking supervisor.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

#[test]
fn sup_stop_infinity() {
    run(|| async {
        let s = |id| worker(id).with_shutdown(Shutdown::Infinity);
        let sup = start_sup(flags(Strategy::OneForOne), vec![s("c1"), s("c2")]).await;
        let (c1, c2) = (child(&sup, "c1").await, child(&sup, "c2").await);
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
        assert_eq!(c1.exit_reason(), Some(ExitReason::Shutdown));
        assert_eq!(c2.exit_reason(), Some(ExitReason::Shutdown));
    });
}

#[test]
fn sup_stop_timeout() {
    run(|| async {
        let one = Shutdown::Timeout(Duration::from_secs(1));
        let deaf = spec("deaf", &Ctl::new(Mode::StartDeaf), &Log::default()).with_shutdown(one);
        let sup = start_sup(
            flags(Strategy::OneForOne),
            vec![worker("c1").with_shutdown(one), deaf],
        )
        .await;
        let (c1, d) = (child(&sup, "c1").await, child(&sup, "deaf").await);
        let t0 = tokio::time::Instant::now();
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
        assert!(t0.elapsed() >= Duration::from_secs(1));
        assert_eq!(d.exit_reason(), Some(ExitReason::Killed));
        assert_eq!(c1.exit_reason(), Some(ExitReason::Shutdown));
    });
}

#[test]
fn sup_stop_timeout_dynamic() {
    run(|| async {
        let one = Shutdown::Timeout(Duration::from_secs(1));
        let t = template(&Ctl::new(Mode::StartDeaf), &Log::default()).with_shutdown(one);
        let sup = DynamicSupervisor::start(SupFlags::default(), t)
            .await
            .unwrap();
        let d = sup.start_child("deaf".into()).await.unwrap().child.unwrap();
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
        assert_eq!(d.exit_reason(), Some(ExitReason::Killed));
    });
}

#[test]
fn sup_stop_brutal_kill() {
    run(|| async {
        let bk = worker("bk").with_shutdown(Shutdown::BrutalKill);
        let sup = start_sup(flags(Strategy::OneForOne), vec![worker("c1"), bk]).await;
        let (c1, b) = (child(&sup, "c1").await, child(&sup, "bk").await);
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
        assert_eq!(b.exit_reason(), Some(ExitReason::Killed));
        assert_eq!(c1.exit_reason(), Some(ExitReason::Shutdown));
    });
}

#[test]
fn sup_stop_brutal_kill_dynamic() {
    run(|| async {
        let t = template(&Ctl::default(), &Log::default()).with_shutdown(Shutdown::BrutalKill);
        let sup = DynamicSupervisor::start(SupFlags::default(), t)
            .await
            .unwrap();
        let mut refs = Vec::new();
        for i in 0..10 {
            refs.push(
                sup.start_child(format!("c{i}"))
                    .await
                    .unwrap()
                    .child
                    .unwrap(),
            );
        }
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
        for r in refs {
            assert_eq!(r.exit_reason(), Some(ExitReason::Killed));
        }
    });
}

/// Children that exit on their own while the supervisor stops keep their reasons.
#[test]
fn sup_stop_race() {
    run(|| async {
        let reasons = [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::ShutdownWith("bye".into()),
            ExitReason::Error("oops".into()),
        ];
        let mut specs = Vec::new();
        for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
            for i in 0..reasons.len() {
                specs.push(worker(&format!("{restart:?}{i}")).with_restart(restart));
            }
        }
        let sup = start_sup(flags(Strategy::OneForOne), specs).await;
        let mut expected = Vec::new();
        for info in sup.which_children().await.unwrap() {
            let i: usize = info.id[info.id.len() - 1..].parse().unwrap();
            let c = info.child().cloned().unwrap();
            c.addr::<Worker>()
                .unwrap()
                .do_send(Exit(reasons[i].clone()));
            expected.push((c, reasons[i].clone()));
        }
        // the stop request is queued behind the exit notices' causes
        assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
        for (c, r) in expected {
            assert_eq!(c.exit_reason(), Some(r));
        }
    });
}

#[test]
fn sup_stop_non_shutdown_exit_dynamic() {
    run(|| async {
        for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
            let t = template(&Ctl::default(), &Log::default()).with_restart(restart);
            let sup = DynamicSupervisor::start(
                SupFlags::default().intensity(100, Duration::from_secs(1)),
                t,
            )
            .await
            .unwrap();
            let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
            a.addr::<Worker>()
                .unwrap()
                .do_send(Exit(ExitReason::Error("x".into())));
            assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
            assert_eq!(a.exit_reason(), Some(ExitReason::Error("x".into())));
        }
    });
}

/// A supervisor whose task ends abruptly (killed, or panicked) aborts its children (OTP's
/// links); its parent sees the reason and restarts it.
#[test]
fn killed_supervisor_takes_its_children_along() {
    run(|| async {
        let inner = Supervisor::child_spec("inner", || {
            Init::Supervise(flags(Strategy::OneForOne), vec![worker("leaf")])
        });
        let top = start_sup(flags(Strategy::OneForOne), vec![inner]).await;
        let inner_ref = child(&top, "inner").await;
        let inner = SupervisorRef::from_child(&inner_ref).unwrap();
        let leaf = child(&inner, "leaf").await;
        // a start function that panics is an error, not a supervisor crash
        let boom = ChildSpec::new("boom", |_| async { panic!("in start") });
        assert!(matches!(
            inner.start_child(boom).await,
            Err(ChildError::StartFailed(_))
        ));
        assert_eq!(ping(&leaf).await.as_deref(), Some("leaf"));
        assert_eq!(kill(&inner_ref).await, ExitReason::Killed);
        assert_eq!(within(leaf.wait()).await, ExitReason::Killed);
        let new_inner = replaced(&top, "inner", &inner_ref).await;
        let new_inner = SupervisorRef::from_child(&new_inner).unwrap();
        let leaf2 = child(&new_inner, "leaf").await;
        assert_eq!(ping(&leaf2).await.as_deref(), Some("leaf"));
        assert_eq!(within(top.stop()).await, ExitReason::Shutdown);
        assert_eq!(leaf2.exit_reason(), Some(ExitReason::Shutdown));
    });
}

/// An abort cannot interrupt a handler that never yields: the supervisor waits 5 s more,
/// reports `shutdown_error` (unkillable), forgets the child and finishes its shutdown.
#[actix_rt::test]
async fn unkillable_child_does_not_block_shutdown() {
    let arbiter = actix_rt::Arbiter::new();
    let on = arbiter.handle();
    let stuck = ChildSpec::new("stuck", move |starter| {
        let on = on.clone();
        async move {
            let make = |cx| Worker {
                id: "stuck".into(),
                cx,
                log: Log::default(),
            };
            let (_, h) = starter.spawn_on(&on, make).await?;
            Ok(Start::Started(h, None))
        }
    })
    .with_shutdown(Shutdown::BrutalKill);
    let sup = within(Supervisor::start(move || {
        Init::Supervise(flags(Strategy::OneForOne), vec![stuck])
    }))
    .await
    .unwrap()
    .running()
    .unwrap();
    let c = child(&sup, "stuck").await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    c.addr::<Worker>()
        .unwrap()
        .do_send(Block(Duration::from_secs(8), tx));
    within(rx).await.unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(8),
        "{took:?}"
    );
    arbiter.stop();
}
