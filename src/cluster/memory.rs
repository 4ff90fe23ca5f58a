//! An in-memory [`Transport`] for tests: every node's endpoint shares one [`Hub`], which can
//! delay messages, lose one in n, isolate a node (its messages are dropped both ways
//! but its subscriptions stay, like a frozen process: requests to it time out) or disconnect
//! it (its subscriptions vanish, like a killed process: requests get no-responders).
//! Delays run on tokio time, so paused-clock tests stay exact.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use super::transport::{Inbox, Incoming, Transport, TransportError};

#[derive(Debug)]
struct Sub {
    pattern: Vec<String>,
    owner: String,
    tx: mpsc::UnboundedSender<Incoming>,
}

#[derive(Debug, Default)]
struct HubState {
    subs: Vec<Sub>,
    isolated: HashSet<String>,
    delay: Duration,
    loss_one_in: u64,
    rng: u64,
    inboxes: u64,
}

impl HubState {
    /// xorshift64*: a fixed sequence, enough to pick lost messages.
    fn next_random(&mut self) -> u64 {
        let mut x = if self.rng == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            self.rng
        };
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The shared message switch of an in-memory cluster.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    state: Arc<Mutex<HubState>>,
}

/// Whether `subject` matches `pattern` (`*` one token, `>` one or more).
fn matches(pattern: &[String], subject: &str) -> bool {
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, p) in pattern.iter().enumerate() {
        match p.as_str() {
            ">" => return tokens.len() > i,
            "*" if i < tokens.len() => {}
            p if tokens.get(i) == Some(&p) => {}
            _ => return false,
        }
    }
    pattern.len() == tokens.len()
}

impl Hub {
    /// A hub with no delay, no loss, nobody isolated.
    pub fn new() -> Self {
        Self::default()
    }

    /// The endpoint of `node`.
    pub fn endpoint(&self, node: &str) -> MemoryTransport {
        MemoryTransport {
            hub: self.clone(),
            node: node.to_owned(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HubState> {
        crate::sync::lock(&self.state)
    }

    /// Delays every message by `delay` from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.state().delay = delay;
    }

    /// Drops one message in `n` on average from now on (0: none), picked by a seeded
    /// pseudo-random sequence: the same losses on every run, never in step with a period.
    pub fn set_loss_one_in(&self, n: u64) {
        self.state().loss_one_in = n;
    }

    /// Cuts `node` off (true) or reconnects it (false); its subscriptions stay.
    pub fn isolate(&self, node: &str, cut: bool) {
        let mut s = self.state();
        if cut {
            s.isolated.insert(node.to_owned());
        } else {
            s.isolated.remove(node);
        }
    }

    /// Removes every subscription of `node` and drops whatever it sends, as if its process
    /// died.
    pub fn disconnect(&self, node: &str) {
        let mut s = self.state();
        s.subs.retain(|s| s.owner != node);
        s.isolated.insert(node.to_owned());
    }

    /// Sends to every matching subscriber; returns how many subscriptions matched.
    fn deliver(&self, from: &str, subject: &str, payload: Vec<u8>, reply: Option<String>) -> usize {
        let mut s = self.state();
        s.subs.retain(|sub| !sub.tx.is_closed());
        let targets: Vec<(String, mpsc::UnboundedSender<Incoming>)> = s
            .subs
            .iter()
            .filter(|sub| matches(&sub.pattern, subject))
            .map(|sub| (sub.owner.clone(), sub.tx.clone()))
            .collect();
        let delay = s.delay;
        for (owner, tx) in &targets {
            let lost = s.loss_one_in > 0 && s.next_random() % s.loss_one_in == 0;
            if lost || s.isolated.contains(from) || s.isolated.contains(owner) {
                continue;
            }
            let msg = Incoming {
                subject: subject.to_owned(),
                payload: payload.clone(),
                reply: reply.clone(),
            };
            if delay.is_zero() {
                let _ = tx.send(msg);
            } else {
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(msg);
                });
            }
        }
        targets.len()
    }

    fn subscribe(&self, owner: &str, subject: &str) -> Inbox {
        let (tx, rx) = mpsc::unbounded_channel();
        self.state().subs.push(Sub {
            pattern: subject.split('.').map(str::to_owned).collect(),
            owner: owner.to_owned(),
            tx,
        });
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) })
            .boxed()
    }
}

/// One node's endpoint on a [`Hub`].
#[derive(Debug, Clone)]
pub struct MemoryTransport {
    hub: Hub,
    node: String,
}

impl Transport for MemoryTransport {
    fn request(
        &self,
        subject: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<u8>, TransportError>> {
        let hub = self.hub.clone();
        let node = self.node.clone();
        async move {
            let inbox = {
                let mut s = hub.state();
                s.inboxes += 1;
                format!("_INBOX.{}", s.inboxes)
            };
            let mut answers = hub.subscribe(&node, &inbox);
            if hub.deliver(&node, &subject, payload, Some(inbox)) == 0 {
                return Err(TransportError::NoResponders);
            }
            match tokio::time::timeout(timeout, answers.next()).await {
                Ok(Some(m)) => Ok(m.payload),
                Ok(None) | Err(_) => Err(TransportError::TimedOut),
            }
        }
        .boxed()
    }

    fn publish(
        &self,
        subject: String,
        payload: Vec<u8>,
    ) -> BoxFuture<'static, Result<(), TransportError>> {
        self.hub.deliver(&self.node, &subject, payload, None);
        futures::future::ready(Ok(())).boxed()
    }

    fn subscribe(&self, subject: String) -> BoxFuture<'static, Result<Inbox, TransportError>> {
        futures::future::ready(Ok(self.hub.subscribe(&self.node, &subject))).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn wildcards_match_as_in_nats() {
        assert!(matches(&p("a.*.c"), "a.b.c"));
        assert!(!matches(&p("a.*.c"), "a.b.d"));
        assert!(!matches(&p("a.*"), "a.b.c"));
        assert!(matches(&p("a.>"), "a.b.c"));
        assert!(!matches(&p("a.>"), "a"));
        assert!(matches(&p("a.b"), "a.b"));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_get_answers_no_responders_or_time_out() {
        let hub = Hub::new();
        let (a, b) = (hub.endpoint("a"), hub.endpoint("b"));
        let t = Duration::from_secs(1);
        let e = a.request("x".into(), vec![], t).await.unwrap_err();
        assert!(matches!(e, TransportError::NoResponders));
        let mut inbox = b.subscribe("x".into()).await.unwrap();
        let b2 = b.clone();
        tokio::spawn(async move {
            while let Some(m) = inbox.next().await {
                if let Some(r) = m.reply {
                    let _ = b2.publish(r, b"pong".to_vec()).await;
                }
            }
        });
        assert_eq!(a.request("x".into(), vec![], t).await.unwrap(), b"pong");
        hub.isolate("b", true);
        let e = a.request("x".into(), vec![], t).await.unwrap_err();
        assert!(matches!(e, TransportError::TimedOut));
        hub.isolate("b", false);
        hub.set_delay(Duration::from_millis(300));
        assert_eq!(a.request("x".into(), vec![], t).await.unwrap(), b"pong");
        hub.disconnect("b");
        let e = a.request("x".into(), vec![], t).await.unwrap_err();
        assert!(matches!(e, TransportError::NoResponders));
    }
}
