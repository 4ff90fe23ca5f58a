//! Gradual rate changes (SPEC 6.5) as pure data: a plan is validated into a
//! [`GradualSchedule`] whose step `i` has rate `from + round((to − from)·i / K)`, computed
//! with exact integer arithmetic (round half away from zero).

use std::time::Duration;

use super::config::{DEFAULT_INTERVAL, MAX_INTERVAL_MS};
use super::ThrottleError;

/// The step of a gradual change when given as a duration: 100 ms.
pub const DURATION_STEP: Duration = Duration::from_millis(100);

/// A rate end of a [`GradualPlan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRate {
    /// A rate per the plan's interval.
    Rate(u64),
    /// One action every so long (≥ 1 ms): `⌊60 000 / t_ms⌋` per 60 s.
    Interarrival(Duration),
}

/// How a plan is divided into steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    /// `step_count` steps (≥ 1), one every `step_interval` (≥ 1 ms).
    Steps {
        /// Time between two steps.
        step_interval: Duration,
        /// Number of steps after step 0.
        step_count: u64,
    },
    /// Spread over a duration (≥ 100 ms): steps of 100 ms, `⌊d / 100 ms⌋` of them.
    Duration(Duration),
}

/// A gradual change from one rate to another (SPEC 6.5).
///
/// ```
/// use std::time::Duration;
/// use amoc::throttle::{GradualPlan, Steps};
/// let plan = GradualPlan::new(10, 50)
///     .interval(Duration::from_secs(1))
///     .steps(Steps::Steps { step_interval: Duration::from_millis(100), step_count: 4 });
/// let s = plan.resolve().unwrap();
/// assert_eq!(s.rates().collect::<Vec<_>>(), vec![10, 20, 30, 40, 50]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradualPlan {
    /// The starting rate.
    pub from: PlanRate,
    /// The final rate.
    pub to: PlanRate,
    /// The interval of both rates (default 60 s; ignored for interarrival ends).
    pub interval: Duration,
    /// The steps; `None` is an invalid (empty) plan.
    pub steps: Option<Steps>,
}

impl GradualPlan {
    /// From `from` to `to` per 60 s, no steps yet.
    pub fn new(from: u64, to: u64) -> Self {
        Self {
            from: PlanRate::Rate(from),
            to: PlanRate::Rate(to),
            interval: DEFAULT_INTERVAL,
            steps: None,
        }
    }

    /// From one interarrival time to another (each ≥ 1 ms), no steps yet.
    pub fn from_interarrival(from: Duration, to: Duration) -> Self {
        Self {
            from: PlanRate::Interarrival(from),
            to: PlanRate::Interarrival(to),
            interval: DEFAULT_INTERVAL,
            steps: None,
        }
    }

    /// Sets the interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the steps.
    pub fn steps(mut self, steps: Steps) -> Self {
        self.steps = Some(steps);
        self
    }

    /// `step_count` steps every `step_interval`.
    pub fn every(self, step_interval: Duration, step_count: u64) -> Self {
        self.steps(Steps::Steps {
            step_interval,
            step_count,
        })
    }

    /// Steps of 100 ms over `d`.
    pub fn over(self, d: Duration) -> Self {
        self.steps(Steps::Duration(d))
    }

    /// Validates the plan into its schedule of step rates.
    pub fn resolve(&self) -> Result<GradualSchedule, ThrottleError> {
        let invalid = |m: &str| Err(ThrottleError::InvalidPlan(m.to_owned()));
        let whole_ms = |d: Duration| d.subsec_nanos() % 1_000_000 == 0;
        let mut interval = self.interval;
        let conv = |r: PlanRate| -> Result<(u64, bool), ThrottleError> {
            match r {
                PlanRate::Rate(r) => Ok((r, false)),
                PlanRate::Interarrival(t) if t >= Duration::from_millis(1) && whole_ms(t) => {
                    Ok(((60_000 / t.as_millis()) as u64, true))
                }
                PlanRate::Interarrival(_) => Err(ThrottleError::InvalidPlan(
                    "interarrival below 1 ms or not whole milliseconds".into(),
                )),
            }
        };
        let (from, fi) = conv(self.from)?;
        let (to, ti) = conv(self.to)?;
        if fi != ti {
            return invalid("mixed rate and interarrival ends");
        }
        if fi {
            interval = DEFAULT_INTERVAL;
        }
        if interval < Duration::from_millis(1)
            || !whole_ms(interval)
            || interval.as_millis() > u128::from(MAX_INTERVAL_MS)
        {
            return invalid("interval must be whole milliseconds in 1 ..= 2^32");
        }
        let (step_interval, step_count) = match self.steps {
            None => return invalid("no steps"),
            Some(Steps::Steps {
                step_interval,
                step_count,
            }) => {
                if step_interval < Duration::from_millis(1) || !whole_ms(step_interval) {
                    return invalid("step interval must be whole milliseconds, at least 1");
                }
                if step_count == 0 {
                    return invalid("step count must be at least 1");
                }
                (step_interval, step_count)
            }
            Some(Steps::Duration(d)) => {
                if d < DURATION_STEP {
                    return invalid("duration must be at least 100 ms");
                }
                let k = d.as_millis() / DURATION_STEP.as_millis();
                (DURATION_STEP, u64::try_from(k).unwrap_or(u64::MAX))
            }
        };
        Ok(GradualSchedule {
            from,
            to,
            interval,
            step_interval,
            step_count,
        })
    }
}

/// A validated gradual plan: `K + 1` step rates, step `i` applied at `i · step_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradualSchedule {
    /// Rate of step 0.
    pub from: u64,
    /// Rate of step K.
    pub to: u64,
    /// The interval of every step's rate.
    pub interval: Duration,
    /// Time between steps.
    pub step_interval: Duration,
    /// K, the number of steps after step 0.
    pub step_count: u64,
}

impl GradualSchedule {
    /// The rate of step `i` (clamped to `0 ..= K`): `from + round((to − from)·i / K)`, rounding
    /// half away from zero.
    pub fn rate_at(&self, i: u64) -> u64 {
        let k = i128::from(self.step_count.max(1));
        let i = i128::from(i.min(self.step_count));
        let diff = i128::from(self.to) - i128::from(self.from);
        let num = diff * i;
        let mut q = num / k;
        let rem = num % k;
        if 2 * rem.abs() >= k {
            q += num.signum();
        }
        u64::try_from(i128::from(self.from) + q).unwrap_or(0)
    }

    /// All `K + 1` rates, in order.
    pub fn rates(&self) -> impl Iterator<Item = u64> + '_ {
        (0..=self.step_count).map(move |i| self.rate_at(i))
    }

    /// When step `i` applies, relative to the call.
    pub fn offset_of(&self, i: u64) -> Duration {
        let ns = self.step_interval.as_nanos() * u128::from(i);
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_half_away_from_zero() {
        let up = GradualPlan::new(0, 3)
            .every(Duration::from_millis(1), 2)
            .resolve()
            .unwrap();
        assert_eq!(up.rates().collect::<Vec<_>>(), vec![0, 2, 3]); // 1.5 → 2
        let down = GradualPlan::new(3, 0)
            .every(Duration::from_millis(1), 2)
            .resolve()
            .unwrap();
        assert_eq!(down.rates().collect::<Vec<_>>(), vec![3, 1, 0]); // 3 − 1.5 → 3 − 2
    }

    #[test]
    fn invalid_plans() {
        assert!(GradualPlan::new(1, 2).resolve().is_err());
        assert!(GradualPlan::new(1, 2)
            .every(Duration::ZERO, 1)
            .resolve()
            .is_err());
        assert!(GradualPlan::new(1, 2)
            .every(Duration::from_millis(1), 0)
            .resolve()
            .is_err());
        assert!(GradualPlan::new(1, 2)
            .over(Duration::from_millis(99))
            .resolve()
            .is_err());
        assert!(GradualPlan::new(1, 2)
            .interval(Duration::ZERO)
            .over(Duration::from_secs(1))
            .resolve()
            .is_err());
    }
}
