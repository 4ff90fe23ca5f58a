//! Spans: start/stop/exception events, contexts, cancellation.

mod common;

use std::time::Duration;

use amoc::telemetry::test::Recorder;
use amoc::telemetry::{EventPattern, Measurements, Metadata, SpanName, Telemetry};
use amoc::{measurements, metadata, span_name, Value};
use common::TIMEOUT;

static SPAN: SpanName = span_name!(spans, work);

async fn setup() -> (Telemetry, Recorder) {
    let t = Telemetry::new();
    t.start();
    let rec = Recorder::attach(&t, [EventPattern::prefix(&["spans", "work"])])
        .await
        .unwrap();
    (t, rec)
}

fn keys<V>(p: &amoc::telemetry::Pairs<V>) -> Vec<&'static str> {
    let mut k: Vec<_> = p.keys().collect();
    k.sort();
    k
}

#[actix_rt::test]
async fn invoke_successful_span_handlers() {
    let (t, mut rec) = setup().await;
    let v = t
        .span(&SPAN, metadata! { "some" => "start" }, async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            (7, metadata! { "some" => "stop" })
        })
        .await;
    assert_eq!(v, 7);
    let ev = rec.take(2, TIMEOUT).await;
    assert_eq!(ev[0].name, &SPAN.start);
    assert_eq!(keys(&ev[0].measurements), ["monotonic_time", "system_time"]);
    assert_eq!(ev[0].metadata.get("some"), Some(&Value::from("start")));
    assert_eq!(ev[1].name, &SPAN.stop);
    assert_eq!(keys(&ev[1].measurements), ["duration", "monotonic_time"]);
    assert!(ev[1].measurements.get("duration").unwrap().as_f64() >= 5e6);
    assert_eq!(ev[1].metadata.get("some"), Some(&Value::from("stop")));
    let ctx = ev[0].metadata.get("telemetry_span_context");
    assert!(ctx.is_some());
    assert_eq!(ev[1].metadata.get("telemetry_span_context"), ctx);
}

#[actix_rt::test]
async fn invoke_successful_span_handlers_with_measurements() {
    let (t, mut rec) = setup().await;
    let start = metadata! { "telemetry_span_context" => "mine" };
    t.span_with_measurements(&SPAN, start, async {
        (
            (),
            measurements! { "other" => 3u64, "duration" => 0u64 },
            Metadata::new(),
        )
    })
    .await;
    let ev = rec.take(2, TIMEOUT).await;
    assert_eq!(
        keys(&ev[1].measurements),
        ["duration", "monotonic_time", "other"]
    );
    assert_eq!(
        ev[0].metadata.get("telemetry_span_context"),
        Some(&Value::from("mine"))
    );
    assert_eq!(
        ev[1].metadata.get("telemetry_span_context"),
        Some(&Value::from("mine"))
    );
}

#[actix_rt::test]
async fn invoke_exception_span_handlers() {
    let (t, mut rec) = setup().await;
    let t2 = t.clone();
    let joined = actix_rt::spawn(async move {
        t2.span(&SPAN, metadata! { "some" => "start" }, async {
            if true {
                panic!("boom");
            }
            ((), Metadata::new())
        })
        .await
    })
    .await;
    assert!(
        joined.unwrap_err().is_panic(),
        "the panic reaches the caller"
    );
    let ev = rec.take(2, TIMEOUT).await;
    assert_eq!(ev[1].name, &SPAN.exception);
    assert_eq!(keys(&ev[1].measurements), ["duration", "monotonic_time"]);
    let md = &ev[1].metadata;
    assert_eq!(md.get("some"), Some(&Value::from("start")));
    assert_eq!(md.get("kind"), Some(&Value::from("panic")));
    assert_eq!(md.get("reason"), Some(&Value::from("boom")));
    assert!(md.get("stacktrace").is_some());
    assert_eq!(
        md.get("telemetry_span_context"),
        ev[0].metadata.get("telemetry_span_context")
    );
}

#[actix_rt::test]
async fn spans_generate_unique_default_contexts() {
    let (t, mut rec) = setup().await;
    for _ in 0..2 {
        t.span(&SPAN, Metadata::new(), async { ((), Metadata::new()) })
            .await;
    }
    let ev = rec.take(4, TIMEOUT).await;
    let ctx: Vec<_> = ev
        .iter()
        .map(|e| e.metadata.get("telemetry_span_context").cloned())
        .collect();
    assert_eq!(ctx[0], ctx[1]);
    assert_eq!(ctx[2], ctx[3]);
    assert_ne!(ctx[0], ctx[2]);
}

#[actix_rt::test]
async fn try_span_error_and_cancelled_span() {
    let (t, mut rec) = setup().await;
    let r: Result<(), String> = t
        .try_span(&SPAN, Metadata::new(), async {
            Err("bad input".to_owned())
        })
        .await;
    assert_eq!(r, Err("bad input".to_owned()));
    let ev = rec.take(2, TIMEOUT).await;
    assert_eq!(ev[1].name, &SPAN.exception);
    assert_eq!(ev[1].metadata.get("kind"), Some(&Value::from("error")));
    assert_eq!(
        ev[1].metadata.get("reason"),
        Some(&Value::from("bad input"))
    );

    let t2 = t.clone();
    let handle = actix_rt::spawn(async move {
        t2.span(
            &SPAN,
            Metadata::new(),
            std::future::pending::<((), Metadata)>(),
        )
        .await
    });
    let started = rec.next(TIMEOUT).await.unwrap();
    assert_eq!(started.name, &SPAN.start);
    handle.abort();
    let ev = rec.next(TIMEOUT).await.unwrap();
    assert_eq!(ev.name, &SPAN.exception);
    assert_eq!(ev.metadata.get("kind"), Some(&Value::from("exit")));
    assert_eq!(ev.metadata.get("reason"), Some(&Value::from("cancelled")));
    let _: Measurements = Measurements::new();
}
