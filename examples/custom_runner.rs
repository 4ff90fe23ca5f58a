//! Your own load-test program: two scenarios, the whole `amoc` command line.
//!
//! ```sh
//! cargo run --example custom_runner -- list
//! cargo run --example custom_runner -- run walk --users 20
//! cargo run --example custom_runner -- run browse --set url=http://127.0.0.1:8080/ --duration 10s
//! ```
//!
//! `browse` sends named requests (`home`, then `page` in a loop), so the summary shows a line
//! for each name.
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use amoc::prelude::*;
use amoc_actors::http::HttpClient;
use amoc_actors::Runner;

const URL: Param<String> = Param::new("url");
const RATE: Param<u64> = Param::new("requests_per_second");
const STEPS: Param<u64> = Param::new("steps");

/// Users GET `url`, all of them together at most `requests_per_second` times a second.
struct Browse;

impl Scenario for Browse {
    const NAME: &'static str = "browse";
    type State = HttpClient; // made once by `init`, shared by the users
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![
            URL.spec("the page every user GETs").required().into(),
            RATE.spec("requests per second, all users together")
                .default(100)
                .into(),
        ]
    }

    async fn init(&self, ctx: RunContext) -> Result<HttpClient, ScenarioError> {
        let rate = ThrottleConfig::rate_per(RATE.get(ctx.config())?, Duration::from_secs(1));
        ctx.throttles().start("browse", rate).await?;
        Ok(HttpClient::builder(URL.get(ctx.config())?)
            .build(&ctx)
            .await?)
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let mut http = user.state().user();
        http.get("home", "/").expect_status(200).send().await?;
        while !user.stop_requested() {
            user.throttles().wait("browse").await?;
            let _ = http.get("page", "/").send().await; // failures are counted under "page"
        }
        Ok(())
    }
}

/// Each user takes `steps` steps of 10 ms, then ends; the run's state counts the steps.
struct Walk;

impl SimpleScenario for Walk {
    const NAME: &'static str = "walk";
    type State = AtomicU64; // no `init`: each run starts from `Default`, 0
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![STEPS.spec("steps each user takes").default(20).into()]
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        for _ in 0..STEPS.get(user.config())? {
            if let Received::StopRequested = user.recv_timeout(Duration::from_millis(10)).await {
                break;
            }
            user.state().fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn terminate(&self, steps: Arc<AtomicU64>, _: RunContext) -> Result<(), ScenarioError> {
        println!("walk: {} steps in all", steps.load(Ordering::Relaxed));
        Ok(())
    }
}

fn main() -> ExitCode {
    Runner::new().scenario(Browse).scenario(Walk).main()
}
