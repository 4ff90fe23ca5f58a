//! Throttles kept home on the master ([`super::home`]): the master's part. The
//! [`super::ThrottleMaster`] asks it where each throttle belongs at every rebalance; this
//! agent runs the home throttles in a [`Throttles`] registry of its own at the cluster's
//! full rate, and answers the nodes' per-permit requests (`amoc.C.thr.NAME`).
//!
//! Guarantees:
//! * A home throttle is one throttle (SPEC 6.4 G1, G2 at `r` per `I + guard`): every permit
//!   the cluster gets is one of its grants, answered to one request; a permit is never
//!   answered twice, and one whose answer is lost is never granted again (the rate can only
//!   be under-shot).
//! * It grants only once every node acknowledged share 0, and stops granting (answering
//!   `not_home`) at the instant the placement leaves home, before nodes get shares back.
//! * Requests from a node that is not up, or addressed to another master instance, are
//!   refused; a request waits at most its `hold_ms` (at most [`MAX_HOLD`]), then is
//!   answered `retry`.
//!
//! Shutdown: [`HomeMaster::shutdown`] stops answering; waiting requests are dropped (their
//! nodes time out and stop asking when their leases lapse).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::home::{home_config, Placement, Switch};
use super::home_messages::{permits_subject, PermitReply, PermitRequest};
use super::leases::ClusterThrottle;
use super::master::{Master, NodeState};
use super::master_throttles::node_key;
use super::transport::{Incoming, Transport, TransportError};
use super::ClusterConfig;
use crate::telemetry::Telemetry;
use crate::throttle::{ThrottleConfig, Throttles};

/// The longest a request is held before `retry`.
pub const MAX_HOLD: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Place {
    placement: Placement,
    /// The configuration the home throttle runs with (while home).
    applied: Option<ThrottleConfig>,
}

#[derive(Debug)]
enum Effect {
    Start(String, ThrottleConfig),
    Change(String, ThrottleConfig),
    Stop(String),
    /// Answered once every effect before it was applied.
    Flush(oneshot::Sender<()>),
}

#[derive(Debug)]
struct Inner {
    transport: Arc<dyn Transport>,
    master: Master,
    registry: Throttles,
    places: Mutex<BTreeMap<String, Place>>,
    /// Home throttles running in `registry` (started, not stopped).
    running: Mutex<BTreeSet<String>>,
    effects: mpsc::UnboundedSender<Effect>,
    stop: watch::Sender<bool>,
}

/// The master's home throttles: cheap to clone.
#[derive(Debug, Clone)]
pub struct HomeMaster {
    inner: Arc<Inner>,
}

impl HomeMaster {
    /// Starts answering permit requests for the workers of `master`; runs on the current
    /// actix arbiter (the cluster arbiter), where its throttles live too (the home
    /// throttles are started, changed and stopped by a task on it).
    pub async fn start(
        transport: Arc<dyn Transport>,
        cfg: &ClusterConfig,
        master: Master,
    ) -> Result<HomeMaster, TransportError> {
        let requests = transport.subscribe(permits_subject(&cfg.cluster)).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            transport,
            master,
            registry: Throttles::new(Telemetry::new()),
            places: Mutex::new(BTreeMap::new()),
            running: Mutex::new(BTreeSet::new()),
            effects: tx,
            stop: watch::Sender::new(false),
        });
        let agent = HomeMaster { inner };
        tokio::spawn(agent.clone().serve(requests));
        actix_rt::spawn(agent.clone().effects(rx));
        Ok(agent)
    }

    /// Stops answering (see the module docs).
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
    }

    /// Whether throttle `name` is home and granting now.
    pub fn is_home(&self, name: &str) -> bool {
        let places = crate::sync::lock(&self.inner.places);
        places.get(name).is_some_and(|p| p.placement.granting())
    }

    /// Places throttle `name` (leased or home, see [`super::home`]), parks its shares while
    /// it is not leased, and rebalances them over the `up` nodes; true if the orders or the
    /// placement changed. The home throttle's start, change or stop is applied by the next
    /// [`HomeMaster::apply`].
    pub fn rebalance(
        &self,
        name: &str,
        shares: &mut ClusterThrottle,
        up: &BTreeSet<String>,
    ) -> bool {
        let (rate, interval) = (shares.rate(), shares.interval());
        let committed = shares.ledger().committed_total();
        let mut places = crate::sync::lock(&self.inner.places);
        let place = places.entry(name.to_owned()).or_default();
        let (next, switch) =
            place
                .placement
                .step(rate, interval, up.len(), committed, Instant::now());
        let moved = next != place.placement;
        place.placement = next;
        let effect = match switch {
            Some(Switch::Start) => {
                let config = home_config(rate, interval);
                place.applied = Some(config);
                Some(Effect::Start(name.to_owned(), config))
            }
            Some(Switch::Stop) => {
                place.applied = None;
                Some(Effect::Stop(name.to_owned()))
            }
            None if next.granting() && place.applied != Some(home_config(rate, interval)) => {
                let config = home_config(rate, interval);
                place.applied = Some(config);
                Some(Effect::Change(name.to_owned(), config))
            }
            None => None,
        };
        drop(places);
        if let Some(e) = effect {
            let _ = self.inner.effects.send(e);
        }
        shares.park(next.parked());
        shares.rebalance(up) | moved
    }

    /// Waits until the home throttles' starts, changes and stops decided so far were
    /// applied, in order.
    pub async fn apply(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.effects.send(Effect::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Applies the effects in order, on the actix arbiter the agent started on.
    async fn effects(self, mut rx: mpsc::UnboundedReceiver<Effect>) {
        let mut stop = self.inner.stop.subscribe();
        loop {
            let effect = tokio::select! {
                () = super::stopped(&mut stop) => return,
                e = rx.recv() => match e {
                    Some(e) => e,
                    None => return,
                },
            };
            let r = &self.inner.registry;
            let (name, done) = match &effect {
                Effect::Start(n, c) => (n, r.start(n, *c).await.map(drop)),
                Effect::Change(n, c) => (n, r.change_rate(n, *c).await),
                Effect::Stop(n) => (n, r.stop(n).await),
                Effect::Flush(_) => {
                    if let Effect::Flush(tx) = effect {
                        let _ = tx.send(());
                    }
                    continue;
                }
            };
            let mut running = crate::sync::lock(&self.inner.running);
            match (&effect, &done) {
                (Effect::Start(..), Ok(())) => {
                    running.insert(name.clone());
                }
                (Effect::Stop(_), _) => {
                    running.remove(name);
                }
                _ => {}
            }
            drop(running);
            if let Err(e) = done {
                tracing::warn!(throttle = %name, "cluster: home throttle: {e}");
            }
        }
    }

    fn up(&self) -> BTreeSet<String> {
        let status = self.inner.master.status();
        status
            .nodes
            .iter()
            .filter(|(_, n)| n.state == NodeState::Up)
            .map(|(name, n)| node_key(name, &n.instance))
            .collect()
    }

    async fn serve(self, mut requests: super::Inbox) {
        let mut stop = self.inner.stop.subscribe();
        loop {
            tokio::select! {
                () = super::stopped(&mut stop) => return,
                Some(m) = requests.next() => {
                    tokio::spawn(self.clone().answer(m));
                }
            }
        }
    }

    /// Why `r` is refused, if it is.
    fn refusal(&self, r: &PermitRequest) -> Option<PermitReply> {
        let reason = if r.master != self.inner.master.instance() {
            "another master instance"
        } else if !self.up().contains(&node_key(&r.node, &r.instance)) {
            "node not up"
        } else {
            return None;
        };
        Some(PermitReply::Refused {
            reason: reason.into(),
        })
    }

    fn granting(&self, name: &str) -> bool {
        let stopped = *self.inner.stop.borrow();
        !stopped && self.is_home(name) && crate::sync::lock(&self.inner.running).contains(name)
    }

    async fn answer(self, m: Incoming) {
        let Some(to) = m.reply.clone() else { return };
        let Ok(r) = serde_json::from_slice::<PermitRequest>(&m.payload) else {
            tracing::warn!("cluster: ignoring a malformed permit request");
            return;
        };
        let reply = match self.refusal(&r) {
            Some(refused) => refused,
            None if !self.granting(&r.throttle) => PermitReply::NotHome,
            None => {
                let hold = Duration::from_millis(r.hold_ms).min(MAX_HOLD);
                let mut stop = self.inner.stop.subscribe();
                tokio::select! {
                    () = super::stopped(&mut stop) => return,
                    got = tokio::time::timeout(hold, self.inner.registry.wait(&r.throttle)) => {
                        match got {
                            // Granted while home: this request's permit. After a switch
                            // (or from a node gone meanwhile) it stays unused.
                            Ok(Ok(_)) if self.granting(&r.throttle) => match self.refusal(&r) {
                                Some(refused) => refused,
                                None => PermitReply::Granted,
                            },
                            Ok(_) => PermitReply::NotHome,
                            Err(_) => PermitReply::Retry,
                        }
                    }
                }
            }
        };
        match serde_json::to_vec(&reply) {
            Ok(bytes) => {
                if let Err(e) = self.inner.transport.publish(to, bytes).await {
                    tracing::debug!("cluster: cannot answer a permit request: {e}");
                }
            }
            Err(e) => tracing::error!("cluster: cannot encode a permit reply: {e}"),
        }
    }
}
