//! Supervision trees: restarts stay local, exceeded intensity escalates to the parent.

#[path = "supervisor_support/mod.rs"]
mod common;

use std::time::Duration;

use amoc::supervisor::*;
use common::*;

fn inner(id: &str) -> ChildSpec {
    Supervisor::child_spec(id, || {
        Init::Supervise(
            SupFlags::new(Strategy::OneForOne).intensity(1, Duration::from_secs(3600)),
            vec![worker("leaf")],
        )
    })
}

async fn sub(top: &SupervisorRef, id: &str) -> (ChildRef, SupervisorRef) {
    let c = child(top, id).await;
    let s = SupervisorRef::from_child(&c).unwrap();
    (c, s)
}

/// Kills `s`'s leaf until `s` exceeds its intensity and exits with `Shutdown`.
async fn exceed(s: &SupervisorRef, s_ref: &ChildRef) {
    while s_ref.exit_reason().is_none() {
        if let Some(leaf) = s
            .which_child("leaf")
            .await
            .ok()
            .and_then(|i| i.child().cloned())
        {
            kill(&leaf).await;
        }
        settle().await;
    }
    assert_eq!(within(s_ref.wait()).await, ExitReason::Shutdown);
}

#[test]
fn tree() {
    run(|| async {
        let f = SupFlags::new(Strategy::OneForAll).intensity(4, Duration::from_secs(3600));
        let top = start_sup(f, vec![inner("sup1"), inner("sup2")]).await;
        let (r1, s1) = sub(&top, "sup1").await;
        let (r2, _) = sub(&top, "sup2").await;
        s1.start_child(worker("extra")).await.unwrap();
        // killing a leaf restarts only it
        let leaf = child(&s1, "leaf").await;
        kill(&leaf).await;
        replaced(&s1, "leaf", &leaf).await;
        assert_eq!(child(&top, "sup1").await, r1);
        assert_eq!(child(&top, "sup2").await, r2);
        // a child supervisor's intensity exceeded → all child supervisors restarted
        exceed(&s1, &r1).await;
        let n1 = replaced(&top, "sup1", &r1).await;
        let n2 = replaced(&top, "sup2", &r2).await;
        assert_eq!(within(r2.wait()).await, ExitReason::Shutdown);
        let s1 = SupervisorRef::from_child(&n1).unwrap();
        let s2 = SupervisorRef::from_child(&n2).unwrap();
        // without the dynamically added child
        assert_eq!(counts(&s1).await, [1, 1, 0, 1]);
        assert_eq!(counts(&s2).await, [1, 1, 0, 1]);
        assert_eq!(
            ping(&child(&s1, "leaf").await).await.as_deref(),
            Some("leaf")
        );
        assert_eq!(
            ping(&child(&s2, "leaf").await).await.as_deref(),
            Some("leaf")
        );
        assert_eq!(within(top.stop()).await, ExitReason::Shutdown);
    });
}

/// An inner supervisor exceeding its intensity is restarted by its parent; twice within the
/// parent's period (parent intensity 1) and the parent gives up too.
#[test]
fn inner_intensity_escalates_to_parent() {
    run(|| async {
        let f = SupFlags::new(Strategy::OneForOne).intensity(1, Duration::from_secs(3600));
        let top_of_top = start_sup(
            SupFlags::new(Strategy::OneForOne).intensity(5, Duration::from_secs(3600)),
            vec![Supervisor::child_spec("middle", move || {
                Init::Supervise(f, vec![inner("inner")])
            })],
        )
        .await;
        let (m_ref, middle) = sub(&top_of_top, "middle").await;
        let (i_ref, inner_sup) = sub(&middle, "inner").await;
        exceed(&inner_sup, &i_ref).await;
        // restarted by middle
        let i2 = replaced(&middle, "inner", &i_ref).await;
        let inner_sup = SupervisorRef::from_child(&i2).unwrap();
        assert_eq!(middle.exit_reason(), None);
        // again: middle's budget (1) is exceeded → middle exits, restarted by the root
        exceed(&inner_sup, &i2).await;
        assert_eq!(within(m_ref.wait()).await, ExitReason::Shutdown);
        let m2 = replaced(&top_of_top, "middle", &m_ref).await;
        let middle = SupervisorRef::from_child(&m2).unwrap();
        let (_, inner_sup) = sub(&middle, "inner").await;
        assert_eq!(
            ping(&child(&inner_sup, "leaf").await).await.as_deref(),
            Some("leaf")
        );
        assert_eq!(within(top_of_top.stop()).await, ExitReason::Shutdown);
    });
}

#[test]
fn dynamic_supervisor_in_a_tree() {
    run(|| async {
        let dynamic = DynamicSupervisor::child_spec(
            "users",
            SupFlags::default(),
            template(&Ctl::default(), &Log::default()),
        );
        let top = start_sup(flags(Strategy::OneForOne), vec![dynamic]).await;
        let users =
            DynamicSupervisorRef::<String>::from_child(&child(&top, "users").await).unwrap();
        let u = users.start_child("u1".into()).await.unwrap().child.unwrap();
        assert_eq!(ping(&u).await.as_deref(), Some("u1"));
        assert_eq!(counts(&top).await, [1, 1, 1, 0]);
        assert_eq!(within(top.stop()).await, ExitReason::Shutdown);
        assert_eq!(u.exit_reason(), Some(ExitReason::Shutdown));
    });
}
