//! Coordinator cost: adds per second into a groups-of-2 plan with a trivial action.
//!
//! Run: `cargo bench --bench coordinator`. The coordinator runs on its own actix system
//! thread; the benchmark thread adds, and each iteration ends when every pair was handled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amoc::coordinator::{Action, Coordinators, PlanItem, Size};
use amoc::telemetry::Telemetry;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn setup() -> (Coordinators, Arc<AtomicU64>) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sys = actix_rt::System::new();
        sys.block_on(async move {
            let c = Coordinators::new(Telemetry::new());
            let pairs = Arc::new(AtomicU64::new(0));
            let counter = pairs.clone();
            let plan = PlanItem::new(
                Size::Exactly(2),
                Action::pairs(move |_, _: Option<&u64>, _| {
                    counter.fetch_add(1, Ordering::Relaxed);
                }),
            );
            c.start("bench", plan, None).expect("start");
            tx.send((c, pairs)).expect("send");
        });
        sys.run().expect("system");
    });
    rx.recv().expect("setup")
}

fn run(c: &Coordinators, pairs: &AtomicU64, n: u64) -> Duration {
    let n = n.max(2) & !1;
    let target = pairs.load(Ordering::Relaxed) + n / 2;
    let start = Instant::now();
    for i in 0..n {
        c.add("bench", i).expect("add");
    }
    while pairs.load(Ordering::Relaxed) < target {
        std::thread::yield_now();
    }
    start.elapsed()
}

fn benches(cr: &mut Criterion) {
    let (c, pairs) = setup();
    let mut g = cr.benchmark_group("coordinator/add");
    g.throughput(Throughput::Elements(1));
    g.bench_function("pairs", |b| b.iter_custom(|n| run(&c, &pairs, n)));
    g.finish();
}

criterion_group!(coordinator, benches);
criterion_main!(coordinator);
