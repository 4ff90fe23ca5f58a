//! The smallest complete scenario: ten users each say hello, nap, and end.
//!
//! ```sh
//! cargo run --example hello_scenario
//! ```

use std::time::Duration;

use amoc::app::App;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::user_rate::UserRate;
use amoc::users::UserContext;

struct Hello;

impl Scenario for Hello {
    const NAME: &'static str = "hello";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        println!(
            "hello from user {} on shard {}",
            user.user_id(),
            user.shard()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    let app = App::builder().scenario(Hello).start().await?;
    let controller = app.controller();
    let settings = vec![UserRate::Infinity.setting()];
    controller.run(Hello::NAME, 10, settings).await?;
    // Wait (at most 10 s) until all ten users have said hello and returned.
    for _ in 0..1000 {
        if controller.status().users.ended == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    controller.stop_scenario().await?;
    controller.wait_finished().await;
    println!("{:?}", controller.status());
    app.shutdown().await;
    Ok(())
}
