//! one_for_one: only the exited child is restarted; intensity exceeded → the supervisor
//! exits; a panic on another arbiter restarts only that child.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

#[test]
fn one_for_one() {
    run(|| async {
        let sup = start_sup(
            flags(Strategy::OneForOne),
            vec![worker("child1"), worker("child2")],
        )
        .await;
        let (c1, c2) = (child(&sup, "child1").await, child(&sup, "child2").await);
        kill(&c1).await;
        let n1 = replaced(&sup, "child1", &c1).await;
        assert_eq!(child(&sup, "child2").await, c2);
        assert_eq!(counts(&sup).await, [2, 2, 0, 2]);
        kill(&n1).await;
        let n1 = replaced(&sup, "child1", &n1).await;
        kill(&n1).await;
        assert_eq!(sup_exit(&sup).await, ExitReason::Shutdown);
        assert_eq!(within(c2.wait()).await, ExitReason::Shutdown);
    });
}

/// A child whose restart always fails: the supervisor and its healthy siblings exit.
pub async fn escalation(strategy: Strategy) {
    let ctl = Ctl::default();
    let f = SupFlags::new(strategy).intensity(4, Duration::from_secs(3600));
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
}

#[test]
fn one_for_one_escalation() {
    run(|| escalation(Strategy::OneForOne));
}

#[test]
fn intensity_zero_gives_up_on_first_exit() {
    run(|| async {
        let f = SupFlags::new(Strategy::OneForOne).intensity(0, Duration::from_secs(1));
        let sup = start_sup(f, vec![worker("child1")]).await;
        kill(&child(&sup, "child1").await).await;
        assert_eq!(sup_exit(&sup).await, ExitReason::Shutdown);
    });
}

/// Management calls are served between attempts of a failing restart loop.
#[test]
fn failed_restart_is_retried_through_the_mailbox() {
    run(|| async {
        let ctl = Ctl::default();
        let f = SupFlags::new(Strategy::OneForOne).intensity(1000, Duration::from_secs(3600));
        let sup = start_sup(f, vec![spec("child1", &ctl, &Log::default())]).await;
        let c1 = child(&sup, "child1").await;
        ctl.set(Mode::SlowFail(Duration::from_millis(100)));
        kill(&c1).await;
        settle().await;
        assert_eq!(
            sup.which_child("child1").await.unwrap().state,
            ChildState::Restarting
        );
        ctl.set(Mode::Start);
        let n = replaced(&sup, "child1", &c1).await;
        assert_eq!(ping(&n).await.as_deref(), Some("child1"));
    });
}

/// A panic in a child on a second arbiter restarts only that child; the other actor on that
/// arbiter keeps answering.
#[actix_rt::test]
async fn panic_on_second_arbiter_restarts_only_that_child() {
    let arbiter = actix_rt::Arbiter::new();
    let handle = arbiter.handle();
    let remote = |id: &'static str| {
        let handle = handle.clone();
        ChildSpec::new(id, move |starter| {
            let handle = handle.clone();
            async move {
                let (_, h) = starter
                    .spawn_on(&handle, move |cx| Worker {
                        id: id.into(),
                        cx,
                        log: Log::default(),
                    })
                    .await?;
                Ok(Start::Started(h, None))
            }
        })
    };
    let sup = within(Supervisor::start(move || {
        Init::Supervise(flags(Strategy::OneForOne), vec![remote("a"), remote("b")])
    }))
    .await
    .unwrap()
    .running()
    .unwrap();
    let (a, b) = (child(&sup, "a").await, child(&sup, "b").await);
    a.addr::<Worker>().unwrap().do_send(Crash);
    assert!(matches!(within(a.wait()).await, ExitReason::Panicked(_)));
    let a2 = replaced(&sup, "a", &a).await;
    assert_eq!(ping(&a2).await.as_deref(), Some("a"));
    assert_eq!(ping(&b).await.as_deref(), Some("b"));
    assert_eq!(child(&sup, "b").await, b);
    assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
    arbiter.stop();
}
