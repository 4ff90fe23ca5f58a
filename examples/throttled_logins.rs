//! Users log in through a named throttle whose rate is raised gradually while they run.
//!
//! `cargo run --example throttled_logins` — prints the logins of each second for 8 s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_rt::{Arbiter, System};
use amoc::telemetry::Telemetry;
use amoc::throttle::{GradualPlan, ThrottleConfig, Throttles};

fn main() -> anyhow::Result<()> {
    System::new().block_on(async {
        let throttles = Throttles::new(Telemetry::new());
        let second = Duration::from_secs(1);
        throttles
            .start("login", ThrottleConfig::rate_per(50, second))
            .await?;

        // 200 users on two arbiters, each logging in as often as the throttle allows.
        let logins = Arc::new(AtomicU64::new(0));
        let arbiters = [Arbiter::new(), Arbiter::new()];
        for user in 0..200 {
            let (t, logins) = (throttles.clone(), logins.clone());
            arbiters[user % 2].spawn(async move {
                while t.wait("login").await.is_ok() {
                    logins.fetch_add(1, Ordering::Relaxed); // "log in"
                }
            });
        }

        // From 50/s to 500/s in ten steps of 500 ms.
        let plan = GradualPlan::new(50, 500)
            .interval(second)
            .every(Duration::from_millis(500), 10);
        throttles.change_rate_gradually("login", plan).await?;

        let mut last = 0;
        for s in 1..=8 {
            tokio::time::sleep(second).await;
            let now = logins.load(Ordering::Relaxed);
            let info = throttles.info("login").await?;
            println!(
                "second {s}: {} logins (rate now {} per second)",
                now - last,
                info.rate
            );
            last = now;
        }
        throttles.stop("login").await?; // waiting users get `Stopped` and finish
        for a in &arbiters {
            a.stop();
        }
        Ok(())
    })
}
