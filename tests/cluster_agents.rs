//! The master and worker agents over the in-memory transport (injected delay, loss,
//! disconnection, isolation): ids per node, admission, late join, node loss, master loss.
//!
//! The workers drive real apps whose user shards run on their own arbiter threads, so these
//! tests run on real time (a paused clock would race ahead while a shard works) with short
//! heartbeats; every wait is on an event or a state, bounded by `TIMEOUT`.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amoc::app::App;
use amoc::cluster::memory::Hub;
use amoc::cluster::{
    ClusterConfig, ClusterEvent, Fingerprint, IdBlock, Master, MasterError, NodeError, NodeState,
    Refusal, Worker, WorkerState,
};
use amoc::controller::StatusKind;
use common::app::{builder, infinity, status_is, users_until};
use common::scenarios::Idle;
use common::TIMEOUT;
use tokio::sync::broadcast;

fn cfg() -> ClusterConfig {
    ClusterConfig {
        heartbeat: Duration::from_millis(50),
        missed_heartbeats: 10,
        lease: Duration::from_millis(500),
        request_timeout: Duration::from_secs(3),
        // Pings would find a disconnected node before the adds these tests make to it;
        // `a_killed_worker_is_found_by_the_next_ping` sets its own.
        ping: Duration::from_secs(3600),
        ..ClusterConfig::new("test")
    }
}

fn fp() -> Fingerprint {
    Fingerprint::new(["idle"])
}

struct Node {
    app: App,
    worker: Worker,
    terminated: Arc<AtomicU64>,
}

async fn worker(hub: &Hub, name: &str, fingerprint: Fingerprint) -> Node {
    let terminated = Arc::new(AtomicU64::new(0));
    let idle = Idle {
        terminated: terminated.clone(),
    };
    let app = builder().shards(1).scenario(idle).start().await.unwrap();
    let t = Arc::new(hub.endpoint(name));
    let c = app.controller().clone();
    let worker = Worker::start(t, cfg(), name, fingerprint, c, app.telemetry().clone())
        .await
        .unwrap();
    Node {
        app,
        worker,
        terminated,
    }
}

async fn master(hub: &Hub, telemetry: &App, name: &str) -> Master {
    master_with(hub, telemetry, name, cfg()).await
}

async fn master_with(hub: &Hub, telemetry: &App, name: &str, cfg: ClusterConfig) -> Master {
    let t = Arc::new(hub.endpoint(name));
    Master::start(t, cfg, fp(), telemetry.telemetry().clone())
        .await
        .unwrap()
}

async fn state_is(node: &Node, f: impl FnMut(&WorkerState) -> bool) -> WorkerState {
    let mut rx = node.worker.state();
    let got = tokio::time::timeout(TIMEOUT, rx.wait_for(f))
        .await
        .map(|r| r.map(|s| s.clone()));
    match got {
        Ok(Ok(s)) => s,
        _ => panic!(
            "worker state not reached; now {:?}",
            *node.worker.state().borrow()
        ),
    }
}

fn member(s: &WorkerState) -> bool {
    matches!(s, WorkerState::Member { .. })
}

async fn next_event(
    events: &mut broadcast::Receiver<ClusterEvent>,
    f: impl Fn(&ClusterEvent) -> bool,
) -> ClusterEvent {
    let found = tokio::time::timeout(TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(e) if f(&e) => return e,
                Ok(_) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await;
    found.expect("cluster event not seen in time")
}

/// Waits (bounded by `TIMEOUT`) until the master's view, which publishes no change
/// notification, satisfies `f`.
async fn heard(m: &Master, f: impl Fn(&amoc::cluster::ClusterStatus) -> bool) {
    let what = format!("the master's view to change from {:?}", m.status());
    common::poll::eventually(&what, || std::future::ready(f(&m.status()))).await;
}

fn b(first: u64, last: u64) -> Option<IdBlock> {
    Some(IdBlock { first, last })
}

async fn shutdown(nodes: Vec<Node>) {
    for n in nodes {
        n.worker.shutdown();
        n.app.shutdown().await;
    }
}

#[actix_rt::test]
async fn ids_go_out_in_one_block_per_node_as_in_the_spec() {
    let hub = Hub::new();
    hub.set_delay(Duration::from_millis(5));
    let host = builder().start().await.unwrap();
    let m = master(&hub, &host, "m1").await;
    let mut events = m.events();
    let (w1, w2) = (
        worker(&hub, "w1", fp()).await,
        worker(&hub, "w2", fp()).await,
    );
    for _ in 0..2 {
        next_event(&mut events, |e| matches!(e, ClusterEvent::Connected { .. })).await;
    }
    let started = m.start_scenario("idle", infinity()).await.unwrap();
    assert!(started.all_ok(), "{started:?}");
    let add = |n| {
        let m = m.clone();
        async move { m.add_users(n).await.unwrap().merge().unwrap() }
    };
    let r = add(10).await;
    assert_eq!((r["w1"], r["w2"]), (b(1, 5), b(6, 10)));
    let r = add(5).await;
    assert_eq!((r["w1"], r["w2"]), (b(11, 12), b(13, 15)));
    let r = add(1).await;
    assert_eq!((r["w1"], r["w2"]), (None, b(16, 16)));
    users_until(w1.app.controller(), |u| u.running == 7).await;
    users_until(w2.app.controller(), |u| u.running == 9).await;
    let removed = m.remove_users(3, false).await.unwrap().merge().unwrap();
    assert_eq!((removed["w1"], removed["w2"]), (1, 2));
    users_until(w2.app.controller(), |u| u.running == 7).await;
    let stopped = m.stop_scenario().await.unwrap();
    assert!(stopped.all_ok(), "{stopped:?}");
    status_is(w1.app.controller(), StatusKind::Finished).await;
    m.shutdown();
    shutdown(vec![w1, w2]).await;
    host.shutdown().await;
}

#[actix_rt::test]
async fn duplicates_and_other_builds_are_refused_with_a_reason_and_hellos_survive_loss() {
    let hub = Hub::new();
    hub.set_loss_one_in(3);
    let host = builder().start().await.unwrap();
    let m = master(&hub, &host, "m1").await;
    let w1 = worker(&hub, "w1", fp()).await;
    state_is(&w1, member).await;
    let dup = worker(&hub, "w1", fp()).await;
    let s = state_is(&dup, |s| {
        matches!(s, WorkerState::Joining { refused: Some(_) })
    })
    .await;
    assert!(
        matches!(
            s,
            WorkerState::Joining {
                refused: Some(Refusal::DuplicateName { .. })
            }
        ),
        "{s:?}"
    );
    let other = worker(&hub, "w3", Fingerprint::new(["idle", "other"])).await;
    let s = state_is(&other, |s| {
        matches!(s, WorkerState::Joining { refused: Some(_) })
    })
    .await;
    assert!(
        matches!(
            s,
            WorkerState::Joining {
                refused: Some(Refusal::FingerprintMismatch { .. })
            }
        ),
        "{s:?}"
    );
    assert_eq!(m.status().nodes.len(), 1);
    // A second master hears the first one's heartbeats and refuses to start.
    hub.set_loss_one_in(0);
    let t = Arc::new(hub.endpoint("master2"));
    let second = Master::start(t, cfg(), fp(), host.telemetry().clone()).await;
    assert!(matches!(second, Err(MasterError::OtherMaster { .. })));
    m.shutdown();
    shutdown(vec![w1, dup, other]).await;
    host.shutdown().await;
}

#[actix_rt::test]
async fn a_late_joiner_gets_the_run_and_users_from_the_next_add() {
    let hub = Hub::new();
    let host = builder().start().await.unwrap();
    let m = master(&hub, &host, "m1").await;
    let w1 = worker(&hub, "w1", fp()).await;
    state_is(&w1, member).await;
    m.start_scenario("idle", infinity()).await.unwrap();
    let r = m.add_users(4).await.unwrap().merge().unwrap();
    assert_eq!(r["w1"], b(1, 4));
    let w2 = worker(&hub, "w2", fp()).await;
    state_is(&w2, member).await;
    status_is(w2.app.controller(), StatusKind::Running).await;
    let r = m.add_users(4).await.unwrap().merge().unwrap();
    assert_eq!((r["w1"], r["w2"]), (b(5, 6), b(7, 8)));
    users_until(w2.app.controller(), |u| u.running == 2).await;
    // Settings go to every node; a refusal comes back per node.
    let bad = m
        .update_settings(vec![("no_such_parameter".into(), 1.into())])
        .await
        .unwrap();
    let errors = bad.merge().unwrap_err();
    assert_eq!(errors.len(), 2);
    assert!(matches!(errors["w1"], NodeError::Refused(_)), "{errors:?}");
    m.shutdown();
    shutdown(vec![w1, w2]).await;
    host.shutdown().await;
}

#[actix_rt::test]
async fn a_lost_worker_is_marked_down_its_users_killed_and_skipped_by_later_adds() {
    let hub = Hub::new();
    let host = builder().start().await.unwrap();
    let m = master(&hub, &host, "m1").await;
    let mut events = m.events();
    let (w1, w2, w3) = (
        worker(&hub, "w1", fp()).await,
        worker(&hub, "w2", fp()).await,
        worker(&hub, "w3", fp()).await,
    );
    for w in [&w1, &w2, &w3] {
        state_is(w, member).await;
    }
    m.start_scenario("idle", infinity()).await.unwrap();
    m.add_users(9).await.unwrap().merge().unwrap();
    users_until(w2.app.controller(), |u| u.running == 3).await;
    // Heartbeats are periodic: check at their pace until one carried w2's users.
    heard(&m, |s| s.nodes["w2"].users.running == 3).await;
    // w2 freezes (isolated: heartbeats stop, requests time out): down by heartbeat count.
    hub.isolate("w2", true);
    let down = next_event(&mut events, |e| matches!(e, ClusterEvent::Down { .. })).await;
    assert!(
        matches!(down, ClusterEvent::Down { ref node, .. } if node == "w2"),
        "{down:?}"
    );
    assert_eq!(m.status().users.killed, 3);
    // w3 dies (disconnected): the next request gets no responders and marks it down.
    hub.disconnect("w3");
    let r = m.add_users(2).await.unwrap();
    assert_eq!(r.0["w1"], Ok(b(10, 10)));
    assert_eq!(r.0["w3"], Err(NodeError::Down));
    assert!(!r.0.contains_key("w2"));
    let r = m.add_users(2).await.unwrap().merge().unwrap();
    assert_eq!(r.keys().collect::<Vec<_>>(), ["w1"]);
    assert_eq!(r["w1"], b(12, 13));
    // w2 thaws: its lease lapsed, so it stopped its run; it rejoins under the same name.
    let w2_state = state_is(&w2, |s| !member(s)).await;
    assert!(matches!(w2_state, WorkerState::Joining { .. }));
    hub.isolate("w2", false);
    next_event(
        &mut events,
        |e| matches!(e, ClusterEvent::Connected { node, rejoin: true } if node == "w2"),
    )
    .await;
    status_is(w2.app.controller(), StatusKind::Running).await;
    m.shutdown();
    shutdown(vec![w1, w2, w3]).await;
    host.shutdown().await;
}

#[actix_rt::test]
async fn workers_that_lose_their_master_stop_their_users_and_wait_for_the_next() {
    let hub = Hub::new();
    let host = builder().start().await.unwrap();
    let m = master(&hub, &host, "m1").await;
    let w1 = worker(&hub, "w1", fp()).await;
    state_is(&w1, member).await;
    m.start_scenario("idle", infinity()).await.unwrap();
    m.add_users(5).await.unwrap();
    users_until(w1.app.controller(), |u| u.running == 5).await;
    hub.disconnect("m1");
    m.shutdown();
    state_is(&w1, |s| !member(s)).await;
    status_is(w1.app.controller(), StatusKind::Finished).await;
    assert_eq!(w1.terminated.load(Ordering::SeqCst), 1);
    // A new master: the worker joins it and runs its next run.
    let m2 = master(&hub, &host, "m2").await;
    let s = state_is(&w1, member).await;
    assert_eq!(
        s,
        WorkerState::Member {
            master: m2.instance().to_owned()
        }
    );
    m2.start_scenario("idle", infinity()).await.unwrap();
    let r = m2.add_users(2).await.unwrap().merge().unwrap();
    assert_eq!(r["w1"], b(1, 2));
    m2.shutdown();
    shutdown(vec![w1]).await;
    host.shutdown().await;
}

#[actix_rt::test]
async fn workers_obey_only_their_master_and_perform_a_repeated_request_once() {
    use amoc::cluster::messages::{Ctl, CtlReply, Done, Op, Subjects};
    use amoc::cluster::Transport;
    let hub = Hub::new();
    let host = builder().start().await.unwrap();
    let m = master(&hub, &host, "m1").await;
    let w1 = worker(&hub, "w1", fp()).await;
    state_is(&w1, member).await;
    m.start_scenario("idle", infinity()).await.unwrap();
    let probe = hub.endpoint("probe");
    let subject = Subjects::new("test").ctl("w1");
    let ask = |master: &str, seq: u64| {
        let ctl = Ctl {
            master: master.to_owned(),
            seq,
            op: Op::AddUsers {
                block: IdBlock { first: 1, last: 2 },
            },
        };
        let bytes = serde_json::to_vec(&ctl).unwrap();
        let reply = probe.request(subject.clone(), bytes, Duration::from_secs(3));
        async move { serde_json::from_slice::<CtlReply>(&reply.await.unwrap()).unwrap() }
    };
    let fenced = ask("someone-else", 1).await.unwrap_err();
    assert!(fenced.starts_with("fenced"), "{fenced}");
    let first = ask(m.instance(), 1_000).await;
    assert_eq!(first, Ok(Done::Added(IdBlock { first: 1, last: 2 })));
    assert_eq!(ask(m.instance(), 1_000).await, first, "answered from cache");
    users_until(w1.app.controller(), |u| u.running == 2).await;
    // Performed again, the add would be refused: ids 1..2 are used.
    let again = ask(m.instance(), 1_001).await.unwrap_err();
    assert!(again.contains("invalid user range"), "{again}");
    assert_eq!(w1.app.controller().status().users.running, 2);
    m.shutdown();
    shutdown(vec![w1]).await;
    host.shutdown().await;
}

#[actix_rt::test]
async fn a_killed_worker_is_found_by_the_next_ping() {
    let hub = Hub::new();
    let host = builder().start().await.unwrap();
    let cfg = ClusterConfig {
        ping: Duration::from_millis(20),
        missed_heartbeats: 1000,
        ..cfg()
    };
    let m = master_with(&hub, &host, "m1", cfg).await;
    let mut events = m.events();
    let (w1, w2) = (
        worker(&hub, "w1", fp()).await,
        worker(&hub, "w2", fp()).await,
    );
    for w in [&w1, &w2] {
        state_is(w, member).await;
    }
    // Gone from the messaging engine: no heartbeat count (1000 periods) could find it in
    // time; the next ping's no-responders does.
    hub.disconnect("w2");
    let down = next_event(&mut events, |e| matches!(e, ClusterEvent::Down { .. })).await;
    assert_eq!(
        down,
        ClusterEvent::Down {
            node: "w2".into(),
            reason: "no responders".into()
        }
    );
    assert_eq!(m.status().nodes["w1"].state, NodeState::Up);
    m.shutdown();
    shutdown(vec![w1, w2]).await;
    host.shutdown().await;
}

#[actix_rt::test]
async fn an_expected_node_that_never_joins_fails_to_connect_and_may_join_later() {
    let hub = Hub::new();
    let host = builder().start().await.unwrap();
    let cfg = ClusterConfig {
        nodes: vec!["w1".into(), "w2".into()],
        connect_timeout: Duration::from_millis(300),
        ..cfg()
    };
    let m = master_with(&hub, &host, "m1", cfg).await;
    let mut events = m.events();
    assert_eq!(m.status().nodes["w2"].state, NodeState::Connecting);
    let w1 = worker(&hub, "w1", fp()).await;
    state_is(&w1, member).await;
    let failed = next_event(&mut events, |e| {
        matches!(e, ClusterEvent::FailedToConnect { .. })
    })
    .await;
    assert_eq!(failed, ClusterEvent::FailedToConnect { node: "w2".into() });
    let s = m.status();
    assert_eq!(s.nodes["w1"].state, NodeState::Up);
    assert_eq!(s.nodes["w2"].state, NodeState::FailedToConnect);
    // Late is still welcome: it joins as any worker does.
    let w2 = worker(&hub, "w2", fp()).await;
    next_event(
        &mut events,
        |e| matches!(e, ClusterEvent::Connected { node, .. } if node == "w2"),
    )
    .await;
    assert_eq!(m.status().nodes["w2"].state, NodeState::Up);
    m.shutdown();
    shutdown(vec![w1, w2]).await;
    host.shutdown().await;
}
