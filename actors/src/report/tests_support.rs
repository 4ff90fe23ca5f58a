//! A small report for unit tests.

use std::time::{Duration, SystemTime};

use amoc::controller::{Status, StatusKind};
use amoc::metrics::{ErrorClass, Outcome, RunStats, Sample};
use amoc::users::UserCounts;

use super::{build, Collector, ReportInput, RunReport};

/// A report of scenario `scenario`: `GET /` with 99 successes of 1..=99 ms and one timeout
/// of 500 ms, `login` with two 5 ms successes.
pub(crate) fn sample_report(scenario: &str) -> RunReport {
    let stats = RunStats::new();
    for i in 1..=99 {
        stats.record("GET /", Outcome::Status(200), Duration::from_millis(i));
    }
    stats.record_sample(
        "GET /",
        &Sample::new(Outcome::Failed, Duration::from_millis(500)).failure(ErrorClass::Timeout),
    );
    for _ in 0..2 {
        stats.record("login", Outcome::Status(200), Duration::from_millis(5));
    }
    let snapshot = stats.snapshot();
    let collector = Collector::new();
    let status = Status {
        kind: StatusKind::Finished,
        scenario: Some(scenario.to_owned()),
        highest_user_id: 3,
        users: UserCounts {
            ended: 3,
            ..UserCounts::default()
        },
        started_at: None,
        error: None,
        settings: vec![("user_rate".into(), 60.into())],
        telemetry_dropped: 0,
    };
    build(&ReportInput {
        scenario,
        planned_users: 3,
        started: SystemTime::UNIX_EPOCH,
        elapsed: Duration::from_secs(10),
        interrupted: None,
        status: &status,
        settings: &status.settings,
        requests: &snapshot,
        collector: &collector,
        thresholds: &[],
    })
}
