//! Supervisor benchmarks: starting 10 000 dynamic children, restarting a panicked child,
//! stopping 10 000 children.

use std::time::{Duration, Instant};

use actix::{Actor, Addr, Context, Handler, Message};
use amoc::supervisor::*;
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::sync::mpsc;

struct Bench;

impl Actor for Bench {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Ping;

impl Handler<Ping> for Bench {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

#[derive(Message)]
#[rtype(result = "()")]
struct Crash;

impl Handler<Crash> for Bench {
    type Result = ();
    fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("crash");
    }
}

const N: usize = 10_000;

fn template() -> ChildSpec<()> {
    ChildSpec::with_args("bench", |starter, ()| async move {
        let (_addr, handle) = starter.spawn_local(|_| Bench);
        Ok(Start::Started(handle, None))
    })
    .with_restart(Restart::Temporary)
}

async fn start_many(sup: &DynamicSupervisorRef<()>) -> Vec<Addr<Bench>> {
    let mut addrs = Vec::with_capacity(N);
    for _ in 0..N {
        let started = sup.start_child(()).await.unwrap();
        addrs.push(started.child.unwrap().addr::<Bench>().unwrap());
    }
    futures::future::join_all(addrs.iter().map(|a| a.send(Ping))).await;
    addrs
}

fn benches(c: &mut Criterion) {
    std::panic::set_hook(Box::new(|_| {}));
    let system = actix_rt::System::new();
    let mut group = c.benchmark_group("supervisor");
    group.sample_size(10);

    group.bench_function("start_children/10000", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let sup = DynamicSupervisor::start(SupFlags::default(), template())
                        .await
                        .unwrap();
                    let t0 = Instant::now();
                    start_many(&sup).await;
                    total += t0.elapsed();
                    sup.stop().await;
                }
                total
            })
        })
    });

    group.bench_function("shutdown/10000", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let sup = DynamicSupervisor::start(SupFlags::default(), template())
                        .await
                        .unwrap();
                    start_many(&sup).await;
                    let t0 = Instant::now();
                    sup.stop().await;
                    total += t0.elapsed();
                }
                total
            })
        })
    });

    group.sample_size(50);
    group.bench_function("restart/one_for_one", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let (tx, mut rx) = mpsc::unbounded_channel::<Addr<Bench>>();
                let spec = ChildSpec::new("worker", move |starter| {
                    let tx = tx.clone();
                    async move {
                        let (addr, handle) = starter.spawn_local(|_| Bench);
                        let _ = tx.send(addr);
                        Ok(Start::Started(handle, None))
                    }
                });
                let flags = SupFlags::default().intensity(u32::MAX, Duration::from_secs(1));
                let sup = Supervisor::start(move || Init::Supervise(flags, vec![spec]))
                    .await
                    .unwrap()
                    .running()
                    .unwrap();
                let mut addr = rx.recv().await.unwrap();
                let t0 = Instant::now();
                for _ in 0..iters {
                    addr.do_send(Crash);
                    addr = rx.recv().await.unwrap();
                    addr.send(Ping).await.unwrap();
                }
                let total = t0.elapsed();
                sup.stop().await;
                total
            })
        })
    });
    group.finish();
}

criterion_group!(supervisor, benches);
criterion_main!(supervisor);
