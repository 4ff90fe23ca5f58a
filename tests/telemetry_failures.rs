//! Handler failure, overload accounting and concurrent emitters.

mod common;

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, Context, Handler};
use amoc::telemetry::test::Recorder;
use amoc::telemetry::{names, AttachOptions, EventBatch, EventName, EventPattern, Telemetry};
use amoc::{event_name, metadata, Value};
use common::*;
use tokio::sync::oneshot;

static OK: EventName = event_name!(failures, ok);
static PANIC: EventName = event_name!(failures, panic);
static OTHER: EventName = event_name!(failures, other, event);
static THIRD: EventName = event_name!(failures, third, event);
static STOP: EventName = event_name!(failures, stop);
static FLOOD: EventName = event_name!(failures, flood);
static FROM_ARBITERS: EventName = event_name!(failures, arbiters);

fn started() -> Telemetry {
    let t = Telemetry::new();
    t.start_with(Duration::from_millis(50));
    t
}

async fn failure_recorder(t: &Telemetry) -> Recorder {
    Recorder::attach(t, [EventPattern::from(&names::HANDLER_FAILURE)])
        .await
        .unwrap()
}

#[actix_rt::test]
async fn detach_on_exception() {
    let t = started();
    let mut failures = failure_recorder(&t).await;
    let (tx, _rx) = forward();
    let opts = AttachOptions::default().config(Value::from("cfg"));
    let arbiter = actix_rt::Arbiter::current();
    t.spawn_handler(
        "crashy",
        [EventPattern::from(&PANIC)],
        &arbiter,
        move || Forward(tx),
        opts,
    )
    .await
    .unwrap();
    t.execute(&PANIC, Default::default(), Default::default());
    let f = failures.next(TIMEOUT).await.expect("failure event");
    assert_eq!(f.metadata.get("handler_id"), Some(&Value::from("crashy")));
    assert_eq!(f.metadata.get("handler_config"), Some(&Value::from("cfg")));
    assert_eq!(f.metadata.get("kind"), Some(&Value::from("panic")));
    assert_eq!(
        f.metadata.get("reason"),
        Some(&Value::from("handler asked to panic"))
    );
    assert_eq!(
        f.metadata.get("event_name"),
        Some(&Value::from("[failures, panic]"))
    );
    assert!(f.measurements.get("monotonic_time").is_some());
    assert!(t.list_handlers(&["failures"]).is_empty());
    assert!(t.detach("crashy").await.is_err());
}

#[actix_rt::test]
async fn remove_all_handler_on_failure() {
    let t = started();
    let mut failures = failure_recorder(&t).await;
    let (tx, _rx) = forward();
    let patterns = [&PANIC, &OTHER, &THIRD].map(EventPattern::from);
    t.attach_many(
        "h3",
        patterns,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(t.list_handlers(&["failures"]).len(), 3);
    t.execute(&PANIC, Default::default(), Default::default());
    let f = failures.next(TIMEOUT).await.expect("failure event");
    // A plain recipient's panic is seen as its mailbox closing.
    assert_eq!(f.metadata.get("kind"), Some(&Value::from("stopped")));
    assert_eq!(
        f.metadata.get("reason"),
        Some(&Value::from("mailbox closed"))
    );
    assert!(t.list_handlers(&["failures"]).is_empty());
}

#[actix_rt::test]
async fn panicking_handler_does_not_disturb_the_others() {
    let t = started();
    let mut failures = failure_recorder(&t).await;
    let arbiter = actix_rt::Arbiter::current();
    let (tx_bad, _rx_bad) = forward();
    t.spawn_handler(
        "bad",
        [EventPattern::prefix(&["failures"])],
        &arbiter,
        move || Forward(tx_bad),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    let mut good = Vec::new();
    for _ in 0..2 {
        good.push(
            Recorder::attach(&t, [EventPattern::prefix(&["failures"])])
                .await
                .unwrap(),
        );
    }
    t.execute(&PANIC, Default::default(), Default::default());
    for i in 0..100 {
        t.execute(&OK, Default::default(), metadata! { "i" => i });
    }
    assert!(failures.next(TIMEOUT).await.is_some());
    for rec in &mut good {
        let events = rec.take(101, TIMEOUT).await;
        assert_eq!(events.len(), 101);
        assert_eq!(events[0].name, &PANIC);
        for (i, e) in events[1..].iter().enumerate() {
            assert_eq!(e.metadata.get("i"), Some(&Value::from(i)));
        }
    }
}

/// Stops itself on an event named `[.., stop]`.
struct Stopper;
impl Actor for Stopper {
    type Context = Context<Self>;
}
impl Handler<EventBatch> for Stopper {
    type Result = ();
    fn handle(&mut self, _: EventBatch, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

#[actix_rt::test]
async fn handler_stopping_normally_is_detached() {
    let t = started();
    let mut failures = failure_recorder(&t).await;
    let arbiter = actix_rt::Arbiter::current();
    t.spawn_handler(
        "stopper",
        [EventPattern::from(&STOP)],
        &arbiter,
        || Stopper,
        AttachOptions::default(),
    )
    .await
    .unwrap();
    t.execute(&STOP, Default::default(), Default::default());
    let f = failures.next(TIMEOUT).await.expect("failure event");
    assert_eq!(f.metadata.get("handler_id"), Some(&Value::from("stopper")));
    assert_eq!(f.metadata.get("kind"), Some(&Value::from("stopped")));
    assert!(t.list_handlers(&["failures", "stop"]).is_empty());
}

/// Blocks on its first batch until the gate opens, then counts.
struct Gated {
    gate: Option<oneshot::Receiver<()>>,
    seen: Arc<std::sync::atomic::AtomicU64>,
}
impl Actor for Gated {
    type Context = Context<Self>;
}
impl Handler<EventBatch> for Gated {
    type Result = actix::ResponseFuture<()>;
    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) -> Self::Result {
        self.seen.fetch_add(
            batch.events.len() as u64,
            std::sync::atomic::Ordering::SeqCst,
        );
        let gate = self.gate.take();
        Box::pin(async move {
            if let Some(g) = gate {
                let _ = g.await;
            }
        })
    }
}

#[actix_rt::test]
async fn slow_handler_drops_are_counted_exactly() {
    let t = started();
    let mut dropped = Recorder::attach(&t, [EventPattern::from(&names::HANDLER_DROPPED)])
        .await
        .unwrap();
    let (gate_tx, gate_rx) = oneshot::channel();
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let gated = Gated {
        gate: Some(gate_rx),
        seen: seen.clone(),
    }
    .start();
    t.attach(
        "slow",
        &FLOOD,
        gated.recipient(),
        AttachOptions::default().queue_capacity(10),
    )
    .await
    .unwrap();
    let (tx, mut fast_rx) = forward();
    t.attach(
        "fast",
        &FLOOD,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    for i in 0..1000 {
        t.execute(&FLOOD, Default::default(), metadata! { "i" => i });
    }
    let report = dropped.next(TIMEOUT).await.expect("dropped report");
    assert_eq!(
        report.metadata.get("handler_id"),
        Some(&Value::from("slow"))
    );
    let _ = gate_tx.send(());
    assert!(t.flush(TIMEOUT).await);
    let info = t
        .list_handlers(&["failures", "flood"])
        .into_iter()
        .find(|h| h.id == "slow")
        .unwrap();
    assert_eq!(info.delivered + info.dropped + info.queued, 1000);
    assert_eq!(info.queued, 0);
    assert!(info.dropped > 0);
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        info.delivered
    );
    // The dropped reports add up to the total.
    let mut reported = report.measurements.get("count").unwrap().as_f64() as u64;
    while let Some(r) = dropped.next(Duration::from_millis(200)).await {
        reported += r.measurements.get("count").unwrap().as_f64() as u64;
    }
    assert_eq!(reported, info.dropped);
    for i in 0..1000 {
        let (e, _) = recv(&mut fast_rx).await.unwrap();
        assert_eq!(e.metadata.get("i"), Some(&Value::from(i)));
    }
}

#[test]
fn concurrent_emitters_on_two_arbiters() {
    let sys = actix_rt::System::new();
    sys.block_on(async {
        let t = started();
        let mut rec = Recorder::attach(&t, [EventPattern::from(&FROM_ARBITERS)])
            .await
            .unwrap();
        let arbiters = [actix_rt::Arbiter::new(), actix_rt::Arbiter::new()];
        const N: i64 = 5000;
        for (a, arb) in arbiters.iter().enumerate() {
            let t = t.clone();
            arb.spawn(async move {
                for i in 0..N {
                    t.execute(
                        &FROM_ARBITERS,
                        Default::default(),
                        metadata! { "a" => a, "i" => i },
                    );
                }
            });
        }
        let events = rec.take(2 * N as usize, TIMEOUT).await;
        assert_eq!(events.len(), 2 * N as usize);
        let mut next = [0i64; 2];
        for e in events {
            let a = e.metadata.get("a").and_then(Value::as_u64).unwrap() as usize;
            let i = e.metadata.get("i").and_then(Value::as_i64).unwrap();
            assert_eq!(i, next[a], "per-emitter order");
            next[a] += 1;
        }
        for arb in arbiters {
            arb.stop();
        }
    });
}

#[actix_rt::test]
async fn shutdown_delivers_everything_to_a_slow_handler() {
    let t = started();
    let (gate_tx, gate_rx) = oneshot::channel();
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let gated = Gated {
        gate: Some(gate_rx),
        seen: seen.clone(),
    }
    .start();
    t.attach("slow", &OK, gated.recipient(), AttachOptions::default())
        .await
        .unwrap();
    for _ in 0..5000 {
        t.execute(&OK, Default::default(), Default::default());
    }
    // The gate opens once the shutdown is under way (after its first poll).
    let shutdown = t.shutdown();
    let open_gate = async move {
        tokio::task::yield_now().await;
        let _ = gate_tx.send(());
    };
    tokio::join!(shutdown, open_gate);
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 5000);
}
