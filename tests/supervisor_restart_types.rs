//! Permanent, transient and temporary children exiting on their own (SPEC 3.3), and the
//! intensity window over time.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

async fn one_child(restart: Restart) -> (SupervisorRef, ChildRef) {
    let sup = start_sup(
        flags(Strategy::OneForOne),
        vec![worker("child1").with_restart(restart)],
    )
    .await;
    let c = child(&sup, "child1").await;
    (sup, c)
}

async fn check_restarted(restart: Restart, reason: Option<ExitReason>) {
    let (sup, c) = one_child(restart).await;
    match reason {
        Some(r) => assert_eq!(exit(&c, r.clone()).await, r),
        None => assert_eq!(kill(&c).await, ExitReason::Killed),
    }
    let new = replaced(&sup, "child1", &c).await;
    assert_eq!(ping(&new).await.as_deref(), Some("child1"));
    assert_eq!(counts(&sup).await, [1, 1, 0, 1]);
}

async fn check_not_restarted(restart: Restart, reason: ExitReason, left: [usize; 4]) {
    let (sup, c) = one_child(restart).await;
    assert!(exit(&c, reason).await.is_normal());
    settle().await;
    assert_eq!(counts(&sup).await, left);
    if restart == Restart::Transient {
        assert_eq!(
            sup.which_child("child1").await.unwrap().state,
            ChildState::NotRunning
        );
    } else {
        assert_eq!(
            sup.which_child("child1").await.unwrap_err(),
            ChildError::NotFound
        );
    }
}

#[test]
fn permanent_normal() {
    run(|| check_restarted(Restart::Permanent, Some(ExitReason::Normal)));
}

#[test]
fn permanent_shutdown() {
    run(|| async {
        check_restarted(Restart::Permanent, Some(ExitReason::Shutdown)).await;
        check_restarted(
            Restart::Permanent,
            Some(ExitReason::ShutdownWith("x".into())),
        )
        .await;
    });
}

#[test]
fn permanent_abnormal() {
    run(|| async {
        check_restarted(Restart::Permanent, Some(ExitReason::Error("boom".into()))).await;
        check_restarted(Restart::Permanent, None).await;
    });
}

#[test]
fn transient_normal() {
    run(|| check_not_restarted(Restart::Transient, ExitReason::Normal, [1, 0, 0, 1]));
}

#[test]
fn transient_shutdown() {
    run(|| async {
        check_not_restarted(Restart::Transient, ExitReason::Shutdown, [1, 0, 0, 1]).await;
        check_not_restarted(
            Restart::Transient,
            ExitReason::ShutdownWith("x".into()),
            [1, 0, 0, 1],
        )
        .await;
    });
}

#[test]
fn transient_abnormal() {
    run(|| async {
        check_restarted(Restart::Transient, Some(ExitReason::Error("boom".into()))).await;
        check_restarted(Restart::Transient, None).await;
    });
}

#[test]
fn transient_panic_is_abnormal() {
    run(|| async {
        let (sup, c) = one_child(Restart::Transient).await;
        c.addr::<Worker>().unwrap().do_send(Crash);
        assert!(
            matches!(within(c.wait()).await, ExitReason::Panicked(m) if m.contains("on purpose"))
        );
        replaced(&sup, "child1", &c).await;
    });
}

#[test]
fn temporary_normal() {
    run(|| check_not_restarted(Restart::Temporary, ExitReason::Normal, [0, 0, 0, 0]));
}

#[test]
fn temporary_shutdown() {
    run(|| async {
        check_not_restarted(Restart::Temporary, ExitReason::Shutdown, [0, 0, 0, 0]).await;
        check_not_restarted(
            Restart::Temporary,
            ExitReason::ShutdownWith("x".into()),
            [0, 0, 0, 0],
        )
        .await;
    });
}

#[test]
fn temporary_abnormal() {
    run(|| async {
        let (sup, c) = one_child(Restart::Temporary).await;
        kill(&c).await;
        settle().await;
        assert_eq!(counts(&sup).await, [0, 0, 0, 0]);
        let (sup, c) = one_child(Restart::Temporary).await;
        exit(&c, ExitReason::Error("x".into())).await;
        settle().await;
        assert_eq!(counts(&sup).await, [0, 0, 0, 0]);
    });
}

/// Every strategy, every way of ending: permanent/transient specs remain, temporary go.
#[test]
fn do_not_save_child_specs_for_temporary_children() {
    run(|| async {
        for strategy in [
            Strategy::OneForOne,
            Strategy::OneForAll,
            Strategy::RestForOne,
        ] {
            let sup = start_sup(
                flags(strategy).intensity(100, Duration::from_secs(3600)),
                vec![],
            )
            .await;
            for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
                let spec = || worker("c").with_restart(restart);
                // terminate_child
                let c = sup.start_child(spec()).await.unwrap().child.unwrap();
                sup.terminate_child("c").await.unwrap();
                let kept = sup.which_child("c").await.is_ok();
                assert_eq!(
                    kept,
                    restart != Restart::Temporary,
                    "{strategy:?} {restart:?}"
                );
                if kept {
                    sup.delete_child("c").await.unwrap();
                }
                drop(c);
                // normal exit
                let c = sup.start_child(spec()).await.unwrap().child.unwrap();
                exit(&c, ExitReason::Normal).await;
                settle().await;
                let kept = sup.which_child("c").await.is_ok();
                assert_eq!(kept, restart != Restart::Temporary);
                if kept {
                    sup.terminate_child("c").await.unwrap();
                    sup.delete_child("c").await.unwrap();
                }
                // abnormal exit
                let c = sup.start_child(spec()).await.unwrap().child.unwrap();
                kill(&c).await;
                settle().await;
                let kept = sup.which_child("c").await.is_ok();
                assert_eq!(kept, restart != Restart::Temporary);
                if kept {
                    sup.terminate_child("c").await.unwrap();
                    sup.delete_child("c").await.unwrap();
                }
            }
            assert_eq!(counts(&sup).await, [0, 0, 0, 0]);
            sup.stop().await;
        }
    });
}

#[test]
fn do_not_save_start_parameters_for_temporary_children() {
    run(|| async {
        let t = template(&Ctl::default(), &Log::default()).with_restart(Restart::Temporary);
        let sup = DynamicSupervisor::start(flags(Strategy::OneForOne), t)
            .await
            .unwrap();
        let c = sup.start_child("t".into()).await.unwrap().child.unwrap();
        kill(&c).await;
        settle().await;
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 0]);
        assert_eq!(sup.which_child(&c).await.unwrap_err(), ChildError::NotFound);
    });
}

#[test]
fn multiple_restarts() {
    run(|| async {
        let f = SupFlags::new(Strategy::OneForOne).intensity(1, Duration::from_secs(1));
        let sup = start_sup(f, vec![worker("child1")]).await;
        let mut c = child(&sup, "child1").await;
        for _ in 0..10 {
            elapse(Duration::from_millis(2100)).await;
            kill(&c).await;
            c = replaced(&sup, "child1", &c).await;
        }
        assert_eq!(sup.exit_reason(), None);
        // a second restart within the period: gives up
        kill(&c).await;
        assert_eq!(sup_exit(&sup).await, ExitReason::Shutdown);
    });
}
