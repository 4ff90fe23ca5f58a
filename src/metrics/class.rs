//! Why a request failed, in the few classes a load report counts apart, and [`Sample`]: one
//! completed request as a recorder takes it.

use std::time::Duration;

use super::summary::Outcome;

/// The class of a failed request. Statuses ≥ 400 are classed by their status; requests that
/// got no response by what the client saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// The target refused the connection (nothing listens).
    ConnectRefused,
    /// No complete response within the request's timeout.
    Timeout,
    /// The connection closed before a complete response came.
    ClosedBeforeResponse,
    /// No response for another reason (resolution, TLS, a reset while connecting...).
    OtherFailure,
    /// A response with a status from 400 to 499 (or ≥ 600).
    Status4xx,
    /// A response with a status from 500 to 599.
    Status5xx,
}

impl ErrorClass {
    /// Every class, in report order.
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::ConnectRefused,
        ErrorClass::Timeout,
        ErrorClass::ClosedBeforeResponse,
        ErrorClass::OtherFailure,
        ErrorClass::Status4xx,
        ErrorClass::Status5xx,
    ];

    /// The class's name in reports: `connect_refused`, `timeout`, `closed_before_response`,
    /// `other_failure`, `status_4xx`, `status_5xx`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::ConnectRefused => "connect_refused",
            ErrorClass::Timeout => "timeout",
            ErrorClass::ClosedBeforeResponse => "closed_before_response",
            ErrorClass::OtherFailure => "other_failure",
            ErrorClass::Status4xx => "status_4xx",
            ErrorClass::Status5xx => "status_5xx",
        }
    }

    /// The class of a response's status, if it is an error (≥ 400).
    pub fn of_status(status: u16) -> Option<ErrorClass> {
        match status {
            0..=399 => None,
            500..=599 => Some(ErrorClass::Status5xx),
            _ => Some(ErrorClass::Status4xx),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A count per [`ErrorClass`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorCounts([u64; 6]);

impl ErrorCounts {
    /// The count of one class.
    pub fn get(&self, class: ErrorClass) -> u64 {
        self.0[class.index()]
    }

    /// Every class with its count (zeros included), in report order.
    pub fn iter(&self) -> impl Iterator<Item = (ErrorClass, u64)> + '_ {
        ErrorClass::ALL.iter().map(|c| (*c, self.get(*c)))
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The counts of every class, in [`ErrorClass::ALL`] order (as [`Self::iter`] gives them).
    pub fn from_counts(counts: [u64; 6]) -> Self {
        let mut out = Self::default();
        for (c, n) in ErrorClass::ALL.iter().zip(counts) {
            out.0[c.index()] = n;
        }
        out
    }

    pub(super) fn add(&mut self, class: ErrorClass) {
        self.0[class.index()] += 1;
    }

    pub(super) fn zip(&mut self, other: &Self, f: impl Fn(u64, u64) -> u64) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = f(*a, b);
        }
    }
}

/// One completed request: how it ended and how long it took, from its actual start
/// (service time) and from when it was due (corrected latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// How it ended.
    pub outcome: Outcome,
    /// Why it got no response (for [`Outcome::Failed`]; `None` there counts as
    /// [`ErrorClass::OtherFailure`]). Ignored for a response.
    pub failure: Option<ErrorClass>,
    /// From the actual start to the end.
    pub service: Duration,
    /// From when the request was due to the end (≥ `service`; equal when it was not due at
    /// a scheduled time).
    pub corrected: Duration,
    /// How often this caller's requests were due (its share of a rate): the slots it missed
    /// while this request ran are recorded in the corrected histogram too, as HdrHistogram's
    /// `record_correct` does. `None` when not paced.
    pub expected_interval: Option<Duration>,
}

impl Sample {
    /// A request that was not paced: corrected latency equals service time.
    pub fn new(outcome: Outcome, service: Duration) -> Self {
        Self {
            outcome,
            failure: None,
            service,
            corrected: service,
            expected_interval: None,
        }
    }

    /// The request was due `since_due` before it ended (clamped to at least the service
    /// time), and this caller's requests are due every `expected_interval`, if known.
    pub fn due(mut self, since_due: Duration, expected_interval: Option<Duration>) -> Self {
        self.corrected = since_due.max(self.service);
        self.expected_interval = expected_interval.filter(|i| !i.is_zero());
        self
    }

    /// Why the request got no response.
    pub fn failure(mut self, class: ErrorClass) -> Self {
        self.failure = Some(class);
        self
    }

    /// The error class of this request, if it is an error.
    pub fn error_class(&self) -> Option<ErrorClass> {
        match self.outcome {
            Outcome::Status(s) => ErrorClass::of_status(s),
            Outcome::Failed => Some(self.failure.unwrap_or(ErrorClass::OtherFailure)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_failures_are_classed() {
        let ms = Duration::from_millis(1);
        let class = |o| Sample::new(o, ms).error_class();
        assert_eq!(class(Outcome::Status(200)), None);
        assert_eq!(class(Outcome::Status(399)), None);
        assert_eq!(class(Outcome::Status(404)), Some(ErrorClass::Status4xx));
        assert_eq!(class(Outcome::Status(503)), Some(ErrorClass::Status5xx));
        assert_eq!(class(Outcome::Status(700)), Some(ErrorClass::Status4xx));
        assert_eq!(class(Outcome::Failed), Some(ErrorClass::OtherFailure));
        let timed_out = Sample::new(Outcome::Failed, ms).failure(ErrorClass::Timeout);
        assert_eq!(timed_out.error_class(), Some(ErrorClass::Timeout));
    }

    #[test]
    fn corrected_is_never_below_service() {
        let s = Sample::new(Outcome::Status(200), Duration::from_millis(5))
            .due(Duration::from_millis(2), Some(Duration::ZERO));
        assert_eq!(s.corrected, Duration::from_millis(5));
        assert_eq!(s.expected_interval, None);
    }
}
