//! A node's run statistics on the wire: what a worker answers the master's `stats` request
//! with, so that the master's summary and reports cover the whole cluster.
//!
//! Lossless: counts are sent as they are and each latency histogram in HdrHistogram's V2
//! compressed format (base64), so the master's merge of the nodes' [`Snapshot`]s is what one
//! node recording every request would have measured. Statistics are cumulative over the run:
//! a lost or late answer costs freshness, never a count, and they never travel on the
//! request path (the master asks for them every few seconds and at the end of a run).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::metrics::{ErrorCounts, RequestStats, Snapshot, StatusClasses};

/// Why a histogram (or a node's statistics) does not decode.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// Not base64.
    #[error("histogram is not base64")]
    Base64(#[source] base64::DecodeError),
    /// Not an HdrHistogram V2 (compressed) histogram.
    #[error("not an HdrHistogram V2 histogram")]
    Format(#[source] hdrhistogram::serialization::DeserializeError),
}

/// `h` as V2 compressed base64.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => STANDARD.encode(bytes),
        // Writing into a Vec cannot fail, and a histogram of u64 always serializes.
        Err(e) => unreachable!("histogram serialization: {e}"),
    }
}

/// A histogram from V2 (compressed or not) base64.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = STANDARD.decode(text).map_err(HistogramError::Base64)?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(HistogramError::Format)
}

/// The statistics of one request name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedStats {
    /// The request name.
    pub name: String,
    /// Requests completed.
    pub count: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, no response.
    pub classes: [u64; 6],
    /// Errors per class, in `ErrorClass::ALL` order.
    pub errors: [u64; 6],
    /// Service time of every request, µs (V2 base64).
    pub latency: String,
    /// Service time of the errors, µs (V2 base64).
    pub failed: String,
    /// Corrected latency, µs (V2 base64).
    pub corrected: String,
}

/// A node's statistics of the current run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStats {
    /// Per request name.
    pub names: Vec<NamedStats>,
    /// The scenario's counters.
    pub counters: Vec<(String, u64)>,
}

impl NodeStats {
    /// The wire form of `snapshot`.
    pub fn of(snapshot: &Snapshot) -> Self {
        let names = snapshot
            .by_name()
            .map(|(name, s)| {
                let c = &s.classes;
                NamedStats {
                    name: name.to_owned(),
                    count: s.count,
                    classes: [
                        c.informational,
                        c.success,
                        c.redirection,
                        c.client_error,
                        c.server_error,
                        c.failed,
                    ],
                    errors: array6(s.errors_by_class.iter().map(|(_, n)| n)),
                    latency: encode_histogram(s.latency_histogram()),
                    failed: encode_histogram(s.failed_histogram()),
                    corrected: encode_histogram(s.corrected_histogram()),
                }
            })
            .collect();
        let counters = snapshot
            .counters()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Self { names, counters }
    }

    /// Back to a [`Snapshot`] (taken now).
    pub fn to_snapshot(&self) -> Result<Snapshot, HistogramError> {
        let mut names = Vec::with_capacity(self.names.len());
        for n in &self.names {
            let [informational, success, redirection, client_error, server_error, failed] =
                n.classes;
            let classes = StatusClasses {
                informational,
                success,
                redirection,
                client_error,
                server_error,
                failed,
            };
            let histograms = [
                decode_histogram(&n.latency)?,
                decode_histogram(&n.failed)?,
                decode_histogram(&n.corrected)?,
            ];
            let errors = ErrorCounts::from_counts(n.errors);
            let stats = RequestStats::from_parts(n.count, classes, errors, histograms);
            names.push((n.name.clone(), stats));
        }
        Ok(Snapshot::from_parts(names, self.counters.clone()))
    }
}

fn array6(values: impl Iterator<Item = u64>) -> [u64; 6] {
    let mut out = [0; 6];
    for (slot, v) in out.iter_mut().zip(values) {
        *slot = v;
    }
    out
}

/// The sum of several nodes' statistics. A node whose statistics do not decode is skipped
/// and named in the error list (never silently).
pub fn merge<'a>(
    nodes: impl IntoIterator<Item = (&'a str, &'a NodeStats)>,
) -> (Snapshot, Vec<(String, HistogramError)>) {
    let mut total = Snapshot::from_parts(Vec::new(), Vec::new());
    let mut errors = Vec::new();
    for (node, stats) in nodes {
        match stats.to_snapshot() {
            Ok(s) => total.merge(&s),
            Err(e) => errors.push((node.to_owned(), e)),
        }
    }
    (total, errors)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::{ErrorClass, Outcome, RunStats, Sample};

    fn stats(seed: u64) -> Snapshot {
        let run = RunStats::new();
        for i in 1..=100 {
            let us = Duration::from_micros(i * seed);
            run.record("get", Outcome::Status(200), us);
            let failed = Sample::new(Outcome::Failed, us).failure(ErrorClass::ALL[1]);
            run.record_sample("post", &failed);
        }
        run.count("pauses", seed);
        run.snapshot()
    }

    #[test]
    fn a_snapshot_survives_the_wire_and_merges_as_one_node_would() {
        let (a, b) = (stats(3), stats(7));
        let wire = serde_json::to_string(&NodeStats::of(&a)).unwrap();
        let back: NodeStats = serde_json::from_str(&wire).unwrap();
        let back = back.to_snapshot().unwrap();
        assert_eq!(back.total(), a.total());
        assert_eq!(back.get("post"), a.get("post"));
        assert_eq!(back.counter("pauses"), 3);

        let (na, nb) = (NodeStats::of(&a), NodeStats::of(&b));
        let (merged, errors) = merge([("w1", &na), ("w2", &nb)]);
        assert!(errors.is_empty());
        let mut expected = a.clone();
        expected.merge(&b);
        assert_eq!(merged.total(), expected.total());
        assert_eq!(merged.total().count, 400);
        assert_eq!(merged.get("get").unwrap().count, 200);
        assert_eq!(merged.counter("pauses"), 10);
        assert_eq!(
            merged
                .get("post")
                .unwrap()
                .errors_by_class
                .get(ErrorClass::ALL[1]),
            200
        );
    }

    #[test]
    fn a_node_whose_histograms_do_not_decode_is_named() {
        let mut bad = NodeStats::of(&stats(1));
        bad.names[0].latency = "not base64!".into();
        let good = NodeStats::of(&stats(2));
        let (merged, errors) = merge([("w1", &bad), ("w2", &good)]);
        assert_eq!(merged.total().count, 200);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "w1");
        assert!(matches!(errors[0].1, HistogramError::Base64(_)));
    }
}
