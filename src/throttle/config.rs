//! Throttle configuration (SPEC 6.1): every constructor normalises to `(rate, interval)`.

use std::fmt;
use std::time::Duration;

use super::ThrottleError;

/// The default interval: 60 s, as in Amoc.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The largest interval accepted: 2³² ms.
pub const MAX_INTERVAL_MS: u64 = 1 << 32;

/// How many actions may pass per interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rate {
    /// At most this many per interval (0: nothing passes).
    Finite(u64),
    /// No limit.
    Unlimited,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Finite(r) => write!(f, "{r}"),
            Rate::Unlimited => f.write_str("infinity"),
        }
    }
}

/// A throttle's configuration, normalised to `(rate, interval)`.
///
/// Constructors never fail; [`ThrottleConfig::validate`] (called by `start` and
/// `change_rate`) rejects intervals that are not whole milliseconds or exceed 2³² ms.
///
/// ```
/// use std::time::Duration;
/// use amoc::throttle::{Rate, ThrottleConfig};
/// let c = ThrottleConfig::interarrival(Duration::from_millis(50));
/// assert_eq!((c.limit(), c.interval()), (Rate::Finite(1200), Duration::from_secs(60)));
/// assert!(ThrottleConfig::rate_per(1, Duration::from_micros(500)).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleConfig {
    rate: Rate,
    interval: Duration,
}

impl ThrottleConfig {
    /// `r` per minute: `(r, 60 s)`.
    pub fn rate(r: u64) -> Self {
        Self::rate_per(r, DEFAULT_INTERVAL)
    }

    /// `r` per `interval`, as given; interval 0 is a concurrency limit of `r`.
    pub fn rate_per(r: u64, interval: Duration) -> Self {
        Self {
            rate: Rate::Finite(r),
            interval,
        }
    }

    /// At most `n` actions in progress at once: `(n, 0)`.
    pub fn concurrency(n: u64) -> Self {
        Self::rate_per(n, Duration::ZERO)
    }

    /// No limit: `(Unlimited, 60 s)`.
    pub fn unlimited() -> Self {
        Self {
            rate: Rate::Unlimited,
            interval: DEFAULT_INTERVAL,
        }
    }

    /// One action every `t`: 0 → unlimited; up to 60 s → `(⌊60 000 / t_ms⌋, 60 s)`; above →
    /// `(1, t)`. A non-zero `t` below 1 ms is invalid.
    pub fn interarrival(t: Duration) -> Self {
        if t.is_zero() {
            return Self::unlimited();
        }
        let ms = t.as_millis();
        if ms == 0 || t.subsec_nanos() % 1_000_000 != 0 {
            // Not a whole number of milliseconds: keep it so that `validate` rejects it.
            return Self::rate_per(1, t);
        }
        if t <= DEFAULT_INTERVAL {
            Self::rate((60_000 / ms) as u64)
        } else {
            Self::rate_per(1, t)
        }
    }

    /// Nothing passes: `(0, 60 s)`.
    pub fn interarrival_never() -> Self {
        Self::rate(0)
    }

    /// The rate (per interval, or the concurrency limit when the interval is 0).
    pub fn limit(&self) -> Rate {
        self.rate
    }

    /// The interval (0 = concurrency mode).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The interval in whole milliseconds.
    pub fn interval_ms(&self) -> u64 {
        u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX)
    }

    /// True for an interval of 0 with a finite rate: at most `rate` actions at once.
    pub fn is_concurrency(&self) -> bool {
        self.interval.is_zero() && matches!(self.rate, Rate::Finite(_))
    }

    /// Checks the interval: whole milliseconds, at most 2³² ms.
    pub fn validate(self) -> Result<Self, ThrottleError> {
        if self.interval.subsec_nanos() % 1_000_000 != 0 {
            return Err(ThrottleError::InvalidConfig(format!(
                "interval {:?} is not a whole number of milliseconds",
                self.interval
            )));
        }
        if self.interval.as_millis() > u128::from(MAX_INTERVAL_MS) {
            return Err(ThrottleError::InvalidConfig(format!(
                "interval {:?} is above 2^32 ms",
                self.interval
            )));
        }
        if self.rate == Rate::Unlimited && self.interval.is_zero() {
            return Err(ThrottleError::InvalidConfig(
                "an unlimited rate needs a non-zero interval".into(),
            ));
        }
        Ok(self)
    }
}

impl fmt::Display for ThrottleConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} per {} ms", self.rate, self.interval.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_normalise() {
        let ms = Duration::from_millis;
        assert_eq!(
            ThrottleConfig::rate(100),
            ThrottleConfig::rate_per(100, ms(60_000))
        );
        assert_eq!(
            ThrottleConfig::interarrival(ms(0)),
            ThrottleConfig::unlimited()
        );
        assert_eq!(
            ThrottleConfig::interarrival(ms(50)),
            ThrottleConfig::rate(1200)
        );
        assert_eq!(
            ThrottleConfig::interarrival(ms(60_000)),
            ThrottleConfig::rate(1)
        );
        assert_eq!(
            ThrottleConfig::interarrival(ms(7_000)),
            ThrottleConfig::rate(8)
        );
        assert_eq!(
            ThrottleConfig::interarrival(ms(120_000)),
            ThrottleConfig::rate_per(1, ms(120_000))
        );
        assert_eq!(
            ThrottleConfig::interarrival_never(),
            ThrottleConfig::rate(0)
        );
        assert!(ThrottleConfig::concurrency(3).is_concurrency());
    }

    #[test]
    fn validation() {
        assert!(ThrottleConfig::rate_per(1, Duration::from_millis(1))
            .validate()
            .is_ok());
        assert!(ThrottleConfig::rate_per(1, Duration::from_micros(1500))
            .validate()
            .is_err());
        assert!(ThrottleConfig::interarrival(Duration::from_micros(10))
            .validate()
            .is_err());
        assert!(
            ThrottleConfig::rate_per(1, Duration::from_millis(MAX_INTERVAL_MS))
                .validate()
                .is_ok()
        );
        assert!(
            ThrottleConfig::rate_per(1, Duration::from_millis(MAX_INTERVAL_MS + 1))
                .validate()
                .is_err()
        );
    }
}
