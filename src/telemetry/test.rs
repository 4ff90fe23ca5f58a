//! Test support: a [`Recorder`] collects the events of chosen names into a channel, so tests
//! (yours and ours) can assert on them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Context, Handler};
use tokio::sync::mpsc;

use super::{AttachOptions, Event, EventBatch, EventPattern, Telemetry, TelemetryError};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Records events into a channel. Dropping it detaches it.
///
/// ```
/// # use amoc::telemetry::{Telemetry, EventPattern, test::Recorder};
/// static PING: amoc::telemetry::EventName = amoc::event_name!(test, ping);
/// # actix_rt::System::new().block_on(async {
/// let telemetry = Telemetry::new();
/// telemetry.start();
/// let mut rec = Recorder::attach(&telemetry, [EventPattern::from(&PING)]).await.unwrap();
/// telemetry.execute(&PING, Default::default(), Default::default());
/// let events = rec.take(1, std::time::Duration::from_secs(5)).await;
/// assert_eq!(events.len(), 1);
/// # });
/// ```
#[derive(Debug)]
pub struct Recorder {
    id: String,
    telemetry: Telemetry,
    rx: mpsc::UnboundedReceiver<Arc<Event>>,
}

impl Recorder {
    /// Attaches a new recorder, under a fresh unique id, to `patterns`. Must run inside an
    /// actix arbiter.
    pub async fn attach(
        telemetry: &Telemetry,
        patterns: impl IntoIterator<Item = EventPattern>,
    ) -> Result<Self, TelemetryError> {
        let id = format!(
            "amoc-test-recorder-{}",
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let addr = RecorderActor { tx }.start();
        telemetry
            .attach_many(
                id.clone(),
                patterns,
                addr.recipient(),
                AttachOptions::default(),
            )
            .await?;
        Ok(Self {
            id,
            telemetry: telemetry.clone(),
            rx,
        })
    }

    /// The handler id this recorder is attached under.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next event, or `None` if none arrives within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Arc<Event>> {
        tokio::time::timeout(timeout, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Up to `n` events, waiting at most `timeout` in total; fewer means they did not come.
    pub async fn take(&mut self, n: usize, timeout: Duration) -> Vec<Arc<Event>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => out.push(e),
                _ => break,
            }
        }
        out
    }

    /// Every event received so far, without waiting.
    pub fn drain(&mut self) -> Vec<Arc<Event>> {
        let mut out = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            out.push(e);
        }
        out
    }

    /// Panics if any event arrives within `within`.
    pub async fn assert_no_event(&mut self, within: Duration) {
        if let Some(e) = self.next(within).await {
            panic!("expected no event, got {e:?}");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.telemetry.detach_now(&self.id);
    }
}

struct RecorderActor {
    tx: mpsc::UnboundedSender<Arc<Event>>,
}

impl Actor for RecorderActor {
    type Context = Context<Self>;
}

impl Handler<EventBatch> for RecorderActor {
    type Result = ();

    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        for e in batch.events {
            let _ = self.tx.send(e);
        }
    }
}
