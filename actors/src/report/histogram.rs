//! Histograms in a report: HdrHistogram's V2 compressed format (zlib-wrapped DEFLATE, the
//! Java implementation's "V2 + DEFLATE"), in standard base64, so that any HdrHistogram
//! library can read them and runs or nodes can be merged.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Why a report's histogram does not decode.
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
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => STANDARD.encode(bytes),
        // Writing into a Vec cannot fail, and a histogram of u64 always serializes.
        Err(e) => unreachable!("histogram serialization: {e}"),
    }
}

/// A histogram from V2 (compressed or not) base64.
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = STANDARD.decode(text).map_err(HistogramError::Base64)?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(HistogramError::Format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_merges() {
        let mut a = amoc::metrics::new_histogram();
        let mut b = amoc::metrics::new_histogram();
        for v in 1..=1000 {
            a.record(v).unwrap();
            b.record(v * 1000).unwrap();
        }
        let da = decode(&encode(&a)).unwrap();
        assert_eq!(da, a);
        let mut merged = da;
        merged.add(decode(&encode(&b)).unwrap()).unwrap();
        assert_eq!(merged.len(), 2000);
        assert!(matches!(
            decode("not base64!"),
            Err(HistogramError::Base64(_))
        ));
        assert!(matches!(decode("AAAA"), Err(HistogramError::Format(_))));
    }
}
