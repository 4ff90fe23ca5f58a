//! rest_for_one: the exited child and those started after it are restarted.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

#[test]
fn rest_for_one() {
    run(|| async {
        let sup = start_sup(
            flags(Strategy::RestForOne),
            vec![worker("child1"), worker("child2"), worker("child3")],
        )
        .await;
        let (c1, c2, c3) = (
            child(&sup, "child1").await,
            child(&sup, "child2").await,
            child(&sup, "child3").await,
        );
        kill(&c2).await;
        let n2 = replaced(&sup, "child2", &c2).await;
        let _n3 = replaced(&sup, "child3", &c3).await;
        assert_eq!(child(&sup, "child1").await, c1);
        assert_eq!(counts(&sup).await, [3, 3, 0, 3]);
        kill(&n2).await;
        let n2 = replaced(&sup, "child2", &n2).await;
        kill(&n2).await;
        assert_eq!(sup_exit(&sup).await, ExitReason::Shutdown);
        assert_eq!(within(c1.wait()).await, ExitReason::Shutdown);
    });
}

#[test]
fn rest_for_one_other_child_fails_restart() {
    run(|| async {
        let log = Log::default();
        let ctl3 = Ctl::default();
        let f = flags(Strategy::RestForOne).intensity(10, Duration::from_secs(3600));
        let sup = start_sup(
            f,
            vec![
                spec("child1", &Ctl::default(), &log),
                spec("child2", &Ctl::default(), &log),
                spec("child3", &ctl3, &log),
            ],
        )
        .await;
        let c2 = child(&sup, "child2").await;
        ctl3.set(Mode::FailOnce);
        log.take();
        kill(&c2).await;
        settle().await;
        // child3 failed once; the retry restarted it alone, child2 was not restarted again
        assert_eq!(
            log.take(),
            ["stop child2", "stop child3", "start child2", "start child3"]
        );
        assert_eq!(counts(&sup).await, [3, 3, 0, 3]);
    });
}

#[test]
fn rest_for_one_escalation() {
    run(|| async {
        let ctl = Ctl::default();
        let f = SupFlags::new(Strategy::RestForOne).intensity(4, Duration::from_secs(3600));
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
fn order_of_children() {
    run(|| async {
        let log = Log::default();
        let ids = ["c1", "c2", "c3", "c4", "c5"];
        let specs = ids
            .iter()
            .map(|id| spec(id, &Ctl::default(), &log))
            .collect();
        let sup = start_sup(flags(Strategy::RestForOne), specs).await;
        assert_eq!(log.starts(), ids);
        kill(&child(&sup, "c3").await).await;
        settle().await;
        assert_eq!(
            log.take(),
            ["stop c3", "stop c5", "stop c4", "start c3", "start c4", "start c5"]
        );
        within(sup.stop()).await;
        assert_eq!(log.stops(), ["c5", "c4", "c3", "c2", "c1"]);
    });
}
