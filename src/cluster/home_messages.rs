//! The per-permit messages of throttles kept home on the master ([`super::home`]), as serde
//! JSON (cluster C):
//!
//! | subject | who → whom | content |
//! | --- | --- | --- |
//! | `amoc.C.thr.NAME` | worker → master (request) | [`PermitRequest`]: one permit of throttle NAME; the master holds it up to `hold_ms` and answers [`PermitReply`] |
//!
//! NAME is the throttle's name when it is a plain NATS token (letters, digits, `_`, `-`),
//! else `x` and its bytes in hex; the payload names the throttle in full.

use serde::{Deserialize, Serialize};

/// The subject node requests for permits of throttle `throttle` of cluster `cluster` go to.
pub fn permit_subject(cluster: &str, throttle: &str) -> String {
    let plain = !throttle.is_empty()
        && throttle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!("amoc.{cluster}.thr.{throttle}")
    } else {
        let hex: String = throttle.bytes().map(|b| format!("{b:02x}")).collect();
        format!("amoc.{cluster}.thr.x{hex}")
    }
}

/// Every permit request of cluster `cluster` (the master's subscription).
pub fn permits_subject(cluster: &str) -> String {
    format!("amoc.{cluster}.thr.*")
}

/// A node asks its master for one permit of a home throttle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermitRequest {
    /// The throttle.
    pub throttle: String,
    /// The node's name.
    pub node: String,
    /// Its instance id.
    pub instance: String,
    /// The master instance it asks (another one refuses).
    pub master: String,
    /// How long the master may hold the request before answering `retry` (the node waits
    /// a little longer for the answer).
    pub hold_ms: u64,
}

/// The master's answer to a [`PermitRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum PermitReply {
    /// One permit, for this request only: the node lets one waiting request through.
    Granted,
    /// No permit within `hold_ms`: ask again.
    Retry,
    /// The throttle is not home (any more, or not yet): follow the share table.
    NotHome,
    /// Refused: the node is not up, or it asked another master instance.
    Refused {
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_their_own_token_others_are_hex() {
        assert_eq!(permit_subject("c", "user_rate"), "amoc.c.thr.user_rate");
        assert_eq!(permit_subject("c", "a.b"), "amoc.c.thr.x612e62");
        assert_eq!(permit_subject("c", ""), "amoc.c.thr.x");
    }

    #[test]
    fn replies_are_tagged_json() {
        let r = serde_json::to_value(PermitReply::Granted).unwrap();
        assert_eq!(r, serde_json::json!({"reply": "granted"}));
        let back: PermitReply =
            serde_json::from_value(serde_json::json!({"reply": "refused", "reason": "x"})).unwrap();
        assert_eq!(back, PermitReply::Refused { reason: "x".into() });
    }
}
