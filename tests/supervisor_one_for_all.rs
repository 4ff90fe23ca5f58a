//! one_for_all: every child is restarted when one exits.

#[path = "supervisor_support/mod.rs"]
mod common;

use amoc::supervisor::*;
use common::*;

#[test]
fn one_for_all() {
    run(|| async {
        let sup = start_sup(
            flags(Strategy::OneForAll),
            vec![worker("child1"), worker("child2")],
        )
        .await;
        let (c1, c2) = (child(&sup, "child1").await, child(&sup, "child2").await);
        kill(&c1).await;
        let n1 = replaced(&sup, "child1", &c1).await;
        let n2 = replaced(&sup, "child2", &c2).await;
        assert_eq!(within(c2.wait()).await, ExitReason::Shutdown);
        assert_eq!(counts(&sup).await, [2, 2, 0, 2]);
        kill(&n2).await;
        let n1b = replaced(&sup, "child1", &n1).await;
        kill(&n1b).await;
        assert_eq!(sup_exit(&sup).await, ExitReason::Shutdown);
    });
}

#[test]
fn one_for_all_restarts_terminated_children_too() {
    run(|| async {
        let sup = start_sup(
            flags(Strategy::OneForAll),
            vec![worker("child1"), worker("child2")],
        )
        .await;
        sup.terminate_child("child2").await.unwrap();
        kill(&child(&sup, "child1").await).await;
        eventually(|| {
            let sup = sup.clone();
            async move { sup.count_children().await.unwrap().active == 2 }
        })
        .await;
    });
}

#[test]
fn one_for_all_other_child_fails_restart() {
    run(|| async {
        let ctl2 = Ctl::default();
        let log = Log::default();
        let f = flags(Strategy::OneForAll).intensity(10, std::time::Duration::from_secs(3600));
        let sup = start_sup(
            f,
            vec![
                spec("child1", &Ctl::default(), &log),
                spec("child2", &ctl2, &log),
            ],
        )
        .await;
        let c1 = child(&sup, "child1").await;
        ctl2.set(Mode::FailOnce);
        log.take();
        kill(&c1).await;
        settle().await;
        // child1 was restarted, child2 failed; the retry stopped child1 again, then
        // restarted both
        assert_eq!(
            log.take(),
            [
                "stop child1",
                "stop child2",
                "start child1",
                "stop child1",
                "start child1",
                "start child2"
            ]
        );
        eventually(|| {
            let sup = sup.clone();
            async move { sup.count_children().await.unwrap().active == 2 }
        })
        .await;
    });
}

#[test]
fn one_for_all_escalation() {
    run(|| async {
        let ctl = Ctl::default();
        let f =
            SupFlags::new(Strategy::OneForAll).intensity(4, std::time::Duration::from_secs(3600));
        let sup = start_sup(
            f,
            vec![spec("child1", &ctl, &Log::default()), worker("child2")],
        )
        .await;
        let (c1, c2) = (child(&sup, "child1").await, child(&sup, "child2").await);
        ctl.set(Mode::Fail);
        kill(&c1).await;
        assert_eq!(sup_exit(&sup).await, ExitReason::Shutdown);
        assert_eq!(within(c2.wait()).await, ExitReason::Shutdown);
    });
}

#[test]
fn temporary_bystander() {
    run(|| async {
        for strategy in [Strategy::OneForAll, Strategy::RestForOne] {
            let sup = start_sup(
                flags(strategy),
                vec![
                    worker("child1"),
                    worker("child2").with_restart(Restart::Temporary),
                ],
            )
            .await;
            let (c1, c2) = (child(&sup, "child1").await, child(&sup, "child2").await);
            kill(&c1).await;
            replaced(&sup, "child1", &c1).await;
            assert_eq!(within(c2.wait()).await, ExitReason::Shutdown);
            assert_eq!(
                sup.which_child("child2").await.unwrap_err(),
                ChildError::NotFound
            );
            assert_eq!(counts(&sup).await, [1, 1, 0, 1]);
            assert_eq!(sup.exit_reason(), None);
        }
    });
}
