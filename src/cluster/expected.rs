//! The workers a master expects (`AMOC_NODES`): each one not admitted within the connect
//! timeout (default 30 s) is reported `failed_to_connect`, once. Pure: time comes in as
//! instants.
//!
//! `AMOC_NODES` is parsed as every `AMOC_*` value is (SPEC 8.3): a JSON list of node names
//! (`'["w1","w2"]'`) or one bare name (`w1`). Names are checked as node names (letters,
//! digits, `@._-`), so a typo fails at start rather than waiting 30 s for a node that cannot
//! exist. A node that joins late, after being reported, is simply admitted.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::admission::valid_name;
use crate::config::{parse_value, ValueParseError};
use crate::Value;

/// Why `AMOC_NODES` was refused.
#[derive(Debug, thiserror::Error)]
pub enum NodesError {
    /// Neither JSON nor a bare name.
    #[error("AMOC_NODES does not parse")]
    Parse(#[source] ValueParseError),
    /// JSON, but not a list of names.
    #[error("AMOC_NODES must be a list of node names, like [\"w1\",\"w2\"]")]
    NotNames,
    /// A name with characters a node name cannot have.
    #[error("AMOC_NODES: {0:?} is not a valid node name (letters, digits and @._- only)")]
    BadName(String),
}

/// Parses `AMOC_NODES` (unset or empty: no node expected). Sorted, without duplicates.
pub fn parse_nodes(raw: Option<&str>) -> Result<Vec<String>, NodesError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = match parse_value(raw).map_err(NodesError::Parse)? {
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(NodesError::NotNames),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(NodesError::NotNames),
    };
    if let Some(bad) = names.iter().find(|n| !valid_name(n)) {
        return Err(NodesError::BadName(bad.clone()));
    }
    let mut names = names;
    names.sort();
    names.dedup();
    Ok(names)
}

/// Where an expected node that was never admitted stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    /// Still within the connect timeout.
    Connecting,
    /// Not admitted within the connect timeout (reported once).
    FailedToConnect,
}

/// The expected nodes and their deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    nodes: BTreeMap<String, Awaited>,
    deadline: Instant,
}

impl Expected {
    /// `names` expected from `now` on, for `timeout`.
    pub fn new(names: impl IntoIterator<Item = String>, now: Instant, timeout: Duration) -> Self {
        Self {
            nodes: names
                .into_iter()
                .map(|n| (n, Awaited::Connecting))
                .collect(),
            deadline: now + timeout,
        }
    }

    /// At `now`, the expected nodes not admitted (`admitted` says which are) that just became
    /// `failed_to_connect`; each is returned once.
    pub fn overdue(&mut self, now: Instant, admitted: impl Fn(&str) -> bool) -> Vec<String> {
        if now < self.deadline {
            return Vec::new();
        }
        self.nodes
            .iter_mut()
            .filter(|(n, a)| **a == Awaited::Connecting && !admitted(n))
            .map(|(n, a)| {
                *a = Awaited::FailedToConnect;
                n.clone()
            })
            .collect()
    }

    /// The expected nodes not admitted, with where they stand.
    pub fn awaited<'a>(
        &'a self,
        admitted: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = (&'a str, Awaited)> + 'a {
        self.nodes
            .iter()
            .filter(move |(n, _)| !admitted(n))
            .map(|(n, a)| (n.as_str(), *a))
    }
}

impl Default for Expected {
    fn default() -> Self {
        Self::new([], Instant::now(), Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amoc_nodes_parses_as_settings_do() {
        assert_eq!(parse_nodes(None).unwrap(), Vec::<String>::new());
        assert_eq!(parse_nodes(Some("  ")).unwrap(), Vec::<String>::new());
        assert_eq!(parse_nodes(Some("w1")).unwrap(), ["w1"]);
        assert_eq!(
            parse_nodes(Some(r#"["w2","w1","w2"]"#)).unwrap(),
            ["w1", "w2"]
        );
        assert_eq!(parse_nodes(Some("[]")).unwrap(), Vec::<String>::new());
        assert!(matches!(
            parse_nodes(Some("[1,")),
            Err(NodesError::Parse(_))
        ));
        assert!(matches!(
            parse_nodes(Some("[1]")),
            Err(NodesError::NotNames)
        ));
        assert!(matches!(parse_nodes(Some("3")), Err(NodesError::NotNames)));
        assert!(matches!(
            parse_nodes(Some(r#"["a.b"]"#)),
            Err(NodesError::BadName(n)) if n == "a.b"
        ));
    }

    #[test]
    fn a_node_unseen_at_the_deadline_fails_to_connect_once() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut e = Expected::new(["w1".into(), "w2".into()], t0, 30 * s);
        let admitted = |n: &str| n == "w1";
        assert!(e.overdue(t0 + 29 * s, admitted).is_empty());
        let awaited: Vec<_> = e.awaited(admitted).collect();
        assert_eq!(awaited, [("w2", Awaited::Connecting)]);
        assert_eq!(e.overdue(t0 + 30 * s, admitted), ["w2"]);
        assert!(e.overdue(t0 + 31 * s, admitted).is_empty(), "reported once");
        let awaited: Vec<_> = e.awaited(admitted).collect();
        assert_eq!(awaited, [("w2", Awaited::FailedToConnect)]);
        // Joining late: no longer awaited.
        assert_eq!(e.awaited(|_| true).count(), 0);
    }
}
