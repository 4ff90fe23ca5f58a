//! What recording a telemetry event into the Prometheus store costs (per event, in batches
//! of 100 HTTP request events, as the handler receives them under load).

use std::sync::Arc;

use amoc::telemetry::{Event, EventBatch, EventName, Measurements, Metadata};
use amoc::Value;
use amoc_actors::MetricsStore;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn http_event(i: u64) -> Arc<Event> {
    let name = EventName::leak(vec!["amoc_actors".into(), "http".into(), "request".into()]);
    let mut m = Measurements::new();
    m.insert("status", 200u64);
    m.insert("duration", 100_000 + i * 997 % 5_000_000);
    Arc::new(Event {
        name,
        measurements: m,
        metadata: Metadata::new(),
    })
}

fn record(c: &mut Criterion) {
    let store = MetricsStore::new();
    let batch = EventBatch {
        handler_id: "bench".into(),
        config: Arc::new(Value::Null),
        events: (0..100).map(http_event).collect(),
    };
    let mut group = c.benchmark_group("prometheus_record");
    group.throughput(Throughput::Elements(100));
    group.bench_function("http_request_x100", |b| b.iter(|| store.record(&batch)));
    group.finish();
    let render = store.render();
    c.bench_function("prometheus_render", |b| b.iter(|| store.render().len()));
    assert!(render.contains("amoc_http_requests_total"));
}

criterion_group!(benches, record);
criterion_main!(benches);
