//! The embedded target's count of connections answered and the time of the latest first
//! answer (what `examples/http_bench` reports as the time until every user's first request).

use std::time::{Duration, Instant};

use amoc::metrics::RunStats;
use amoc::telemetry::Telemetry;
use amoc_actors::http::HttpClient;
use amoc_actors::scenarios::HttpScenario;
use amoc_actors::{FirstAnswers, LoadTest, Progress, TestTarget};

#[actix_rt::test]
async fn each_connection_counts_once_at_its_first_answer() {
    let target = TestTarget::start(0, 1).unwrap();
    assert_eq!(
        target.first_answers(),
        FirstAnswers {
            connections: 0,
            last: None
        }
    );
    let client = HttpClient::builder(target.url())
        .timeout(Duration::from_secs(5))
        .build_with(RunStats::new(), Telemetry::new())
        .await
        .unwrap();
    // Each handle is one connection.
    let (mut a, mut b, mut c) = (client.user(), client.user(), client.user());
    let before = Instant::now();
    a.get("a", "/").send().await.unwrap();
    a.get("a", "/").send().await.unwrap();
    b.get("b", "/status/503").send().await.unwrap();
    let after_b = Instant::now();
    let two = target.first_answers();
    assert_eq!(two.connections, 2, "{two:?}");
    let at_b = two.last.unwrap();
    assert!(before <= at_b && at_b <= after_b, "{two:?}");

    c.get("c", "/").send().await.unwrap();
    let after_c = Instant::now();
    let three = target.first_answers();
    assert_eq!(three.connections, 3, "{three:?}");
    let at_c = three.last.unwrap();
    assert!(at_b <= at_c && at_c <= after_c, "{three:?}");

    // More requests on the same connections change nothing.
    a.get("a", "/").send().await.unwrap();
    c.get("c", "/").send().await.unwrap();
    assert_eq!(target.first_answers(), three);
    assert_eq!(target.requests(), 6);
    target.stop().await;
}

#[actix_rt::test]
async fn every_user_of_the_http_scenario_is_one_answered_connection() {
    let target = TestTarget::start(0, 1).unwrap();
    let start = Instant::now();
    let outcome = LoadTest::new(HttpScenario)
        .users(20)
        .duration(Duration::from_millis(500))
        .set("url", target.url())
        .set("user_rate", "infinity")
        .progress(Progress::Off)
        .run()
        .await
        .unwrap();
    let end = Instant::now();
    assert_eq!(outcome.status.users.ended, 20, "{:?}", outcome.status);
    let answered = target.first_answers();
    // The scenario's probe in `init`, then one connection per user.
    assert_eq!(answered.connections, 21, "{answered:?}");
    let last = answered.last.unwrap();
    assert!(start <= last && last <= end, "{answered:?}");
    target.stop().await;
}
