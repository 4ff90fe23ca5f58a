//! A user's mailbox is bounded for real: `try_send` gives the message back with `Full` at
//! capacity, `send` waits for room and then delivers, in order, with nothing lost.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::users::{Received, SendError, UserRef, CAPACITY};
use common::app::{builder, infinity, users_until, value_until};
use tokio::sync::watch;

/// Users hand out their mailbox, read nothing until the gate opens, then record every
/// message until asked to stop.
#[derive(Clone)]
struct Backlog {
    me: Arc<watch::Sender<Option<UserRef<u64>>>>,
    gate: Arc<watch::Sender<bool>>,
    got: Arc<watch::Sender<Vec<u64>>>,
}

impl Scenario for Backlog {
    const NAME: &'static str = "backlog";
    type State = ();
    type Message = u64;

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        self.me.send_replace(Some(user.me()));
        self.gate.subscribe().wait_for(|open| *open).await?;
        loop {
            match user.recv().await {
                Received::Message(m) => self.got.send_modify(|got| got.push(m)),
                Received::StopRequested => return Ok(()),
                Received::Timeout => {}
            }
        }
    }
}

/// Polls `fut` once.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(&futures::task::noop_waker()))
}

#[actix_rt::test]
async fn a_full_mailbox_makes_send_wait_then_delivers_everything_in_order() {
    let scenario = Backlog {
        me: Arc::new(watch::Sender::new(None)),
        gate: Arc::new(watch::Sender::new(false)),
        got: Arc::new(watch::Sender::new(Vec::new())),
    };
    let app = builder().scenario(scenario.clone()).start().await.unwrap();
    let c = app.controller();
    c.run("backlog", 1, infinity()).await.unwrap();
    value_until(&scenario.me, Option::is_some).await;
    let user = scenario.me.borrow().clone().unwrap();
    let cap = CAPACITY as u64;

    for m in 0..cap {
        assert_eq!(user.try_send(m), Ok(()), "message {m} fits");
    }
    assert_eq!(user.try_send(cap), Err(SendError::Full(cap)), "given back");

    // The user reads nothing yet: a send cannot complete, whatever the timing.
    let mut first = pin!(user.send(cap));
    assert!(
        poll_once(first.as_mut()).is_pending(),
        "send waits for room"
    );
    assert_eq!(
        user.try_send(u64::MAX),
        Err(SendError::Full(u64::MAX)),
        "try_send never takes room a waiting sender was promised"
    );

    scenario.gate.send_replace(true);
    tokio::time::timeout(common::TIMEOUT, first)
        .await
        .expect("send got room once the user read")
        .unwrap();
    let rest = user.clone();
    let more = tokio::spawn(async move {
        for m in cap + 1..3 * cap {
            rest.send(m).await.unwrap();
        }
    });
    tokio::time::timeout(common::TIMEOUT, more)
        .await
        .expect("every send completed")
        .unwrap();
    value_until(&scenario.got, |got| got.len() as u64 == 3 * cap).await;
    assert_eq!(
        *scenario.got.borrow(),
        (0..3 * cap).collect::<Vec<_>>(),
        "in order, nothing lost"
    );

    c.stop_scenario().await.unwrap();
    users_until(c, |u| u.running == 0 && u.ended == 1).await;
    assert_eq!(user.try_send(1), Err(SendError::UserGone(1)));
    assert_eq!(user.send(2).await, Err(SendError::UserGone(2)));
    app.shutdown().await;
}
