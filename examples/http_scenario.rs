//! HTTP users with a throttle: 50 users share a limit of 500 requests per second against the
//! embedded target; the limit doubles halfway through.
//!
//! Run: `cargo run --example http_scenario`

use std::time::Duration;

use amoc::app::App;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::throttle::ThrottleConfig;
use amoc::users::UserContext;
use amoc_actors::{http, LoadStats, TakeWindow, TestTarget};

struct Browse {
    url: String,
}

impl Scenario for Browse {
    const NAME: &'static str = "browse";
    type State = ();
    type Message = ();

    async fn init(&self, ctx: RunContext) -> Result<(), ScenarioError> {
        let per_second = ThrottleConfig::rate_per(500, Duration::from_secs(1));
        ctx.throttles().start("requests", per_second).await?;
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        while !user.stop_requested() {
            user.throttles().wait("requests").await?;
            http::get(user.telemetry(), &self.url).await?;
        }
        Ok(())
    }
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    let target = TestTarget::start(0, 1)?;
    let app = App::builder()
        .scenario(Browse { url: target.url() })
        .start()
        .await?;
    let arbiter = actix_rt::Arbiter::current();
    let patterns = [amoc::telemetry::EventPattern::from(&http::HTTP_REQUEST)];
    let stats = app
        .telemetry()
        .spawn_handler(
            "stats",
            patterns,
            &arbiter,
            LoadStats::new,
            Default::default(),
        )
        .await?;
    let c = app.controller();
    c.run("browse", 50, vec![("user_rate".into(), "infinity".into())])
        .await?;
    for second in 1..=6 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if second == 3 {
            let faster = ThrottleConfig::rate_per(1000, Duration::from_secs(1));
            app.throttles().change_rate("requests", faster).await?;
            println!("-- limit raised to 1000/s");
        }
        let w = stats.send(TakeWindow).await?;
        println!(
            "{second}s: {:.0} req/s, p99 {:.2} ms, errors {}",
            w.per_second(),
            w.p99_ms,
            w.errors
        );
    }
    c.stop_scenario().await?;
    c.wait_finished().await;
    app.telemetry().detach("stats").await?;
    app.shutdown().await;
    target.stop().await;
    Ok(())
}
