//! A user's inbox: messages and the stop request, awaited by the scenario on the user's
//! arbiter (single-threaded, so no locks).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Poll, Waker};

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

enum Item<M> {
    Message(M),
    Stop,
}

pub(crate) struct Inbox<M> {
    queue: VecDeque<Item<M>>,
    stop_requested: bool,
    recv_waker: Option<Waker>,
    stop_waker: Option<Waker>,
}

impl<M> Inbox<M> {
    pub(crate) fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            stop_requested: false,
            recv_waker: None,
            stop_waker: None,
        }
    }

    pub(crate) fn push(&mut self, m: M) {
        self.queue.push_back(Item::Message(m));
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
    }

    /// Queues the stop request once; returns true if it is new.
    pub(crate) fn request_stop(&mut self) -> bool {
        if self.stop_requested {
            return false;
        }
        self.stop_requested = true;
        self.queue.push_back(Item::Stop);
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
        if let Some(w) = self.stop_waker.take() {
            w.wake();
        }
        true
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop_requested
    }

    /// Drops queued messages and wakers: the user has ended.
    pub(crate) fn clear(&mut self) {
        self.queue = VecDeque::new();
        self.recv_waker = None;
        self.stop_waker = None;
    }
}

pub(crate) async fn recv<M>(inbox: &RefCell<Inbox<M>>) -> Received<M> {
    poll_fn(|cx| {
        let mut inbox = inbox.borrow_mut();
        match inbox.queue.pop_front() {
            Some(Item::Message(m)) => Poll::Ready(Received::Message(m)),
            Some(Item::Stop) => Poll::Ready(Received::StopRequested),
            None => {
                inbox.recv_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

pub(crate) async fn stopping<M>(inbox: &RefCell<Inbox<M>>) {
    poll_fn(|cx| {
        let mut inbox = inbox.borrow_mut();
        if inbox.stop_requested {
            Poll::Ready(())
        } else {
            inbox.stop_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await
}
