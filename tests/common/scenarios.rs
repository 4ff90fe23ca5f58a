//! Scenarios used by the controller and user tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use amoc::config::{ParamDecl, ParamSpec};
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::users::Received;
use tokio::sync::watch;

/// Users wait for a stop request (and obey it), or for messages they count.
#[derive(Default)]
pub struct Idle {
    pub terminated: Arc<AtomicU64>,
}

impl Scenario for Idle {
    const NAME: &'static str = "idle";
    type State = ();
    type Message = u64;

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        loop {
            match user.recv().await {
                Received::StopRequested => return Ok(()),
                Received::Message(_) | Received::Timeout => {}
            }
        }
    }

    async fn terminate(&self, _: Arc<()>, _: RunContext) -> Result<(), ScenarioError> {
        self.terminated.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Users ignore stop requests: only a forced stop ends them.
pub struct Stubborn;

impl Scenario for Stubborn {
    const NAME: &'static str = "stubborn";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, _: UserContext<Self>) -> Result<(), ScenarioError> {
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// A scenario with a required parameter, whose init fails when asked to.
pub struct Configured;

impl Scenario for Configured {
    const NAME: &'static str = "configured";
    type State = String;
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![
            ParamSpec::<String>::new("testing_var1", "a required parameter")
                .required()
                .decl(),
            ParamSpec::<bool>::new("fail_init", "make init fail")
                .default(false)
                .decl(),
        ]
    }

    async fn init(&self, ctx: RunContext) -> Result<String, ScenarioError> {
        if ctx.config().get::<bool>("fail_init")? {
            return Err("init failed on purpose".into());
        }
        Ok(ctx.config().get::<String>("testing_var1")?)
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        user.stopping().await;
        Ok(())
    }
}

/// User 1 returns an error, user 2 panics, the others idle until asked to stop.
pub struct Crashy;

impl Scenario for Crashy {
    const NAME: &'static str = "crashy";
    type State = ();
    type Message = ();

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        match user.user_id().0 {
            1 => Err("user 1 fails".into()),
            2 => panic!("user 2 panics"),
            _ => {
                user.stopping().await;
                Ok(())
            }
        }
    }
}

/// Users register their mailbox and record every message they get.
#[derive(Clone)]
pub struct Mailboxes {
    pub refs: Arc<watch::Sender<std::collections::HashMap<u64, amoc::users::UserRef<String>>>>,
    pub got: Arc<watch::Sender<Vec<(u64, String)>>>,
}

impl Default for Mailboxes {
    fn default() -> Self {
        Self {
            refs: Arc::new(watch::Sender::new(Default::default())),
            got: Arc::new(watch::Sender::new(Vec::new())),
        }
    }
}

impl Scenario for Mailboxes {
    const NAME: &'static str = "mailboxes";
    type State = ();
    type Message = String;

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let id = user.user_id().0;
        self.refs.send_modify(|refs| {
            refs.insert(id, user.me());
        });
        loop {
            match user.recv().await {
                Received::Message(m) => self.got.send_modify(|got| got.push((id, m))),
                Received::StopRequested => {
                    assert!(user.stop_requested());
                    self.got
                        .send_modify(|got| got.push((id, "stop requested".into())));
                    return Ok(());
                }
                Received::Timeout => {}
            }
        }
    }
}
