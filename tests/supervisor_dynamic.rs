//! DynamicSupervisor (simple_one_for_one): template, args, restarts, max_children.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

async fn running<A: Clone + Send + 'static>(sup: &DynamicSupervisorRef<A>) -> Vec<ChildRef> {
    within(sup.which_children())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|i| i.child().cloned())
        .collect()
}

#[test]
fn simple_one_for_one() {
    run(|| async {
        let sup = DynamicSupervisor::start(
            flags(Strategy::OneForOne),
            template(&Ctl::default(), &Log::default()),
        )
        .await
        .unwrap();
        let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
        let b = sup.start_child("b".into()).await.unwrap().child.unwrap();
        kill(&a).await;
        eventually(|| {
            let sup = sup.clone();
            let (a, b) = (a.clone(), b.clone());
            async move {
                let r = running(&sup).await;
                r.len() == 2 && r.contains(&b) && !r.contains(&a)
            }
        })
        .await;
        // the restarted child got the same args
        let names: Vec<_> = {
            let mut v = Vec::new();
            for c in running(&sup).await {
                v.push(ping(&c).await.unwrap());
            }
            v.sort();
            v
        };
        assert_eq!(names, ["a", "b"]);
        for c in running(&sup).await.iter().take(1) {
            kill(c).await;
        }
        settle().await;
        let c = running(&sup).await.pop().unwrap();
        kill(&c).await;
        assert_eq!(within(sup.wait()).await, ExitReason::Shutdown);
    });
}

#[test]
fn simple_one_for_one_escalation() {
    run(|| async {
        let ctl = Ctl::default();
        let f = SupFlags::default().intensity(4, Duration::from_secs(3600));
        let sup = DynamicSupervisor::start(f, template(&ctl, &Log::default()))
            .await
            .unwrap();
        let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
        let b = sup.start_child("b".into()).await.unwrap().child.unwrap();
        ctl.set(Mode::Fail);
        kill(&a).await;
        assert_eq!(within(sup.wait()).await, ExitReason::Shutdown);
        assert_eq!(within(b.wait()).await, ExitReason::Shutdown);
    });
}

#[test]
fn simple_one_for_one_shutdown() {
    run(|| async {
        let log = Log::default();
        let fast = template(&Ctl::new(Mode::StartDeaf), &log)
            .with_shutdown(Shutdown::Timeout(Duration::from_secs(1)));
        let slow = template(&Ctl::new(Mode::StartDeaf), &log)
            .with_shutdown(Shutdown::Timeout(Duration::from_secs(5)));
        for (t, min, max) in [(fast, 1, 2), (slow, 5, 6)] {
            let sup = DynamicSupervisor::start(SupFlags::default(), t)
                .await
                .unwrap();
            for i in 0..10 {
                sup.start_child(format!("c{i}")).await.unwrap();
            }
            let t0 = tokio::time::Instant::now();
            assert_eq!(within(sup.stop()).await, ExitReason::Shutdown);
            let took = t0.elapsed();
            assert!(
                took >= Duration::from_secs(min) && took < Duration::from_secs(max),
                "{took:?}"
            );
        }
    });
}

#[test]
fn simple_one_for_one_restart_ignore() {
    run(|| async {
        let ctl = Ctl::default();
        let sup =
            DynamicSupervisor::start(flags(Strategy::OneForOne), template(&ctl, &Log::default()))
                .await
                .unwrap();
        let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
        ctl.set(Mode::Ignore);
        kill(&a).await;
        settle().await;
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 0]);
        assert_eq!(sup.exit_reason(), None);
    });
}

#[test]
fn max_children() {
    run(|| async {
        let f = SupFlags::default().max_children(2);
        let sup = DynamicSupervisor::start(f, template(&Ctl::default(), &Log::default()))
            .await
            .unwrap();
        let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
        sup.start_child("b".into()).await.unwrap();
        assert_eq!(
            sup.start_child("c".into()).await.unwrap_err(),
            ChildError::MaxChildren
        );
        sup.terminate_child(&a).await.unwrap();
        sup.start_child("c".into()).await.unwrap();
    });
}

#[test]
fn dynamic_transient_normal_exit_removes_the_child() {
    run(|| async {
        let t = template(&Ctl::default(), &Log::default()).with_restart(Restart::Transient);
        let sup = DynamicSupervisor::start(SupFlags::default(), t)
            .await
            .unwrap();
        let a = sup.start_child("a".into()).await.unwrap().child.unwrap();
        exit(&a, ExitReason::Normal).await;
        settle().await;
        assert_eq!(dcounts(&sup).await, [1, 0, 0, 0]);
    });
}
