//! The runner's summary counts exactly the requests the target answered, and the `init`
//! reachability probe of the http scenario is not one of them.

use std::time::Duration;

use amoc_actors::scenarios::HttpScenario;
use amoc_actors::{LoadTest, Progress, TestTarget};

#[actix_rt::test]
async fn summary_count_equals_the_targets_count() {
    let target = TestTarget::start(0, 1).unwrap();
    let outcome = LoadTest::new(HttpScenario)
        .users(20)
        .duration(Duration::from_millis(1500))
        .set("user_rate", "infinity")
        .set("url", target.url())
        .shards(2)
        .progress(Progress::Off)
        .run()
        .await
        .unwrap();
    let seen = target.requests();
    let counted = outcome.stats.requests;
    assert!(counted > 100, "only {counted} requests in 1.5 s");
    // The target also answered the probe `init` makes before any user starts.
    assert_eq!(
        seen,
        counted + 1,
        "target saw {seen}, summary says {counted}"
    );
    assert_eq!(outcome.stats.errors, 0);
    let by_name: Vec<_> = outcome
        .requests
        .by_name()
        .map(|(n, s)| (n, s.count))
        .collect();
    assert_eq!(by_name, [("GET /", counted)]);
    target.stop().await;
}
