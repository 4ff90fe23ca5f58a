//! amoc's figures against a target that logs every request it saw: counts exact, error
//! classes exact, and under a rate with a stalling target the corrected latency and the missed
//! allowance match what the schedule says they must be.

mod ground_truth;

use std::time::Duration;

use amoc::metrics::{ErrorClass, RunStats};
use amoc::telemetry::Telemetry;
use amoc_actors::http::HttpClient;
use amoc_actors::scenarios::{HttpScenario, REQUEST_THROTTLE};
use amoc_actors::{LoadTest, Progress};
use ground_truth::{quantile, scheduled_latencies, Answer, Behaviour, GroundTruth};

const RATE: u64 = 500;
const USERS: u64 = 20;

#[actix_rt::test]
async fn a_stall_under_a_rate_is_measured_from_due_time_and_missed_is_counted() {
    let (after, length) = (Duration::from_millis(1500), Duration::from_secs(2));
    let target = GroundTruth::start(Behaviour {
        stall: Some((after, length)),
        ..Behaviour::default()
    });
    let outcome = LoadTest::new(HttpScenario)
        .users(USERS)
        .duration(Duration::from_secs(6))
        .set("user_rate", "infinity")
        .set("url", target.url())
        .set("request_rate", RATE)
        .shards(2)
        .progress(Progress::Off)
        .run()
        .await
        .unwrap();
    let seen = target.seen();
    // The first request is `init`'s reachability probe, not counted.
    let users_seen = &seen[1..];
    assert_eq!(
        outcome.stats.requests,
        users_seen.len() as u64,
        "counts exact"
    );
    assert_eq!(outcome.stats.errors, 0);

    let first = target.first_arrival().unwrap();
    let stall = (first + after, first + after + length);
    let from = users_seen.iter().map(|s| s.arrived).min().unwrap();
    let to = users_seen.iter().map(|s| s.arrived).max().unwrap();
    let service: Vec<Duration> = users_seen
        .iter()
        .filter(|s| s.arrived > stall.1)
        .map(|s| s.answered - s.arrived)
        .collect();
    let truth = scheduled_latencies(from, to, RATE as f64, stall, quantile(service, 0.5));
    let truth_p99 = quantile(truth.clone(), 0.99).as_secs_f64();
    let truth_p90 = quantile(truth.clone(), 0.90).as_secs_f64();
    let stats = outcome.requests.total();
    let p99 = stats.corrected_at(0.99).as_secs_f64();
    let p90 = stats.corrected_at(0.90).as_secs_f64();
    assert!(
        (p99 - truth_p99).abs() <= 0.1 * truth_p99,
        "corrected p99 {p99:.3} s, truth {truth_p99:.3} s"
    );
    assert!(
        (p90 - truth_p90).abs() <= 0.1 * truth_p90,
        "corrected p90 {p90:.3} s, truth {truth_p90:.3} s"
    );
    // Service time alone hides the stall but for the requests caught in it.
    assert!(stats.latency_at(0.9) < Duration::from_millis(100));

    // Missed: the slots due while every user was blocked in the stall, that is all slots of
    // the stall but those taken by the requests that arrived in it (and were held).
    let in_stall = users_seen
        .iter()
        .filter(|s| s.arrived >= stall.0 && s.arrived < stall.1)
        .count();
    let missed_truth = RATE as f64 * length.as_secs_f64() - in_stall as f64;
    let throttle = outcome
        .report
        .throttles
        .iter()
        .find(|t| t.name == REQUEST_THROTTLE)
        .expect("the request throttle is reported");
    let missed = throttle.missed as f64;
    assert!(
        (missed - missed_truth).abs() <= 0.02 * missed_truth,
        "missed {missed}, truth {missed_truth:.0}"
    );
    assert_eq!(throttle.asked_per_s, Some(RATE as f64));
    let hint = throttle.hint.as_deref().unwrap();
    assert!(hint.contains(&format!("all {USERS} users busy")), "{hint}");
}

#[actix_rt::test]
async fn error_classes_are_exact() {
    let target = GroundTruth::start(Behaviour {
        error_every: Some(5),
        close_every: Some(7),
        ..Behaviour::default()
    });
    let outcome = LoadTest::new(HttpScenario)
        .users(4)
        .duration(Duration::from_millis(1500))
        .set("user_rate", "infinity")
        .set("url", target.url())
        .set("error_backoff_ms", 1)
        .progress(Progress::Off)
        .run()
        .await
        .unwrap();
    let seen = target.seen();
    let count = |a: Answer| seen.iter().filter(|s| s.answer == a).count() as u64;
    let totals = outcome.requests.total();
    assert_eq!(
        totals.count,
        seen.len() as u64 - 1,
        "the probe is not counted"
    );
    let classes = totals.errors_by_class;
    assert!(count(Answer::Closed) > 0 && count(Answer::Status(500)) > 0);
    assert_eq!(
        classes.get(ErrorClass::ClosedBeforeResponse),
        count(Answer::Closed)
    );
    assert_eq!(
        classes.get(ErrorClass::Status5xx),
        count(Answer::Status(500))
    );
    assert_eq!(classes.total(), totals.errors());
    assert_eq!(totals.failed_histogram().len(), totals.errors());
    assert_eq!(totals.ok_histogram().len(), count(Answer::Status(200)) - 1);
    // Each request that got no response paused its user, and the pauses are reported.
    let pauses = outcome.requests.counter("error_backoff_pauses");
    assert_eq!(pauses, count(Answer::Closed));
    assert_eq!(outcome.requests.counter("error_backoff_ms"), pauses);
}

#[actix_rt::test]
async fn timeouts_and_refused_connections_are_classed() {
    let target = GroundTruth::start(Behaviour {
        delay_every: Some((3, Duration::from_millis(400))),
        ..Behaviour::default()
    });
    let stats = RunStats::new();
    let client = HttpClient::builder(target.url())
        .timeout(Duration::from_millis(100))
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap();
    let mut http = client.user();
    for _ in 0..9 {
        let _ = http.get("x", "/").send().await;
    }
    let s = stats.snapshot();
    let x = s.get("x").unwrap();
    assert_eq!(x.errors_by_class.get(ErrorClass::Timeout), 3);
    assert_eq!(x.count, 9);

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = HttpClient::builder(format!("http://127.0.0.1:{port}/"))
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap();
    let _ = refused.user().get("refused", "/").send().await;
    let s = stats.snapshot();
    let r = s.get("refused").unwrap();
    assert_eq!(r.errors_by_class.get(ErrorClass::ConnectRefused), 1);
}
