//! The requests: `wait`, `send` and `run`. None of them goes through an actor: a request is
//! granted on the fast path (unlimited, or a free concurrency slot) or queued on the calling
//! arbiter's shard.

use std::future::Future;

use actix::{Message, Recipient};
use tokio::sync::oneshot;

use super::shard::Waiter;
use super::{Permit, RunHandle, ThrottleError, Throttles};

impl Throttles {
    /// Waits until throttle `name` grants a permit. Dropping the future withdraws the request.
    /// Errors: `NoSuchThrottle`; `Stopped` if the throttle stops meanwhile.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::unlimited()).await.unwrap();
    /// for _ in 0..1000 {
    ///     t.wait("n").await.unwrap();
    /// }
    /// # });
    /// ```
    pub async fn wait(&self, name: &str) -> Result<Permit, ThrottleError> {
        let queued = self.with_core(name, |core| {
            core.emit_request();
            match core.pass_or_shard() {
                Ok(p) => Ok(Ok(p)),
                Err(shard) => {
                    let (tx, rx) = oneshot::channel();
                    shard.enqueue(core, Waiter::Wait(tx))?;
                    Ok(Err(rx))
                }
            }
        })??;
        match queued {
            Ok(permit) => Ok(permit),
            Err(rx) => rx.await.unwrap_or(Err(ThrottleError::Stopped)),
        }
    }

    /// Delivers `msg` to `recipient` (`do_send`) when throttle `name` grants a permit; returns
    /// at once. Errors: `NoSuchThrottle`; `Stopped` if it is stopping.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles};
    /// # use actix::prelude::*;
    /// # #[derive(Message)] #[rtype(result = "()")] struct Ping;
    /// # struct Pong(tokio::sync::mpsc::UnboundedSender<()>);
    /// # impl Actor for Pong { type Context = Context<Self>; }
    /// # impl Handler<Ping> for Pong { type Result = (); fn handle(&mut self, _: Ping, _: &mut Context<Self>) { let _ = self.0.send(()); } }
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(60_000)).await.unwrap();
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// let addr = Pong(tx).start();
    /// t.send("n", addr.recipient(), Ping).unwrap();
    /// rx.recv().await.unwrap();
    /// # });
    /// ```
    pub fn send<M>(&self, name: &str, recipient: Recipient<M>, msg: M) -> Result<(), ThrottleError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let core = self.core(name)?;
        core.emit_request();
        let shard = match core.pass_or_shard() {
            Ok(permit) => {
                recipient.do_send(msg);
                drop(permit);
                return Ok(());
            }
            Err(shard) => shard,
        };
        shard.enqueue(
            &core,
            Waiter::Deliver(Box::new(move |permit| {
                recipient.do_send(msg);
                drop(permit);
            })),
        )
    }

    /// Runs `fut` on the caller's arbiter when throttle `name` grants a permit; returns a
    /// [`RunHandle`] at once (await it for the output, drop it to detach). In concurrency
    /// mode the permit is held until `fut` completes or panics. Errors: `NoSuchThrottle`,
    /// `NoRuntime`.
    ///
    /// ```
    /// # use amoc::throttle::{ThrottleConfig, Throttles, RunError};
    /// # actix_rt::System::new().block_on(async {
    /// let t = Throttles::new(amoc::telemetry::Telemetry::new());
    /// t.start("n", ThrottleConfig::rate(600)).await.unwrap();
    /// let h = t.run("n", async { panic!("boom") }).unwrap();
    /// assert_eq!(h.await.map(|_: ()| ()), Err(RunError::Panicked("boom".into())));
    /// # });
    /// ```
    pub fn run<F>(&self, name: &str, fut: F) -> Result<RunHandle<F::Output>, ThrottleError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let core = self.core(name)?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ThrottleError::NoRuntime)?;
        core.emit_request();
        let granted = match core.pass_or_shard() {
            Ok(p) => Ok(p),
            Err(shard) => {
                let (tx, rx) = oneshot::channel();
                shard.enqueue(&core, Waiter::Wait(tx))?;
                Err(rx)
            }
        };
        let join = runtime.spawn(async move {
            let permit = match granted {
                Ok(p) => p,
                Err(rx) => rx.await.unwrap_or(Err(ThrottleError::Stopped))?,
            };
            let out = fut.await;
            drop(permit);
            Ok(out)
        });
        Ok(RunHandle { join })
    }
}
