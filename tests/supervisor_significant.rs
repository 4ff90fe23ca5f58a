//! Significant children and auto_shutdown (SPEC 3.7).

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

fn sig(id: &str, restart: Restart) -> ChildSpec {
    worker(id).with_restart(restart).with_significant(true)
}

fn auto(auto: AutoShutdown) -> SupFlags {
    flags(Strategy::OneForOne)
        .intensity(10, Duration::from_secs(3600))
        .auto_shutdown(auto)
}

#[test]
fn nonsignificant_temporary() {
    run(|| async {
        for a in [AutoShutdown::AnySignificant, AutoShutdown::AllSignificant] {
            let sup = start_sup(auto(a), vec![worker("c").with_restart(Restart::Temporary)]).await;
            exit(&child(&sup, "c").await, ExitReason::Normal).await;
            settle().await;
            assert_eq!(sup.exit_reason(), None);
        }
    });
}

#[test]
fn nonsignificant_transient() {
    run(|| async {
        for a in [AutoShutdown::AnySignificant, AutoShutdown::AllSignificant] {
            let sup = start_sup(auto(a), vec![worker("c").with_restart(Restart::Transient)]).await;
            exit(&child(&sup, "c").await, ExitReason::Normal).await;
            settle().await;
            assert_eq!(sup.exit_reason(), None);
        }
    });
}

#[test]
fn significant_temporary() {
    run(|| async {
        // AnySignificant: kill / abnormal / normal exit → shutdown
        for how in 0..3 {
            let sup = start_sup(
                auto(AutoShutdown::AnySignificant),
                vec![sig("c1", Restart::Temporary), worker("c2")],
            )
            .await;
            let (c1, c2) = (child(&sup, "c1").await, child(&sup, "c2").await);
            match how {
                0 => drop(kill(&c1).await),
                1 => drop(exit(&c1, ExitReason::Error("x".into())).await),
                _ => drop(exit(&c1, ExitReason::Normal).await),
            }
            assert_eq!(within(sup.wait()).await, ExitReason::Shutdown);
            assert_eq!(c2.exit_reason(), Some(ExitReason::Shutdown));
        }
        // terminate_child → no auto shutdown
        let sup = start_sup(
            auto(AutoShutdown::AnySignificant),
            vec![sig("c1", Restart::Temporary)],
        )
        .await;
        sup.terminate_child("c1").await.unwrap();
        settle().await;
        assert_eq!(sup.exit_reason(), None);
        // AllSignificant: first of two → nothing, second → shutdown
        let sup = start_sup(
            auto(AutoShutdown::AllSignificant),
            vec![sig("c1", Restart::Temporary), sig("c2", Restart::Temporary)],
        )
        .await;
        kill(&child(&sup, "c1").await).await;
        settle().await;
        assert_eq!(sup.exit_reason(), None);
        kill(&child(&sup, "c2").await).await;
        assert_eq!(within(sup.wait()).await, ExitReason::Shutdown);
    });
}

#[test]
fn significant_transient() {
    run(|| async {
        let sup = start_sup(
            auto(AutoShutdown::AnySignificant),
            vec![sig("c1", Restart::Transient)],
        )
        .await;
        let c = child(&sup, "c1").await;
        kill(&c).await;
        let c = replaced(&sup, "c1", &c).await;
        exit(&c, ExitReason::Error("x".into())).await;
        let c = replaced(&sup, "c1", &c).await;
        assert_eq!(sup.exit_reason(), None);
        exit(&c, ExitReason::Normal).await;
        assert_eq!(within(sup.wait()).await, ExitReason::Shutdown);

        let sup = start_sup(
            auto(AutoShutdown::AllSignificant),
            vec![sig("c1", Restart::Transient), sig("c2", Restart::Transient)],
        )
        .await;
        exit(&child(&sup, "c1").await, ExitReason::Normal).await;
        settle().await;
        assert_eq!(sup.exit_reason(), None);
        exit(&child(&sup, "c2").await, ExitReason::Shutdown).await;
        assert_eq!(within(sup.wait()).await, ExitReason::Shutdown);
    });
}

#[test]
fn significant_simple() {
    run(|| async {
        for a in [AutoShutdown::AnySignificant, AutoShutdown::AllSignificant] {
            let t = template(&Ctl::default(), &Log::default()).with_restart(Restart::Temporary);
            let r = DynamicSupervisor::start(SupFlags::default().auto_shutdown(a), t).await;
            assert_eq!(
                r.unwrap_err(),
                SupervisorStartError::InvalidSpec(SpecError::AutoShutdownOnDynamic)
            );
        }
        let t = template(&Ctl::default(), &Log::default());
        assert!(DynamicSupervisor::start(SupFlags::default(), t)
            .await
            .is_ok());
    });
}

#[test]
fn significant_bystander() {
    run(|| async {
        let f = auto(AutoShutdown::AnySignificant);
        let f = SupFlags {
            strategy: Strategy::OneForAll,
            ..f
        };
        let sup = start_sup(f, vec![worker("c1"), sig("c2", Restart::Temporary)]).await;
        let (c1, c2) = (child(&sup, "c1").await, child(&sup, "c2").await);
        kill(&c1).await;
        replaced(&sup, "c1", &c1).await;
        assert_eq!(within(c2.wait()).await, ExitReason::Shutdown);
        assert_eq!(sup.exit_reason(), None);
    });
}

#[test]
fn significant_escalation() {
    run(|| async {
        for significant in [true, false] {
            let inner = Supervisor::child_spec("inner", || {
                Init::Supervise(
                    auto(AutoShutdown::AnySignificant),
                    vec![sig("leaf", Restart::Temporary)],
                )
            })
            .with_restart(Restart::Transient)
            .with_significant(significant);
            let flags = if significant {
                auto(AutoShutdown::AnySignificant)
            } else {
                auto(AutoShutdown::Never)
            };
            let top = start_sup(flags, vec![inner, worker("other")]).await;
            let inner_ref = child(&top, "inner").await;
            let inner = SupervisorRef::from_child(&inner_ref).unwrap();
            exit(&child(&inner, "leaf").await, ExitReason::Normal).await;
            assert_eq!(within(inner_ref.wait()).await, ExitReason::Shutdown);
            settle().await;
            if significant {
                assert_eq!(within(top.wait()).await, ExitReason::Shutdown);
            } else {
                assert_eq!(top.exit_reason(), None);
                assert_eq!(
                    top.which_child("inner").await.unwrap().state,
                    ChildState::NotRunning
                );
            }
        }
    });
}
