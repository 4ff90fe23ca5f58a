//! The restart intensity window (SPEC 3.5): pure, no runtime needed.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Instants of past restart attempts within the window, newest first.
#[derive(Debug, Clone)]
pub(crate) struct Intensity {
    intensity: u32,
    period: Duration,
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(intensity: u32, period: Duration) -> Self {
        Intensity {
            intensity,
            period,
            restarts: VecDeque::new(),
        }
    }

    /// Records a restart attempt at `now`; false means the supervisor must give up.
    ///
    /// Keeps the instants `t` with `now - t <= period`, prepends `now`, and allows the
    /// attempt if at most `intensity` instants remain.
    pub(crate) fn add_restart(&mut self, now: Instant) -> bool {
        let period = self.period;
        while let Some(&oldest) = self.restarts.back() {
            if now.saturating_duration_since(oldest) > period {
                self.restarts.pop_back();
            } else {
                break;
            }
        }
        self.restarts.push_front(now);
        self.restarts.len() <= self.intensity as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn zero_intensity_gives_up_at_once() {
        let mut w = Intensity::new(0, Duration::from_secs(5));
        assert!(!w.add_restart(Instant::now()));
    }

    #[test]
    fn window_is_inclusive() {
        let base = Instant::now();
        let mut w = Intensity::new(1, Duration::from_secs(1));
        assert!(w.add_restart(at(base, 0)));
        // exactly `period` later: the old one is still inside, two > one
        assert!(!w.add_restart(at(base, 1000)));
        let mut w = Intensity::new(1, Duration::from_secs(1));
        assert!(w.add_restart(at(base, 0)));
        assert!(w.add_restart(at(base, 1001)));
    }

    #[test]
    fn multiple_restarts_spaced_out_survive() {
        let base = Instant::now();
        let mut w = Intensity::new(1, Duration::from_secs(1));
        for i in 0..100 {
            assert!(w.add_restart(at(base, i * 2100)));
        }
    }

    /// The naive model: count every attempt within the period, no pruning.
    fn naive(intensity: u32, period_ms: u64, attempts: &[u64]) -> Vec<bool> {
        let mut out = Vec::new();
        for (i, &now) in attempts.iter().enumerate() {
            let within = attempts[..=i]
                .iter()
                .filter(|&&t| now - t <= period_ms)
                .count();
            out.push(within <= intensity as usize);
        }
        out
    }

    proptest! {
        #[test]
        fn matches_naive_model(
            intensity in 0u32..6,
            period_ms in 1u64..3000,
            gaps in proptest::collection::vec(0u64..2000, 1..60),
        ) {
            let base = Instant::now();
            let mut t = 0;
            let attempts: Vec<u64> = gaps.iter().map(|g| { t += g; t }).collect();
            let mut w = Intensity::new(intensity, Duration::from_millis(period_ms));
            let got: Vec<bool> = attempts.iter().map(|&ms| w.add_restart(at(base, ms))).collect();
            prop_assert_eq!(got, naive(intensity, period_ms, &attempts));
        }
    }
}
