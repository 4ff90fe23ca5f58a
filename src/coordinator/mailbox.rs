//! A coordinator's command queue: lock-free for adders, drained in batches by the actor, and
//! independent of the actor, so it outlives a crash and the restarted actor takes it over.
//!
//! Adders push onto a [`SegQueue`] (FIFO, so one caller's commands keep their order) and
//! wake the actor only when it announced that it is going to sleep: a burst of adds costs
//! one push each and one wake-up in all. The actor drains up to a batch per wake-up.

use std::pin::Pin;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use crossbeam_queue::SegQueue;
use futures::task::AtomicWaker;
use futures::Stream;
use tokio::sync::oneshot;

/// A request that does not carry user data.
pub(crate) enum Control {
    /// Flush with kind `Reset`, then answer.
    Reset(oneshot::Sender<()>),
    /// Flush with kind `Stop`, free the name, answer, stop the actor.
    Stop(oneshot::Sender<()>),
    /// Test hook: panic inside the actor.
    Crash,
}

/// What a coordinator is asked to do, in the order it was asked.
pub(crate) enum Command<D> {
    /// A user's data (wrapped in an `Arc` by the actor, so allocation stays on its thread).
    Add(D),
    /// Reset, stop or crash.
    Control(Control),
}

/// The queue shared by the registry entry (senders) and the coordinator's actor.
pub(crate) struct Mailbox<D> {
    queue: SegQueue<Command<D>>,
    waker: AtomicWaker,
    /// Set by the actor before it sleeps; an adder that sees it wakes the actor.
    sleeping: AtomicBool,
    /// Set once when the coordinator ends for good; adds and controls are refused after.
    closed: AtomicBool,
    /// Taken by control senders around their check-and-push, and by `close`, so a control
    /// command is either refused or queued before the final drain (never left hanging).
    control_lock: Mutex<()>,
}

impl<D> Mailbox<D> {
    /// An empty, open mailbox.
    pub(crate) fn new() -> Self {
        Self {
            queue: SegQueue::new(),
            waker: AtomicWaker::new(),
            sleeping: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            control_lock: Mutex::new(()),
        }
    }

    /// Queues an add; gives the data back if the mailbox is closed. An add racing with the
    /// close may be accepted and then dropped unhandled (as if it came after the stop).
    pub(crate) fn add(&self, data: D) -> Result<(), D> {
        if self.closed.load(Ordering::Acquire) {
            return Err(data);
        }
        self.push(Command::Add(data));
        Ok(())
    }

    /// Queues a control command; gives it back if the mailbox is closed.
    pub(crate) fn control(&self, control: Control) -> Result<(), Control> {
        let _guard = crate::sync::lock(&self.control_lock);
        if self.closed.load(Ordering::Acquire) {
            return Err(control);
        }
        self.push(Command::Control(control));
        Ok(())
    }

    fn push(&self, cmd: Command<D>) {
        self.queue.push(cmd);
        // Pairs with the fence in `poll_ready`: either the actor sees this command when it
        // re-checks the queue, or this thread sees `sleeping` and wakes it.
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// The next command, if any.
    pub(crate) fn pop(&self) -> Option<Command<D>> {
        self.queue.pop()
    }

    /// True once closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Refuses further commands and drops the queued ones: their callers see the coordinator
    /// gone (a waiting `reset`/`stop` gets `NoSuchCoordinator`). Idempotent.
    pub(crate) fn close(&self) {
        {
            let _guard = crate::sync::lock(&self.control_lock);
            self.closed.store(true, Ordering::Release);
        }
        while self.queue.pop().is_some() {}
        self.waker.wake();
    }

    /// Ready when a command is queued or the mailbox is closed; otherwise registers the
    /// waker and announces sleep.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.queue.is_empty() || self.is_closed() {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if !self.queue.is_empty() || self.is_closed() {
            self.sleeping.store(false, Ordering::Relaxed);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// What the registry needs from a mailbox without knowing `D`.
pub(crate) trait ErasedMailbox: Send + Sync {
    /// See [`Mailbox::control`].
    fn send_control(&self, control: Control) -> Result<(), Control>;
    /// See [`Mailbox::close`].
    fn close_box(&self);
}

impl<D: Send> ErasedMailbox for Mailbox<D> {
    fn send_control(&self, control: Control) -> Result<(), Control> {
        self.control(control)
    }

    fn close_box(&self) {
        self.close();
    }
}

/// The signal the actor's stream yields: "commands are waiting, drain a batch".
pub(crate) struct Ready;

/// The actor's view of its mailbox: yields [`Ready`] while commands wait; ends when closed
/// and empty.
pub(crate) struct ReadyStream<D>(pub(crate) std::sync::Arc<Mailbox<D>>);

impl<D> Stream for ReadyStream<D> {
    type Item = Ready;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Ready>> {
        match self.0.poll_ready(cx) {
            Poll::Ready(()) if self.0.is_closed() && self.0.queue.is_empty() => Poll::Ready(None),
            Poll::Ready(()) => Poll::Ready(Some(Ready)),
            Poll::Pending => Poll::Pending,
        }
    }
}
