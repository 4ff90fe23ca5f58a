//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Context, Handler};
use amoc::telemetry::{Event, EventBatch};
use tokio::sync::mpsc;

pub use timeout::TIMEOUT;

/// A handler actor forwarding every batch (with its config) to a channel; it panics on an
/// event named `[.., panic]`.
pub struct Forward(pub mpsc::UnboundedSender<Forwarded>);

impl Actor for Forward {
    type Context = Context<Self>;
}

impl Handler<EventBatch> for Forward {
    type Result = ();
    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        for e in batch.events {
            if e.name.segments().last() == Some(&"panic") {
                panic!("handler asked to panic");
            }
            let _ = self.0.send((e, batch.config.clone()));
        }
    }
}

pub mod app;
pub mod poll;
pub mod scenarios;
pub mod timeout;

/// What a [`Forward`] handler passes on: the event and the handler's config.
pub type Forwarded = (Arc<Event>, Arc<amoc::Value>);

pub fn forward() -> (
    mpsc::UnboundedSender<Forwarded>,
    mpsc::UnboundedReceiver<Forwarded>,
) {
    mpsc::unbounded_channel()
}

pub async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> Option<T> {
    tokio::time::timeout(TIMEOUT, rx.recv())
        .await
        .ok()
        .flatten()
}

pub async fn recv_none<T: std::fmt::Debug>(rx: &mut mpsc::UnboundedReceiver<T>, within: Duration) {
    if let Ok(Some(v)) = tokio::time::timeout(within, rx.recv()).await {
        panic!("expected nothing, got {v:?}");
    }
}
