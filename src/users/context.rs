//! What a user's scenario code sees: its id, the shared state, the run, and its mailbox.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::{Recipient, WeakAddr};

use super::actor::{Deliver, RunData, UserActor};
use super::inbox::{self, Received};
use super::slot::UserCell;
use super::{SendError, UserId};
use crate::config::ConfigView;
use crate::coordinator::Coordinators;
use crate::scenario::{RunContext, Scenario};
use crate::telemetry::Telemetry;
use crate::throttle::Throttles;

/// The context of one user, handed to [`Scenario::start`].
///
/// It lives inside the user's task, on the user's shard (arbiter): it is not `Send`.
pub struct UserContext<S: Scenario> {
    pub(crate) run: Arc<RunData<S>>,
    pub(crate) cell: Rc<UserCell<S::Message>>,
    /// Weak, so that the context does not keep the actor alive (and costs no allocation).
    pub(crate) addr: WeakAddr<UserActor<S>>,
}

impl<S: Scenario> std::fmt::Debug for UserContext<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserContext")
            .field("scenario", &S::NAME)
            .field("user_id", &self.cell.slot.id)
            .finish()
    }
}

impl<S: Scenario> UserContext<S> {
    /// This user's id.
    pub fn user_id(&self) -> UserId {
        UserId(self.cell.slot.id)
    }

    /// The index of the shard (one per arbiter) this user runs on: `(id − 1) mod shards`.
    ///
    /// ```
    /// # use amoc::scenario::{RunContext, Scenario, ScenarioError};
    /// # use amoc::users::UserContext;
    /// # struct S;
    /// # impl Scenario for S {
    /// #     const NAME: &'static str = "s";
    /// #     type State = ();
    /// #     type Message = ();
    /// #     async fn init(&self, _: RunContext) -> Result<(), ScenarioError> { Ok(()) }
    /// async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
    ///     println!("user {} runs on shard {}", user.user_id(), user.shard());
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn shard(&self) -> usize {
        self.cell.slot.shard as usize
    }

    /// The state `init` built, shared by every user of the run.
    pub fn state(&self) -> &Arc<S::State> {
        &self.run.state
    }

    /// The run: telemetry, coordinators, throttles, configuration.
    pub fn run(&self) -> &RunContext {
        &self.run.context
    }

    /// The app's telemetry.
    pub fn telemetry(&self) -> &Telemetry {
        self.run.context.telemetry()
    }

    /// The app's coordinators.
    pub fn coordinators(&self) -> &Coordinators {
        self.run.context.coordinators()
    }

    /// The app's throttles.
    pub fn throttles(&self) -> &Throttles {
        self.run.context.throttles()
    }

    /// The run's configuration (lock-free reads).
    pub fn config(&self) -> &ConfigView {
        self.run.context.config()
    }

    /// A handle other users and coordinator actions can send messages to.
    pub fn me(&self) -> UserRef<S::Message> {
        UserRef {
            id: self.user_id(),
            recipient: self.addr.upgrade().map(|a| a.recipient()),
        }
    }

    /// The next message, or [`Received::StopRequested`] once a stop request arrived.
    pub async fn recv(&self) -> Received<S::Message> {
        inbox::recv(&self.cell.inbox).await
    }

    /// As [`recv`](Self::recv), or [`Received::Timeout`] after `timeout`.
    pub async fn recv_timeout(&self, timeout: Duration) -> Received<S::Message> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .unwrap_or(Received::Timeout)
    }

    /// Whether a stop request has arrived.
    pub fn stop_requested(&self) -> bool {
        self.cell.inbox.borrow().stop_requested()
    }

    /// Resolves once a stop request has arrived (for `select!`).
    pub async fn stopping(&self) {
        inbox::stopping(&self.cell.inbox).await
    }
}

/// A clonable, `Send` handle to a user's mailbox (capacity 1 024 messages).
#[derive(Debug)]
pub struct UserRef<M: Send + 'static> {
    id: UserId,
    /// `None` if the user had already ended when the handle was made.
    recipient: Option<Recipient<Deliver<M>>>,
}

impl<M: Send + 'static> Clone for UserRef<M> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            recipient: self.recipient.clone(),
        }
    }
}

impl<M: Send + 'static> UserRef<M> {
    /// The user's id.
    pub fn user_id(&self) -> UserId {
        self.id
    }

    /// Queues `m`, waiting while the mailbox is full; fails only when the user is gone.
    pub async fn send(&self, m: M) -> Result<(), SendError<M>> {
        let mut m = m;
        loop {
            match self.try_send(m) {
                Err(SendError::Full(back)) => {
                    m = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                other => return other,
            }
        }
    }

    /// Queues `m` without waiting.
    pub fn try_send(&self, m: M) -> Result<(), SendError<M>> {
        let Some(recipient) = &self.recipient else {
            return Err(SendError::UserGone(m));
        };
        match recipient.try_send(Deliver(m)) {
            Ok(()) => Ok(()),
            Err(actix::prelude::SendError::Full(Deliver(m))) => Err(SendError::Full(m)),
            Err(actix::prelude::SendError::Closed(Deliver(m))) => Err(SendError::UserGone(m)),
        }
    }
}
