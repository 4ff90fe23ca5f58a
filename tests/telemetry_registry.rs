//! The telemetry library's registry cases: attach, detach, listing, matching.

mod common;

use std::time::Duration;

use actix::Actor;
use amoc::telemetry::{AttachOptions, EventName, EventPattern, Telemetry, TelemetryError};
use amoc::{event_name, measurements, metadata, Value};
use common::*;
use tokio::sync::mpsc;

static ABC: EventName = event_name!(a, test, event);
static AB: EventName = event_name!(a, test);
static OTHER1: EventName = event_name!(a, other, one);
static OTHER2: EventName = event_name!(a, other, two);
static OTHER3: EventName = event_name!(a, other, three);

fn started() -> Telemetry {
    let t = Telemetry::new();
    t.start();
    t
}

/// Attaches handler "h" (a [`Forward`]) to `event` with default options; its deliveries.
async fn attached(t: &Telemetry, event: &'static EventName) -> mpsc::UnboundedReceiver<Forwarded> {
    let (tx, rx) = forward();
    t.attach(
        "h",
        event,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    rx
}

#[actix_rt::test]
async fn duplicate_attach() {
    let t = started();
    let (tx, _rx) = forward();
    let addr = Forward(tx).start();
    t.attach(
        "h",
        &ABC,
        addr.clone().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    let again = t
        .attach(
            "h",
            &ABC,
            addr.clone().recipient(),
            AttachOptions::default(),
        )
        .await;
    assert_eq!(again, Err(TelemetryError::AlreadyExists("h".into())));
    let other = t
        .attach("h", &AB, addr.recipient(), AttachOptions::default())
        .await;
    assert_eq!(other, Err(TelemetryError::AlreadyExists("h".into())));
}

#[actix_rt::test]
async fn bad_event_names() {
    let t = started();
    let (tx, _rx) = forward();
    let r = Forward(tx).start().recipient();
    let none: Vec<EventPattern> = vec![];
    for patterns in [
        none,
        vec![EventPattern::exact(&[])],
        vec![EventPattern::exact(&["a", ""])],
    ] {
        let res = t
            .attach_many("h", patterns, r.clone(), AttachOptions::default())
            .await;
        assert!(
            matches!(res, Err(TelemetryError::InvalidEventName(_))),
            "{res:?}"
        );
    }
    assert!(t.list_handlers(&[]).is_empty());
}

#[actix_rt::test]
async fn invoke_handler() {
    let t = started();
    let (tx, mut rx) = forward();
    let opts = AttachOptions::default().config(Value::from("cfg"));
    t.attach("h", &ABC, Forward(tx).start().recipient(), opts)
        .await
        .unwrap();
    t.execute(
        &ABC,
        measurements! { "latency" => 100u64 },
        metadata! { "some" => "metadata" },
    );
    let (event, config) = recv(&mut rx).await.unwrap();
    assert_eq!(event.name, &ABC);
    assert_eq!(event.measurements, measurements! { "latency" => 100u64 });
    assert_eq!(event.metadata, metadata! { "some" => "metadata" });
    assert_eq!(*config, Value::from("cfg"));
}

#[actix_rt::test]
async fn default_metadata() {
    let t = started();
    let mut rx = attached(&t, &ABC).await;
    t.execute(&ABC, measurements! { "x" => 1u64 }, Default::default());
    let (event, _) = recv(&mut rx).await.unwrap();
    assert!(event.metadata.is_empty());
}

#[actix_rt::test]
async fn list_handlers() {
    let t = started();
    let (tx, _rx) = forward();
    let opts = AttachOptions::default().config(Value::from(1));
    t.attach("h", &ABC, Forward(tx).start().recipient(), opts)
        .await
        .unwrap();
    let listed = t.list_handlers(&["a", "test", "event"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "h");
    assert_eq!(listed[0].pattern, EventPattern::from(&ABC));
    assert_eq!(listed[0].config, Value::from(1));
}

#[actix_rt::test]
async fn list_handler_on_many() {
    let t = started();
    let (tx, _rx) = forward();
    let patterns = [&OTHER1, &OTHER2, &OTHER3].map(EventPattern::from);
    t.attach_many(
        "h",
        patterns,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    for name in [&OTHER1, &OTHER2, &OTHER3] {
        let listed = t.list_handlers(name.segments());
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!(listed[0].pattern, EventPattern::from(name));
    }
}

#[actix_rt::test]
async fn list_for_prefix() {
    let t = started();
    let _rx = attached(&t, &ABC).await;
    for prefix in [&[][..], &["a"], &["a", "test"], &["a", "test", "event"]] {
        assert_eq!(t.list_handlers(prefix).len(), 1, "{prefix:?}");
    }
    assert!(t.list_handlers(&["a", "test", "event", "x"]).is_empty());
    assert!(t.list_handlers(&["b"]).is_empty());
}

#[actix_rt::test]
async fn no_execute_detached() {
    let t = started();
    let mut rx = attached(&t, &ABC).await;
    t.detach("h").await.unwrap();
    t.execute(&ABC, Default::default(), Default::default());
    recv_none(&mut rx, Duration::from_millis(100)).await;
    assert_eq!(
        t.detach("h").await,
        Err(TelemetryError::NotFound("h".into()))
    );
}

#[actix_rt::test]
async fn no_execute_on_prefix() {
    let t = started();
    let mut rx = attached(&t, &ABC).await;
    t.execute(&AB, Default::default(), Default::default());
    recv_none(&mut rx, Duration::from_millis(100)).await;
}

#[actix_rt::test]
async fn no_execute_on_specific() {
    let t = started();
    let mut rx = attached(&t, &AB).await;
    t.execute(&ABC, Default::default(), Default::default());
    recv_none(&mut rx, Duration::from_millis(100)).await;
}

#[actix_rt::test]
async fn handler_on_multiple_events() {
    let t = started();
    let (tx, mut rx) = forward();
    let patterns = [&OTHER1, &OTHER2, &OTHER3].map(EventPattern::from);
    t.attach_many(
        "h",
        patterns,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    for name in [&OTHER1, &OTHER2, &OTHER3] {
        t.execute(name, Default::default(), Default::default());
        assert_eq!(recv(&mut rx).await.unwrap().0.name, name);
    }
}

#[actix_rt::test]
async fn detach_from_all() {
    let t = started();
    let (tx, mut rx) = forward();
    let patterns = [&OTHER1, &OTHER2, &OTHER3].map(EventPattern::from);
    t.attach_many(
        "h",
        patterns,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    t.detach("h").await.unwrap();
    for name in [&OTHER1, &OTHER2, &OTHER3] {
        t.execute(name, Default::default(), Default::default());
        assert!(t.list_handlers(name.segments()).is_empty());
    }
    recv_none(&mut rx, Duration::from_millis(100)).await;
}

#[actix_rt::test]
async fn overlapping_patterns_deliver_once() {
    let t = started();
    let (tx, mut rx) = forward();
    let patterns = [
        EventPattern::from(&ABC),
        EventPattern::prefix(&["a", "test"]),
    ];
    t.attach_many(
        "h",
        patterns,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    t.execute(&ABC, Default::default(), Default::default());
    assert!(recv(&mut rx).await.is_some());
    recv_none(&mut rx, Duration::from_millis(100)).await;
}

static THROTTLE_RATE: EventName = event_name!(amoc, throttle, rate);
static THROTTLE: EventName = event_name!(amoc, throttle);
static COORD_ADD: EventName = event_name!(amoc, coordinator, add);

#[actix_rt::test]
async fn prefix_pattern_matches_longer_names_only() {
    let t = started();
    let (tx, mut rx) = forward();
    let pattern = EventPattern::prefix(&["amoc", "throttle"]);
    t.attach(
        "h",
        pattern,
        Forward(tx).start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    t.execute(&THROTTLE, Default::default(), Default::default());
    t.execute(&COORD_ADD, Default::default(), Default::default());
    t.execute(&THROTTLE_RATE, Default::default(), Default::default());
    assert_eq!(recv(&mut rx).await.unwrap().0.name, &THROTTLE_RATE);
    recv_none(&mut rx, Duration::from_millis(100)).await;
}

#[actix_rt::test]
async fn off_execute() {
    let t = Telemetry::new();
    // Before start: a silent no-op, and attach reports that telemetry is down.
    t.execute(&ABC, Default::default(), Default::default());
    let (tx, mut rx) = forward();
    let r = Forward(tx).start().recipient();
    assert_eq!(
        t.attach("h", &ABC, r.clone(), AttachOptions::default())
            .await,
        Err(TelemetryError::Down)
    );
    t.start();
    t.attach("h", &ABC, r, AttachOptions::default())
        .await
        .unwrap();
    t.shutdown().await;
    t.execute(&ABC, Default::default(), Default::default());
    recv_none(&mut rx, Duration::from_millis(100)).await;
}

#[actix_rt::test]
async fn simple_message() {
    use amoc::telemetry::test::Recorder;
    let t = started();
    let mut rec = Recorder::attach(&t, [EventPattern::from(&ABC)])
        .await
        .unwrap();
    let id = rec.id().to_owned();
    t.execute(&ABC, measurements! { "a" => 1u64 }, metadata! { "b" => 2 });
    let e = rec.next(TIMEOUT).await.unwrap();
    assert_eq!(
        (e.name, e.measurements.clone(), e.metadata.clone()),
        (&ABC, measurements! { "a" => 1u64 }, metadata! { "b" => 2 })
    );
    drop(rec);
    assert!(t.list_handlers(&[]).iter().all(|h| h.id != id));
}
