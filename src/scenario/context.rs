//! What a user's scenario code sees: its id, the shared state, the run, and its mailbox.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::user::RunData;
use super::{RunContext, Scenario};
use crate::config::ConfigView;
use crate::coordinator::Coordinators;
use crate::telemetry::Telemetry;
use crate::throttle::Throttles;
use crate::users::{inbox, Received, UserCell, UserId, UserRef};

/// The context of one user, handed to [`Scenario::start`].
///
/// It lives inside the user's task, on the user's shard (arbiter): it is not `Send`.
pub struct UserContext<S: Scenario> {
    pub(crate) run: Arc<RunData<S>>,
    pub(crate) cell: Rc<UserCell<S::Message>>,
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
    /// # use amoc::scenario::{RunContext, Scenario, ScenarioError, UserContext};
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

    /// A handle other users and coordinator actions can send messages to (its mailbox is
    /// made on the first call).
    pub fn me(&self) -> UserRef<S::Message> {
        UserRef::new(self.user_id(), self.cell.inbox.borrow_mut().mailbox())
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
