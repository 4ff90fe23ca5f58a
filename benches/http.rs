//! Per-request cost of the load path's HTTP client against the embedded target on loopback,
//! one keep-alive connection, one request at a time: `http/request/loopback`. For
//! comparison, the same with awc (the client it replaced): `http/request/awc_loopback`.
//!
//! Run: `cargo bench --bench http`. The target runs on its own actix system thread; the
//! benchmark thread is the client.
//!
//! Figures (2026-12-01, 2 cores shared with four compiling engineers, load average ~10;
//! 3 runs, medians): loopback 69 µs per request (42–79), awc 99 µs (88–123). The round
//! trip dominates; the CPU each request costs is better seen in `amoc run http` under
//! `/usr/bin/time`: 33 µs of CPU per request against 62 µs before (wrk: 22 µs), 100 users.

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
