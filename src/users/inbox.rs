//! A user's inbox: a bounded FIFO of messages, and the stop request.
//!
//! Two halves. The [`Mailbox`] is the cross-thread part, shared (one `Arc`) by the user and
//! every [`UserRef`](super::UserRef) to it: at most [`CAPACITY`] messages, a semaphore counting
//! the free places, the user's waker. The [`Inbox`] is the user's own part, on its arbiter
//! (single-threaded, no locks): the stop request and where it sits among the messages. The
//! mailbox is made when the user first hands out a `UserRef` (most users never do, and then
//! cost nothing for it).
//!
//! Guarantees:
//! * `try_send` never waits: the message is queued, or given back with `Full` (no room) or
//!   `UserGone` (the user has ended).
//! * `send` waits for room without polling (the semaphore's waker); waiting senders get room
//!   in the order they started waiting, and `try_send` never takes room a waiting sender was
//!   promised. When the user ends, waiting senders get their message back with `UserGone`.
//! * Messages are received in the order they were queued; nothing queued is dropped while
//!   the user lives. Messages still queued when the user ends are dropped with its inbox (the
//!   sender was told `Ok` when they were queued, as with any mailbox).
//! * A stop request is delivered once by `recv`, behind the messages queued before it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use tokio::sync::{Semaphore, TryAcquireError};

use super::SendError;

/// How many messages a user's mailbox holds.
pub const CAPACITY: usize = 1024;

/// What [`UserContext::recv`](super::UserContext::recv) yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<M> {
    /// A message from another user, a coordinator action or the scenario.
    Message(M),
    /// The user was asked to stop (delivered once, behind messages already queued).
    StopRequested,
    /// Nothing arrived in time (only from `recv_timeout`).
    Timeout,
}

/// The cross-thread half: the queued messages, bounded by `room`.
pub(crate) struct Mailbox<M> {
    /// One permit per free place; closed once the user has ended.
    room: Semaphore,
    queue: Mutex<Queue<M>>,
}

struct Queue<M> {
    items: VecDeque<M>,
    closed: bool,
    /// The user's `recv`, waiting for a message.
    waker: Option<Waker>,
}

impl<M> std::fmt::Debug for Mailbox<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("room", &self.room.available_permits())
            .finish()
    }
}

impl<M> Mailbox<M> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            room: Semaphore::new(capacity),
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                closed: false,
                waker: None,
            }),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue<M>> {
        crate::sync::lock(&self.queue)
    }

    /// Queues `m` if there is room, without waiting.
    pub(crate) fn try_send(&self, m: M) -> Result<(), SendError<M>> {
        match self.room.try_acquire() {
            Ok(permit) => {
                permit.forget();
                self.push(m)
            }
            Err(TryAcquireError::NoPermits) => Err(SendError::Full(m)),
            Err(TryAcquireError::Closed) => Err(SendError::UserGone(m)),
        }
    }

    /// Queues `m`, waiting for room; fails only when the user has ended. Dropping the future
    /// drops `m` unsent.
    pub(crate) async fn send(&self, m: M) -> Result<(), SendError<M>> {
        match self.room.acquire().await {
            Ok(permit) => {
                permit.forget();
                self.push(m)
            }
            Err(_) => Err(SendError::UserGone(m)),
        }
    }

    /// Queues `m` in the place its permit reserved and wakes the user.
    fn push(&self, m: M) -> Result<(), SendError<M>> {
        let waker = {
            let mut q = self.queue();
            if q.closed {
                return Err(SendError::UserGone(m));
            }
            q.items.push_back(m);
            q.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// The oldest message, or `None` after registering `waker` for the next one.
    fn pop_or_register(&self, waker: &Waker) -> Option<M> {
        let m = {
            let mut q = self.queue();
            let m = q.items.pop_front();
            if m.is_none() && !q.closed {
                q.waker = Some(waker.clone());
            }
            m
        };
        if m.is_some() {
            self.room.add_permits(1);
        }
        m
    }

    fn len(&self) -> usize {
        self.queue().items.len()
    }

    /// The user has ended: senders get `UserGone` from now on (waiting ones too), queued
    /// messages are dropped.
    pub(crate) fn close(&self) {
        self.room.close();
        let dropped = {
            let mut q = self.queue();
            q.closed = true;
            q.waker = None;
            std::mem::take(&mut q.items)
        };
        drop(dropped);
    }
}

/// Where the stop request stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// None yet.
    No,
    /// Requested; delivered after this many queued messages (those queued before it).
    Behind(usize),
    /// `recv` has yielded it.
    Delivered,
}

/// The user's own half, on its arbiter.
pub(crate) struct Inbox<M> {
    mailbox: Option<Arc<Mailbox<M>>>,
    stop: Stop,
    recv_waker: Option<Waker>,
    stop_waker: Option<Waker>,
    closed: bool,
}

impl<M> Inbox<M> {
    pub(crate) fn new() -> Self {
        Self {
            mailbox: None,
            stop: Stop::No,
            recv_waker: None,
            stop_waker: None,
            closed: false,
        }
    }

    /// The mailbox, made on first use (with the waker of a `recv` already waiting).
    pub(crate) fn mailbox(&mut self) -> Arc<Mailbox<M>> {
        let closed = self.closed;
        let waker = self.recv_waker.clone();
        self.mailbox
            .get_or_insert_with(|| {
                let mailbox = Arc::new(Mailbox::new(CAPACITY));
                if closed {
                    mailbox.close();
                } else {
                    mailbox.queue().waker = waker;
                }
                mailbox
            })
            .clone()
    }

    /// Records the stop request once, behind the messages already queued (no allocation);
    /// returns true if it is new.
    pub(crate) fn request_stop(&mut self) -> bool {
        if self.stop != Stop::No {
            return false;
        }
        self.stop = Stop::Behind(self.mailbox.as_ref().map_or(0, |m| m.len()));
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
        if let Some(w) = self.stop_waker.take() {
            w.wake();
        }
        true
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop != Stop::No
    }

    /// The next item, if any (queued messages ahead of the stop request, then the request),
    /// else `waker` is registered for the next one.
    fn pop_or_register(&mut self, waker: &Waker) -> Option<Received<M>> {
        if self.stop == Stop::Behind(0) {
            self.stop = Stop::Delivered;
            return Some(Received::StopRequested);
        }
        let m = match &self.mailbox {
            Some(mailbox) => mailbox.pop_or_register(waker),
            None => None,
        };
        match (m, self.stop) {
            (Some(m), Stop::Behind(n)) => {
                self.stop = Stop::Behind(n - 1);
                Some(Received::Message(m))
            }
            (Some(m), _) => Some(Received::Message(m)),
            // Only this user takes messages out, so the queue cannot run short of `n`;
            // should it, the stop request is not held back.
            (None, Stop::Behind(_)) => {
                self.stop = Stop::Delivered;
                Some(Received::StopRequested)
            }
            (None, _) => {
                self.recv_waker = Some(waker.clone());
                None
            }
        }
    }

    /// The user has ended: closes the mailbox (senders get `UserGone`), drops queued
    /// messages and wakers.
    pub(crate) fn clear(&mut self) {
        self.closed = true;
        if let Some(m) = &self.mailbox {
            m.close();
        }
        self.recv_waker = None;
        self.stop_waker = None;
    }
}

pub(crate) async fn recv<M>(inbox: &RefCell<Inbox<M>>) -> Received<M> {
    poll_fn(|cx| match inbox.borrow_mut().pop_or_register(cx.waker()) {
        Some(item) => Poll::Ready(item),
        None => Poll::Pending,
    })
    .await
}

pub(crate) async fn stopping<M>(inbox: &RefCell<Inbox<M>>) {
    poll_fn(|cx| {
        let mut inbox = inbox.borrow_mut();
        if inbox.stop_requested() {
            Poll::Ready(())
        } else {
            inbox.stop_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
#[path = "inbox_tests.rs"]
mod tests;
