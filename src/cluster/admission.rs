//! Admitting a worker: the pure rule the master applies to each `hello`.
//!
//! A worker is admitted when its build fingerprint equals the master's and its name is free:
//! never seen, or held by a node already marked down (a restarted worker rejoins as a late
//! joiner). A repeated `hello` of the member itself (same name and instance id) is admitted
//! again, so a lost reply costs nothing. Everything else is refused with a reason the worker
//! prints.

use serde::{Deserialize, Serialize};

/// What must match between nodes of one cluster: the crate version and the scenarios.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The `amoc` crate version.
    pub version: String,
    /// The registered scenarios, sorted.
    pub scenarios: Vec<String>,
}

impl Fingerprint {
    /// The fingerprint of this build with these scenarios.
    pub fn new(scenarios: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut scenarios: Vec<String> = scenarios.into_iter().map(Into::into).collect();
        scenarios.sort();
        scenarios.dedup();
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scenarios,
        }
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "amoc {} [{}]", self.version, self.scenarios.join(", "))
    }
}

/// What the master knows of a member when a `hello` arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView<'a> {
    /// Its instance id (new at each process start).
    pub instance: &'a str,
    /// Whether it is up (not marked down).
    pub up: bool,
}

/// How a worker was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A name never seen.
    New,
    /// A name whose node was marked down: a restarted or returning worker.
    Rejoin,
    /// The member itself again (a repeated `hello`).
    Repeat,
}

/// Why a worker was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// The name is not usable as a node name.
    #[error("invalid node name {name:?}: use letters, digits, '_', '-' or '@'")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// Another live node has the name.
    #[error("duplicate node name {name:?}: another live node has it")]
    DuplicateName {
        /// The name given.
        name: String,
    },
    /// The build differs from the master's.
    #[error("build fingerprint mismatch: the master runs {expected}, this node {got}")]
    FingerprintMismatch {
        /// The master's.
        expected: Fingerprint,
        /// The worker's.
        got: Fingerprint,
    },
    /// The cluster already has another live master.
    #[error("the cluster already has a live master ({instance})")]
    OtherMaster {
        /// That master's instance id.
        instance: String,
    },
}

/// Whether `name` is a well-formed node name (also a NATS subject token).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@_-".contains(&b))
}

/// Admits or refuses the `hello` of `name`/`instance` with fingerprint `got`.
pub fn admit(
    member: Option<MemberView<'_>>,
    name: &str,
    instance: &str,
    got: &Fingerprint,
    expected: &Fingerprint,
) -> Result<Admission, Refusal> {
    if !valid_name(name) {
        return Err(Refusal::InvalidName {
            name: name.to_owned(),
        });
    }
    if got != expected {
        return Err(Refusal::FingerprintMismatch {
            expected: expected.clone(),
            got: got.clone(),
        });
    }
    match member {
        None => Ok(Admission::New),
        Some(m) if !m.up => Ok(Admission::Rejoin),
        Some(m) if m.instance == instance => Ok(Admission::Repeat),
        Some(_) => Err(Refusal::DuplicateName {
            name: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(s: &[&str]) -> Fingerprint {
        Fingerprint::new(s.iter().copied())
    }

    #[test]
    fn matching_builds_with_free_names_are_admitted() {
        let f = fp(&["http", "idle"]);
        assert_eq!(admit(None, "w1", "i1", &f, &f), Ok(Admission::New));
        let down = MemberView {
            instance: "i0",
            up: false,
        };
        assert_eq!(admit(Some(down), "w1", "i1", &f, &f), Ok(Admission::Rejoin));
        let same = MemberView {
            instance: "i1",
            up: true,
        };
        assert_eq!(admit(Some(same), "w1", "i1", &f, &f), Ok(Admission::Repeat));
    }

    #[test]
    fn duplicates_mismatches_and_bad_names_are_refused_with_a_reason() {
        let f = fp(&["http"]);
        let live = MemberView {
            instance: "i0",
            up: true,
        };
        let dup = admit(Some(live), "w1", "i1", &f, &f).unwrap_err();
        assert_eq!(
            dup.to_string(),
            "duplicate node name \"w1\": another live node has it"
        );
        let other = fp(&["http", "extra"]);
        let e = admit(None, "w1", "i1", &other, &f).unwrap_err();
        assert!(matches!(e, Refusal::FingerprintMismatch { .. }));
        assert!(e.to_string().contains("[extra, http]"), "{e}");
        assert!(matches!(
            admit(None, "w.1", "i1", &f, &f),
            Err(Refusal::InvalidName { .. })
        ));
        assert!(matches!(
            admit(None, "", "i1", &f, &f),
            Err(Refusal::InvalidName { .. })
        ));
    }

    #[test]
    fn the_order_of_scenarios_does_not_matter() {
        assert_eq!(fp(&["b", "a"]), fp(&["a", "b", "a"]));
    }
}
