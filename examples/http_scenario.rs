//! HTTP users with a throttle: 50 users share a limit of 500 requests per second against the
//! embedded target; the limit doubles halfway through. Each user logs in once and then
//! browses; the run's statistics show both request names.
//!
//! Run: `cargo run --example http_scenario`

use std::time::Duration;

use amoc::app::App;
use amoc::metrics::RunStats;
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::throttle::ThrottleConfig;
use amoc_actors::http::HttpClient;
use amoc_actors::TestTarget;

struct Browse {
    url: String,
}

impl Scenario for Browse {
    const NAME: &'static str = "browse";
    type State = HttpClient;
    type Message = ();

    async fn init(&self, ctx: RunContext) -> Result<HttpClient, ScenarioError> {
        let per_second = ThrottleConfig::rate_per(500, Duration::from_secs(1));
        ctx.throttles().start("requests", per_second).await?;
        Ok(HttpClient::builder(self.url.clone()).build(&ctx).await?)
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let mut http = user.state().user();
        let body = format!("user={}", user.user_id());
        http.post("login", "/echo", body)
            .expect_status(200)
            .send()
            .await?;
        while !user.stop_requested() {
            user.throttles().wait("requests").await?;
            http.get("browse", "/").send().await?;
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
    let c = app.controller();
    c.run("browse", 50, vec![("user_rate".into(), "infinity".into())])
        .await?;
    let stats = RunStats::current(app.telemetry()).expect("the run has started");
    let mut last = stats.snapshot();
    for second in 1..=6 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if second == 3 {
            let faster = ThrottleConfig::rate_per(1000, Duration::from_secs(1));
            app.throttles().change_rate("requests", faster).await?;
            println!("-- limit raised to 1000/s");
        }
        let now = stats.snapshot();
        let w = now.since(&last);
        last = now;
        println!(
            "{second}s: {} requests, p99 {:?}, errors {}",
            w.total().count,
            w.total().latency_at(0.99),
            w.total().errors()
        );
    }
    c.stop_scenario().await?;
    c.wait_finished().await;
    for (name, s) in stats.snapshot().by_name() {
        println!("{name}: {} requests, {} errors", s.count, s.errors());
    }
    app.shutdown().await;
    target.stop().await;
    Ok(())
}
