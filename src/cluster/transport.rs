//! The narrow boundary between cluster logic and the messaging engine: request with a
//! timeout, publish, subscribe. NATS implements it in `amoc-actors`; [`super::memory`] is an
//! in-memory one with injected delay, loss and partitions for tests.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

/// A message received on a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The subject it was sent to.
    pub subject: String,
    /// Its bytes.
    pub payload: Vec<u8>,
    /// Where to publish the answer, for a request.
    pub reply: Option<String>,
}

/// Messages arriving on a subscription, in order; ends when the transport closes.
pub type Inbox = BoxStream<'static, Incoming>;

/// Why a transport call failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Nobody subscribes to the subject (NATS's no-responders): the node is gone.
    #[error("no responders")]
    NoResponders,
    /// No answer within the timeout.
    #[error("timed out")]
    TimedOut,
    /// The engine failed (connection closed, invalid subject...).
    #[error("messaging failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The messaging engine, as the cluster uses it. Implementations are cheap to share.
pub trait Transport: Send + Sync + std::fmt::Debug + 'static {
    /// Sends `payload` to whoever subscribes `subject` and awaits the first answer.
    fn request(
        &self,
        subject: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<u8>, TransportError>>;

    /// Sends `payload` to every subscriber of `subject`, expecting no answer.
    fn publish(
        &self,
        subject: String,
        payload: Vec<u8>,
    ) -> BoxFuture<'static, Result<(), TransportError>>;

    /// Subscribes `subject` (`*` matches one token, `>` the rest).
    fn subscribe(&self, subject: String) -> BoxFuture<'static, Result<Inbox, TransportError>>;
}
