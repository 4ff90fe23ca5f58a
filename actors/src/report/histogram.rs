//! Histograms in a report: HdrHistogram's V2 compressed format (zlib-wrapped DEFLATE, the
//! Java implementation's "V2 + DEFLATE"), in standard base64, so that any HdrHistogram
//! library can read them and runs or nodes can be merged. The codec is the one cluster nodes
//! send their statistics with ([`amoc::cluster::stats`]).

pub use amoc::cluster::stats::{
    decode_histogram as decode, encode_histogram as encode, HistogramError,
};

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
