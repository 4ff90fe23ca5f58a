//! Per-request cost of the load path's HTTP client against the embedded target on loopback,
//! one keep-alive connection, one request at a time: `http/request/loopback`. For
//! comparison, the same with actix's awc client: `http/request/awc_loopback`.
//!
//! Run: `cargo bench --bench http`. The target runs on its own actix system thread; the
//! benchmark thread is the client.
//!
//! The round trip dominates this figure (two context switches on loopback); the CPU a
//! request costs the load generator is better seen with callgrind on `amoc run http` (see
//! the README's performance table): 9.7 k instructions per request on the client of
//! `actors/src/http/` against 20.4 k on the hyper-based client it replaced.

use std::time::{Duration, Instant};

use amoc::metrics::RunStats;
use amoc::telemetry::Telemetry;
use amoc_actors::http::HttpClient;
use amoc_actors::TestTarget;
use criterion::{criterion_group, criterion_main, Criterion};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Starts the target on a background system; returns its URL.
fn start_target() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sys = actix_rt::System::new();
        sys.block_on(async move {
            let target = TestTarget::start(0, 1).expect("target");
            tx.send(target.url()).expect("send");
            std::mem::forget(target);
        });
        sys.run().expect("system");
    });
    rx.recv().expect("target url")
}

fn benches(c: &mut Criterion) {
    let url = start_target();
    let sys = actix_rt::System::new();
    let stats = RunStats::new();
    let client = sys
        .block_on(HttpClient::builder(url.clone()).build_with(stats.clone(), Telemetry::new()))
        .expect("client");
    let mut http = sys.block_on(async { client.user() });
    c.bench_function("http/request/loopback", |b| {
        b.iter_custom(|n| {
            sys.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    http.get("bench", "/").send().await.expect("request");
                }
                start.elapsed()
            })
        })
    });
    let awc = sys.block_on(async { awc::Client::new() });
    c.bench_function("http/request/awc_loopback", |b| {
        b.iter_custom(|n| {
            sys.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    let mut r = awc.get(&url).send().await.expect("request");
                    r.body().await.expect("body");
                }
                start.elapsed()
            })
        })
    });
    let recorded = stats.snapshot().total().count;
    assert!(recorded > 0, "no request recorded");
}

criterion_group! {
    name = http;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(http);
