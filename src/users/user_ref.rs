//! [`UserRef`]: the `Send` handle to a user's mailbox that other users and coordinator
//! actions send through (its guarantees: the module docs of [`crate::users`]).

use std::sync::Arc;

use super::inbox::Mailbox;
use super::{SendError, UserId};

/// A clonable, `Send` handle to a user's mailbox, which holds up to
/// [`CAPACITY`](super::CAPACITY) messages (guarantees: [`crate::users`], "Messages").
pub struct UserRef<M: Send + 'static> {
    id: UserId,
    mailbox: Arc<Mailbox<M>>,
}

impl<M: Send + 'static> std::fmt::Debug for UserRef<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRef")
            .field("id", &self.id)
            .field("mailbox", &self.mailbox)
            .finish()
    }
}

impl<M: Send + 'static> Clone for UserRef<M> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            mailbox: self.mailbox.clone(),
        }
    }
}

impl<M: Send + 'static> UserRef<M> {
    pub(crate) fn new(id: UserId, mailbox: Arc<Mailbox<M>>) -> Self {
        Self { id, mailbox }
    }

    /// The user's id.
    pub fn user_id(&self) -> UserId {
        self.id
    }

    /// Queues `m`, waiting (without polling) while the mailbox is full; fails only when the
    /// user has ended, giving `m` back. Senders waiting for room get it in the order they
    /// started waiting. Dropping the future before it completes drops `m` unsent.
    pub async fn send(&self, m: M) -> Result<(), SendError<M>> {
        self.mailbox.send(m).await
    }

    /// Queues `m` without waiting; gives it back with [`SendError::Full`] when the mailbox
    /// is full, with [`SendError::UserGone`] when the user has ended.
    pub fn try_send(&self, m: M) -> Result<(), SendError<M>> {
        self.mailbox.try_send(m)
    }
}
