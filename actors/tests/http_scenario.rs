//! The built-in HTTP scenario against the embedded target: requests counted, and the request
//! rate changed while the test runs.

use std::time::Duration;

use amoc::app::App;
use amoc::config::MapEnv;
use amoc::controller::StatusKind;
use amoc::metrics::RunStats;
use amoc::Value;
use amoc_actors::scenarios::HttpScenario;
use amoc_actors::TestTarget;

/// Requests the users made during `window` (elapsed time is the subject here).
async fn requests_during(stats: &RunStats, window: Duration) -> u64 {
    let before = stats.snapshot();
    tokio::time::sleep(window).await;
    let during = stats.snapshot().since(&before);
    assert_eq!(during.total().errors(), 0, "{during:?}");
    during.total().count
}

#[actix_rt::test]
async fn request_rate_changes_while_the_test_runs() {
    let target = TestTarget::start(0, 1).unwrap();
    let app = App::builder()
        .scenario(HttpScenario)
        .shards(2)
        .env(MapEnv::new())
        .start()
        .await
        .unwrap();
    let c = app.controller();
    let settings = vec![
        ("url".to_owned(), Value::from(target.url())),
        ("user_rate".to_owned(), Value::from("infinity")),
    ];
    c.run("http", 4, settings).await.unwrap();
    let stats = RunStats::current(app.telemetry()).unwrap();

    // Unlimited: as fast as the target answers (thousands per second, even in debug).
    let unlimited = requests_during(&stats, Duration::from_millis(1000)).await;
    assert!(unlimited > 400, "unlimited: {unlimited} requests in 1 s");

    // 100 per second: never more than the rate allows over the window.
    c.update_settings(vec![("request_rate".into(), Value::from(100))])
        .await
        .unwrap();
    // Applied by the scenario's update hook before `update_settings` returned.
    let limited = requests_during(&stats, Duration::from_secs(2)).await;
    // At most 200 (plus requests already past their permit); at least some, even when a busy
    // machine starves the users.
    assert!(
        (20..=230).contains(&limited),
        "at 100/s: {limited} requests in 2 s"
    );

    // Back to unlimited.
    c.update_settings(vec![("request_rate".into(), Value::from(0))])
        .await
        .unwrap();
    let again = requests_during(&stats, Duration::from_millis(1000)).await;
    assert!(again > 400, "unlimited again: {again} requests in 1 s");

    c.stop_scenario().await.unwrap();
    assert_eq!(c.wait_finished().await, StatusKind::Finished);
    let u = c.status().users;
    assert_eq!((u.ended, u.crashed), (4, 0));
    app.shutdown().await;
    target.stop().await;
}
