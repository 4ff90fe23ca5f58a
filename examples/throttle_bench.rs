//! Throughput and accuracy of one throttle under load.
//!
//! `cargo run --release --example throttle_bench -- --rate R --interval-ms I --users U --seconds S --arbiters N --work-us W`
//!
//! Runs U users, spread over N arbiters (default: one per core), each looping on `wait` and
//! spinning W µs of CPU after each permit (a stand-in for a request); prints the grants of
//! each second, then one summary line:
//! `throttle_bench rate=R interval_ms=I users=U seconds=S achieved_per_s=X max_in_window=M
//! target_per_s=T arbiters=N work_us=W`. `--rate 0` means unlimited.

use std::cell::RefCell;
use std::time::Duration;

use actix_rt::{Arbiter, System};
use amoc::telemetry::Telemetry;
use amoc::throttle::{ThrottleConfig, Throttles};
use anyhow::{bail, Context as _};
use tokio::time::Instant;

thread_local! {
    static GRANTS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    /// Unlimited runs: grants per millisecond (timestamps would be too many to keep).
    static PER_MS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

const USAGE: &str = "usage: throttle_bench [--rate R (0: unlimited; default 0)] \
[--interval-ms I (default 1000)] [--users U (default 100)] [--seconds S (default 5)] \
[--arbiters N (default: one per core)] [--work-us W (default 0)]";

struct Args {
    rate: u64,
    interval_ms: u64,
    users: usize,
    seconds: u64,
    arbiters: usize,
    work_us: u64,
}

/// The arguments, or `None` when `--help` asked for the usage.
fn parse() -> anyhow::Result<Option<Args>> {
    let mut a = Args {
        rate: 0,
        interval_ms: 1000,
        users: 100,
        seconds: 5,
        arbiters: std::thread::available_parallelism().map_or(2, |n| n.get()),
        work_us: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        if k == "--help" || k == "-h" {
            return Ok(None);
        }
        let v = it
            .next()
            .with_context(|| format!("{k} needs a value\n{USAGE}"))?;
        let bad = || format!("{k}: not a number: {v:?}");
        match k.as_str() {
            "--rate" => a.rate = v.parse().with_context(bad)?,
            "--interval-ms" => a.interval_ms = v.parse().with_context(bad)?,
            "--users" => a.users = v.parse().with_context(bad)?,
            "--seconds" => a.seconds = v.parse().with_context(bad)?,
            "--arbiters" => a.arbiters = v.parse().with_context(bad)?,
            "--work-us" => a.work_us = v.parse().with_context(bad)?,
            _ => bail!("unknown argument {k}\n{USAGE}"),
        }
    }
    if a.interval_ms == 0 || a.users == 0 || a.seconds == 0 || a.arbiters == 0 {
        bail!("interval, users, seconds and arbiters must be positive");
    }
    Ok(Some(a))
}

fn main() -> anyhow::Result<()> {
    let Some(args) = parse()? else {
        println!("{USAGE}");
        return Ok(());
    };
    System::new().block_on(run(args))
}

/// Keeps the thread busy for `d` (a stand-in for the work of a request).
fn spin(d: Duration) {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < d {
        std::hint::spin_loop();
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let throttles = Throttles::new(Telemetry::new());
    let config = if args.rate == 0 {
        ThrottleConfig::unlimited()
    } else {
        ThrottleConfig::rate_per(args.rate, Duration::from_millis(args.interval_ms))
    };
    throttles.start("bench", config).await?;
    let record = args.rate != 0;
    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    let ms_total = (args.seconds * 1000) as usize;
    let arbiters: Vec<Arbiter> = (0..args.arbiters).map(|_| Arbiter::new()).collect();
    let work = Duration::from_micros(args.work_us);
    for u in 0..args.users {
        let t = throttles.clone();
        arbiters[u % args.arbiters].spawn(async move {
            let mut n = 0u32;
            let mut buckets: Vec<u64> = vec![0; if record { 0 } else { ms_total }];
            loop {
                let Ok(permit) = t.wait("bench").await else {
                    break;
                };
                let at = permit.granted_at();
                if at >= end {
                    break;
                }
                if record {
                    let ns = (at - start).as_nanos() as u64;
                    GRANTS.with(|g| g.borrow_mut().push(ns));
                } else {
                    let ms = (at - start).as_millis() as usize;
                    if let Some(b) = buckets.get_mut(ms) {
                        *b += 1;
                    }
                }
                if !work.is_zero() {
                    spin(work);
                }
                // A permit that passed at once has no await point: let the others run.
                n = n.wrapping_add(1);
                if n % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            PER_MS.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() < buckets.len() {
                    c.resize(buckets.len(), 0);
                }
                for (i, b) in buckets.into_iter().enumerate() {
                    c[i] += b;
                }
            });
        });
    }
    let mut last = 0;
    for s in 1..=args.seconds {
        tokio::time::sleep_until(start + Duration::from_secs(s)).await;
        let granted = throttles.info("bench").await?.granted;
        println!("second {s}: {}", granted - last);
        last = granted;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    throttles.stop("bench").await?;
    let mut grants: Vec<u64> = Vec::new();
    let mut per_ms: Vec<u64> = Vec::new();
    for a in &arbiters {
        let (tx, rx) = tokio::sync::oneshot::channel();
        a.spawn(async move {
            let g = GRANTS.with(|g| std::mem::take(&mut *g.borrow_mut()));
            let c = PER_MS.with(|c| std::mem::take(&mut *c.borrow_mut()));
            let _ = tx.send((g, c));
        });
        let (g, c) = rx.await?;
        grants.extend(g);
        if per_ms.len() < c.len() {
            per_ms.resize(c.len(), 0);
        }
        for (i, n) in c.into_iter().enumerate() {
            per_ms[i] += n;
        }
        a.stop();
    }
    let total = if record {
        grants.len() as u64
    } else {
        per_ms.iter().sum()
    };
    grants.sort_unstable();
    let window = args.interval_ms * 1_000_000;
    let mut max_in_window = 0u64;
    let mut lo = 0;
    for hi in 0..grants.len() {
        while grants[hi] - grants[lo] >= window {
            lo += 1;
        }
        max_in_window = max_in_window.max((hi - lo + 1) as u64);
    }
    // Unlimited: windows aligned to whole milliseconds.
    let w = args.interval_ms as usize;
    for i in 0..per_ms.len() {
        let sum: u64 = per_ms[i..(i + w).min(per_ms.len())].iter().sum();
        max_in_window = max_in_window.max(sum);
    }
    let achieved = total as f64 / args.seconds as f64;
    let target = if args.rate == 0 {
        "unlimited".to_string()
    } else {
        format!("{:.0}", args.rate as f64 * 1000.0 / args.interval_ms as f64)
    };
    println!(
        "throttle_bench rate={} interval_ms={} users={} seconds={} achieved_per_s={:.2} max_in_window={} target_per_s={} arbiters={} work_us={}",
        args.rate, args.interval_ms, args.users, args.seconds, achieved, max_in_window, target,
        args.arbiters, args.work_us
    );
    System::current().stop();
    Ok(())
}
