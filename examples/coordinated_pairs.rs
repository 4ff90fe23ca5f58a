//! Coordinated pairs: a coordinator pairs users up as they arrive; each pair exchanges
//! messages through the users' mailboxes.
//!
//! Run: `cargo run --example coordinated_pairs`

use std::time::Duration;

use amoc::app::App;
use amoc::coordinator::{Action, PlanItem, Size};
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::user_rate::UserRate;
use amoc::users::{Received, UserRef};

struct Chat;

impl Scenario for Chat {
    const NAME: &'static str = "chat";
    type State = ();
    type Message = String;

    async fn init(&self, ctx: RunContext) -> Result<(), ScenarioError> {
        // Each complete pair: introduce the two users to each other.
        let introduce = Action::pairs(|_, a: Option<&UserRef<String>>, b| {
            if let (Some(a), Some(b)) = (a, b) {
                let _ = a.try_send(format!("hi, I am user {}", b.user_id()));
                let _ = b.try_send(format!("hi, I am user {}", a.user_id()));
            }
        });
        let plan = PlanItem::new(Size::Exactly(2), introduce);
        ctx.coordinators()
            .start("chat", plan, Some(Duration::from_secs(5)))?;
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        user.coordinators().add("chat", user.me())?;
        match user.recv_timeout(Duration::from_secs(5)).await {
            Received::Message(m) => println!("user {:>2} got: {m}", user.user_id()),
            Received::Timeout => println!("user {:>2} found no partner", user.user_id()),
            Received::StopRequested => {}
        }
        Ok(())
    }
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    let app = App::builder().scenario(Chat).start().await?;
    let c = app.controller();
    c.run("chat", 10, vec![UserRate::Infinity.setting()])
        .await?;
    while c.status().users.ended < 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.stop_scenario().await?;
    c.wait_finished().await;
    println!(
        "all 10 users chatted in pairs; status: {:?}",
        c.status().users
    );
    app.shutdown().await;
    Ok(())
}
