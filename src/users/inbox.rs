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

/// Where the stop request stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// None yet.
    No,
    /// Requested; delivered after this many queued messages (those queued before it).
    Behind(usize),
    /// `recv` has yielded it.
    Delivered,
}

pub(crate) struct Inbox<M> {
    queue: VecDeque<M>,
    stop: Stop,
    recv_waker: Option<Waker>,
    stop_waker: Option<Waker>,
}

impl<M> Inbox<M> {
    pub(crate) fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            stop: Stop::No,
            recv_waker: None,
            stop_waker: None,
        }
    }

    pub(crate) fn push(&mut self, m: M) {
        self.queue.push_back(m);
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
    }

    /// Records the stop request once, behind the messages already queued (no allocation);
    /// returns true if it is new.
    pub(crate) fn request_stop(&mut self) -> bool {
        if self.stop != Stop::No {
            return false;
        }
        self.stop = Stop::Behind(self.queue.len());
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

    /// The next item, if any: queued messages ahead of the stop request, then the request.
    fn pop(&mut self) -> Option<Received<M>> {
        match self.stop {
            Stop::Behind(0) => {
                self.stop = Stop::Delivered;
                Some(Received::StopRequested)
            }
            Stop::Behind(n) => {
                let m = self.queue.pop_front()?;
                self.stop = Stop::Behind(n - 1);
                Some(Received::Message(m))
            }
            Stop::No | Stop::Delivered => self.queue.pop_front().map(Received::Message),
        }
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
        match inbox.pop() {
            Some(item) => Poll::Ready(item),
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
        if inbox.stop_requested() {
            Poll::Ready(())
        } else {
            inbox.stop_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await
}
