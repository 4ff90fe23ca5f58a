//! Checking G1 from a log of grant times: the test suites, the benchmarks and users who log
//! their own grants (the `throttle_probe` scenario) all need the same count, so it lives here
//! once.

/// The largest number of `times` (any unit, e.g. nanoseconds on one monotonic clock) in any
/// half-open window `[t, t + window)`. `times` must be sorted ascending; G1 holds for a rate
/// `r` per interval `window` when the result is at most `r`.
///
/// ```
/// use amoc::throttle::max_in_window;
/// assert_eq!(max_in_window(&[0, 5, 9, 10, 19], 10), 3); // 0, 5, 9 (10 is outside [0, 10))
/// assert_eq!(max_in_window(&[], 10), 0);
/// ```
pub fn max_in_window(times: &[u64], window: u64) -> u64 {
    debug_assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "grant times must be sorted"
    );
    let (mut lo, mut best) = (0, 0);
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= window {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every window starting at a grant, counted directly.
    fn brute(times: &[u64], window: u64) -> u64 {
        times
            .iter()
            .map(|&t| times.iter().filter(|&&u| u >= t && u < t + window).count() as u64)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn equal_times_all_count() {
        assert_eq!(max_in_window(&[7, 7, 7], 1), 3);
    }

    proptest! {
        #[test]
        fn matches_a_direct_count(mut times in prop::collection::vec(0u64..1_000, 0..60), window in 1u64..200) {
            times.sort_unstable();
            prop_assert_eq!(max_in_window(&times, window), brute(&times, window));
        }
    }
}
