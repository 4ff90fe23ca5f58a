//! The smallest complete scenario: ten users each say hello, nap, and end.
//!
//! ```sh
//! cargo run --example hello_scenario
//! ```

use amoc::prelude::*;
use amoc_actors::LoadTest;

struct Hello;

impl SimpleScenario for Hello {
    const NAME: &'static str = "hello";
    type State = ();
    type Message = ();

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

fn main() -> Result<(), amoc_actors::RunError> {
    // Progress and a summary; the test ends when all ten users have ended.
    LoadTest::new(Hello)
        .users(10)
        .set("user_rate", "infinity")
        .run_blocking()?;
    Ok(())
}
