//! Telemetry costs: emitting with no handler and with one, and end-to-end delivery throughput.
//!
//! Run: `cargo bench --bench telemetry`. Handler actors live on their own actix system thread;
//! the benchmark thread is the emitter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Context, Handler};
use amoc::telemetry::{AttachOptions, EventBatch, EventName, Telemetry};
use amoc::{event_name, measurements, metadata};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The `amoc` binary's allocator (an event is a few small allocations freed on another thread).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

static NOBODY: EventName = event_name!(bench, nobody);
static EVENT: EventName = event_name!(bench, event);

struct Counter(Arc<AtomicU64>);
impl Actor for Counter {
    type Context = Context<Self>;
}
impl Handler<EventBatch> for Counter {
    type Result = ();
    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        self.0
            .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
    }
}

/// Starts telemetry with `handlers` counting handlers on `EVENT`, on a background system.
fn setup(handlers: usize) -> (Telemetry, Arc<AtomicU64>) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sys = actix_rt::System::new();
        sys.block_on(async move {
            let t = Telemetry::new();
            t.start();
            let seen = Arc::new(AtomicU64::new(0));
            for i in 0..handlers {
                let addr = Counter(seen.clone()).start();
                t.attach(
                    format!("h{i}"),
                    &EVENT,
                    addr.recipient(),
                    AttachOptions::default(),
                )
                .await
                .expect("attach");
            }
            tx.send((t, seen)).expect("send");
        });
        sys.run().expect("system");
    });
    rx.recv().expect("setup")
}

fn emit(t: &Telemetry, i: u64) {
    t.execute_with(&EVENT, || (measurements! { "i" => i }, metadata! {}));
}

/// Emits `n` events in chunks, keeping the backlog below the queue capacity so nothing drops;
/// returns the time spent emitting only (`emit_only`) or until all are delivered.
fn run(t: &Telemetry, seen: &AtomicU64, per_event: u64, n: u64, emit_only: bool) -> Duration {
    const CHUNK: u64 = 16_384;
    let base = seen.load(Ordering::Relaxed);
    let mut spent = Duration::ZERO;
    let start = Instant::now();
    let mut sent = 0;
    while sent < n {
        while (sent * per_event).saturating_sub(seen.load(Ordering::Relaxed) - base)
            > 2 * CHUNK * per_event
        {
            std::thread::yield_now();
        }
        let chunk = CHUNK.min(n - sent);
        let s = Instant::now();
        for i in 0..chunk {
            emit(t, i);
        }
        spent += s.elapsed();
        sent += chunk;
    }
    while seen.load(Ordering::Relaxed) - base < n * per_event {
        std::thread::yield_now();
    }
    if emit_only {
        spent
    } else {
        start.elapsed()
    }
}

fn benches(c: &mut Criterion) {
    let (none, _) = setup(0);
    c.bench_function("telemetry/execute/no_handler", |b| {
        b.iter(|| {
            none.execute_with(&NOBODY, || (measurements! { "i" => 1u64 }, metadata! {}));
        })
    });

    let (one, seen1) = setup(1);
    c.bench_function("telemetry/execute/1_handler", |b| {
        b.iter_custom(|n| run(&one, &seen1, 1, n, true))
    });

    let mut g = c.benchmark_group("telemetry/throughput");
    g.throughput(Throughput::Elements(1));
    g.bench_function("1_handler", |b| {
        b.iter_custom(|n| run(&one, &seen1, 1, n, false))
    });
    let (ten, seen10) = setup(10);
    g.bench_function("10_handlers", |b| {
        b.iter_custom(|n| run(&ten, &seen10, 10, n, false))
    });
    g.finish();
}

criterion_group!(telemetry, benches);
criterion_main!(telemetry);
