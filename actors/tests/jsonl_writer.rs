//! The JSON-lines writer keeps every event it received.

#[path = "wait/mod.rs"]
mod wait;

use actix::Actor;
use amoc::telemetry::{AttachOptions, EventName, EventPattern, Telemetry};
use amoc::{event_name, measurements, metadata};
use amoc_actors::{Flush, JsonLinesWriter, TracingLogger};

use wait::TIMEOUT;

static EV: EventName = event_name!(jsonl, test, event);

#[actix_rt::test]
async fn file_holds_exactly_n_lines_after_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let t = Telemetry::new();
    t.start();
    let writer = JsonLinesWriter::create(&path).unwrap().start();
    t.attach(
        "jsonl",
        &EV,
        writer.clone().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    let logger = TracingLogger::default().start();
    t.attach("log", &EV, logger.recipient(), AttachOptions::default())
        .await
        .unwrap();
    const N: usize = 10_000;
    for i in 0..N {
        t.execute(
            &EV,
            measurements! { "i" => i },
            metadata! { "user" => "u1" },
        );
    }
    t.shutdown().await;
    assert!(t.flush(TIMEOUT).await);
    writer.send(Flush { stop: true }).await.unwrap().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), N);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["name"], serde_json::json!(["jsonl", "test", "event"]));
    assert_eq!(first["measurements"]["i"], 0);
    assert_eq!(first["metadata"]["user"], "u1");
    assert!(first["timestamp"].as_i64().unwrap() > 0);
    let last: serde_json::Value = serde_json::from_str(lines[N - 1]).unwrap();
    assert_eq!(last["measurements"]["i"], N - 1);
}

#[test]
fn create_in_missing_directory_is_an_error() {
    let err = JsonLinesWriter::create("/nonexistent-dir-amoc/x.jsonl").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    let _ = EventPattern::from(&EV);
}
