//! Throttles kept home on the master ([`super::home`]): the worker's part. The local
//! throttle holds share 0 (the share table says so), so every request queues; for each home
//! throttle an *asker* requests permits from the master (`amoc.C.thr.NAME`, request/reply)
//! and lets one queued request through per permit granted
//! ([`LeasedThrottles::grant_oldest`]).
//!
//! Guarantees:
//! * A node asks only while the table of its current master says the throttle is home and
//!   its lease holds (a node that lost its master stops asking and ignores late answers).
//! * It has at most as many requests out as it has requests queued (and at most
//!   [`MAX_OUT`]); each answer `granted` lets exactly one queued request through, none if
//!   none waits any more (the permit stays unused: the rate can only be under-shot).
//! * A request is held by the master up to the lease length, then answered `retry` and asked
//!   again, so a permit that comes after an hour still finds its waiter. A refusal, a
//!   `not_home` or a transport error makes the asker pause a quarter heartbeat before it
//!   asks again.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::home_messages::{permit_subject, PermitReply, PermitRequest};
use super::lease_messages::ShareTable;
use super::transport::{Transport, TransportError};
use super::ClusterConfig;
use crate::throttle::{LeasedThrottles, ThrottleConfig};

/// The most permit requests one node has out per throttle.
pub const MAX_OUT: u64 = 64;

/// The home throttles a node may ask for now, each with the master instance to ask.
pub type Askable = BTreeMap<String, String>;

/// The home throttles of `table` this node runs (`declared`) and may ask for: none unless
/// its lease holds.
pub fn askable(
    table: Option<&ShareTable>,
    lease_holds: bool,
    declared: &BTreeMap<String, ThrottleConfig>,
) -> Askable {
    let Some(table) = table.filter(|_| lease_holds) else {
        return Askable::new();
    };
    table
        .throttles
        .iter()
        .filter(|(name, e)| e.home && declared.contains_key(*name))
        .map(|(name, _)| (name.clone(), table.master.clone()))
        .collect()
}

/// What every asker of one node shares.
#[derive(Debug)]
struct Ctx {
    transport: Arc<dyn Transport>,
    cfg: ClusterConfig,
    name: String,
    instance: String,
    leased: LeasedThrottles,
}

/// Runs the askers of node `name` (instance `instance`) for the throttles `askable` names,
/// until `stop`.
pub(crate) fn spawn(
    transport: Arc<dyn Transport>,
    cfg: ClusterConfig,
    (name, instance): (&str, &str),
    leased: LeasedThrottles,
    askable: watch::Receiver<Askable>,
    stop: watch::Receiver<bool>,
) {
    let ctx = Arc::new(Ctx {
        transport,
        cfg,
        name: name.to_owned(),
        instance: instance.to_owned(),
        leased,
    });
    tokio::spawn(run(ctx, askable, stop));
}

async fn run(
    ctx: Arc<Ctx>,
    mut askable: watch::Receiver<Askable>,
    mut stop: watch::Receiver<bool>,
) {
    let mut askers: BTreeMap<String, JoinHandle<()>> = BTreeMap::new();
    loop {
        askers.retain(|_, h| !h.is_finished());
        let names: Vec<String> = askable.borrow_and_update().keys().cloned().collect();
        for n in names {
            askers.entry(n.clone()).or_insert_with(|| {
                let (ctx, rx, stop) = (ctx.clone(), askable.clone(), stop.clone());
                tokio::spawn(ask(ctx, n, rx, stop))
            });
        }
        tokio::select! {
            () = super::stopped(&mut stop) => break,
            changed = askable.changed() => if changed.is_err() { break },
        }
    }
    for (_, h) in askers {
        h.abort();
    }
}

type Answer = (String, Result<PermitReply, TransportError>);

/// One request for one permit of `throttle`, to master `master`.
fn request(
    ctx: &Ctx,
    throttle: &str,
    master: String,
) -> futures::future::BoxFuture<'static, Answer> {
    let hold = ctx.cfg.lease;
    let req = PermitRequest {
        throttle: throttle.to_owned(),
        node: ctx.name.clone(),
        instance: ctx.instance.clone(),
        master: master.clone(),
        hold_ms: hold.as_millis() as u64,
    };
    let subject = permit_subject(&ctx.cfg.cluster, throttle);
    let sent = serde_json::to_vec(&req).map(|bytes| {
        ctx.transport
            .request(subject, bytes, hold + ctx.cfg.request_timeout)
    });
    Box::pin(async move {
        let answer = match sent {
            Ok(fut) => fut.await.and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| TransportError::Failed(Box::new(e)))
            }),
            Err(e) => Err(TransportError::Failed(Box::new(e))),
        };
        (master, answer)
    })
}

/// The asker of one home throttle: ends when it is no longer askable (or no longer runs).
async fn ask(
    ctx: Arc<Ctx>,
    throttle: String,
    mut askable: watch::Receiver<Askable>,
    mut stop: watch::Receiver<bool>,
) {
    let mut out = FuturesUnordered::new();
    let mut pause: Option<Instant> = None;
    let pause_for = ctx.cfg.heartbeat / 4;
    loop {
        let Some(master) = askable.borrow_and_update().get(&throttle).cloned() else {
            return;
        };
        if pause.is_some_and(|t| t <= Instant::now()) {
            pause = None;
        }
        if pause.is_none() {
            let Ok(demand) = ctx.leased.demand(&throttle) else {
                return;
            };
            while (out.len() as u64) < demand.min(MAX_OUT) {
                out.push(request(&ctx, &throttle, master.clone()));
            }
        }
        tokio::select! {
            () = super::stopped(&mut stop) => return,
            changed = askable.changed() => if changed.is_err() { return },
            Some((from, answer)) = out.next() => match answer {
                Ok(PermitReply::Granted) => {
                    let ours = askable.borrow().get(&throttle) == Some(&from);
                    if ours {
                        let _ = ctx.leased.grant_oldest(&throttle);
                    }
                }
                Ok(PermitReply::Retry) => {}
                Ok(PermitReply::NotHome) | Ok(PermitReply::Refused { .. }) | Err(_) => {
                    pause = Some(Instant::now() + pause_for);
                }
            },
            arrived = ctx.leased.arrivals(&throttle), if pause.is_none() => {
                if arrived.is_err() {
                    return;
                }
            }
            () = sleep_until(pause) => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}

/// Updates `tx` when the askable throttles changed.
pub(crate) fn publish(tx: &watch::Sender<Askable>, now: Askable) {
    tx.send_if_modified(|a| {
        let changed = *a != now;
        *a = now;
        changed
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::lease_messages::TableEntry;

    fn table(home: bool) -> ShareTable {
        let entry = TableEntry {
            rate: 20,
            interval_ms: 1000,
            shares: BTreeMap::new(),
            home,
        };
        ShareTable {
            master: "m1".into(),
            renews: vec![],
            throttles: [("t".to_owned(), entry)].into_iter().collect(),
        }
    }

    #[test]
    fn a_node_asks_only_for_home_throttles_it_runs_while_its_lease_holds() {
        let declared: BTreeMap<String, ThrottleConfig> =
            [("t".to_owned(), ThrottleConfig::rate(20))]
                .into_iter()
                .collect();
        let home = table(true);
        let want: Askable = [("t".to_owned(), "m1".to_owned())].into_iter().collect();
        assert_eq!(askable(Some(&home), true, &declared), want);
        assert!(askable(Some(&home), false, &declared).is_empty());
        assert!(askable(Some(&table(false)), true, &declared).is_empty());
        assert!(askable(Some(&home), true, &BTreeMap::new()).is_empty());
        assert!(askable(None, true, &declared).is_empty());
    }
}
