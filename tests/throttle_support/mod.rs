//! Helpers shared by the throttle tests.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use actix::prelude::*;
use amoc::telemetry::Telemetry;
use amoc::throttle::{Permit, ThrottleError, Throttles};
use tokio::sync::mpsc;

#[path = "../common/timeout.rs"]
mod timeout;
pub use timeout::TIMEOUT;

/// A message carrying a number.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Msg(pub u64);

/// An actor that forwards every `Msg` into a channel.
pub struct Sink(mpsc::UnboundedSender<u64>);

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Msg> for Sink {
    type Result = ();
    fn handle(&mut self, m: Msg, _: &mut Context<Self>) {
        let _ = self.0.send(m.0);
    }
}

/// A sink actor and the receiving end of what it gets.
pub fn sink() -> (Recipient<Msg>, mpsc::UnboundedReceiver<u64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Sink(tx).start().recipient(), rx)
}

/// A fresh registry with its own telemetry (not started).
pub fn throttles() -> Throttles {
    Throttles::new(Telemetry::new())
}

/// True if a message arrives within `within`.
pub async fn arrives(rx: &mut mpsc::UnboundedReceiver<u64>, within: Duration) -> bool {
    matches!(tokio::time::timeout(within, rx.recv()).await, Ok(Some(_)))
}

/// The largest number of timestamps (ns) in any half-open window of `window` ns (sorts them
/// first).
pub fn max_in_window(times: &mut [u64], window: u64) -> usize {
    times.sort_unstable();
    amoc::throttle::max_in_window(times, window) as usize
}

/// A `wait` on `name` that is queued (or already answered) when this returns: a request
/// queues on its first poll, so the caller can go on without sleeping. Spawned on the
/// current arbiter; the handle gives the answer.
pub async fn queued_wait(
    t: &Throttles,
    name: &str,
) -> tokio::task::JoinHandle<Result<Permit, ThrottleError>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (t, name) = (t.clone(), name.to_owned());
    let handle = actix_rt::spawn(async move {
        let mut w = std::pin::pin!(t.wait(&name));
        let first = first_poll(w.as_mut()).await;
        let _ = tx.send(());
        match first {
            Poll::Ready(r) => r,
            Poll::Pending => w.await,
        }
    });
    let _ = tokio::time::timeout(TIMEOUT, rx).await;
    handle
}

/// Polls `fut` once and returns what that gave.
pub async fn first_poll<F: Future>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}
