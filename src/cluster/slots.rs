//! Cluster-wide concurrency throttles: the master's rules for slot quotas (pure).
//!
//! A throttle started with a concurrency limit N (interval 0) is leased like a rate
//! ([`super::leases::ClusterThrottle`], one [`ShareLedger`]): each node's share is its **slot
//! quota**, the most permits it may have out at once, and Σ committed quotas ≤ N. What differs
//! from a rate:
//!
//! * **Acknowledgement.** A permit out cannot be taken back, so a lowered quota is
//!   acknowledged only once the node's permits out (`in_flight`, counted after the node
//!   applied the lower quota) are at most the new quota: from then on the node never has more
//!   out than that. Not after one interval, as for a rate. The node sends the ack
//!   ([`super::worker_throttles`]); the master also checks it against the report's
//!   `in_flight` ([`on_report`]), so an ack sent too early frees nothing.
//! * **Demand.** A node needs its permits out plus its waiting requests (plus one when none
//!   wait, so that a node at its quota is not lowered by a permit just between two users);
//!   the slots left once every need is met are spread evenly.
//! * **Loss.** A lost node's quota is reused after its last renewal + lease + one heartbeat
//!   (the interval is 0). A node that was killed holds nothing. A node that is alive but cut
//!   off stops taking new slots when its lease lapses, but **the permits it already had out
//!   stay out** (nothing can revoke them): if they outlive the lease and the margin, the
//!   cluster may briefly have up to that node's quota more than N in use.
//!
//! Since Σ in use ≤ Σ quotas applied ≤ Σ committed ≤ N, no new permit is ever granted beyond N
//! cluster-wide. After the master lowers N, permits already out may exceed the new N until
//! they come back; no new one is granted meanwhile.

use super::lease_messages::ThrottleReport;
use super::shares::ShareLedger;

/// The slots a node needs: permits out plus waiting requests, plus one when none wait.
pub fn need(r: &ThrottleReport) -> u64 {
    r.in_flight
        .saturating_add(r.waiting)
        .saturating_add(u64::from(r.waiting == 0))
}

/// Whether a node with `in_flight` permits out fits quota `quota` (so a lowered quota may be
/// acknowledged).
pub fn fits(in_flight: u64, quota: u64) -> bool {
    in_flight <= quota
}

/// A report of `node` on a concurrency throttle: applies its acknowledgement when its permits
/// out fit the order it acknowledges; returns its need.
pub fn on_report(ledger: &mut ShareLedger, node: &str, r: &ThrottleReport) -> u64 {
    if let Some(epoch) = r.acked {
        let order = ledger.order(node);
        if order.is_some_and(|o| o.epoch == epoch && fits(r.in_flight, o.share)) {
            ledger.ack(node, epoch);
        }
    }
    need(r)
}

#[cfg(test)]
#[path = "slots_tests.rs"]
mod tests;
