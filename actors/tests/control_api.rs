//! The HTTP control API driven over loopback, as `curl` or a CI job would.

mod api_support;

use std::time::Duration;

use actix::Actor;
use amoc::telemetry::{AttachOptions, EventPattern};
use amoc_actors::{MetricsStore, PrometheusMetrics};
use api_support::{app_and_builder, poll_until, Api, TIMEOUT};
use serde_json::{json, Value};

#[actix_rt::test]
async fn a_whole_run_through_the_api() {
    let api = Api::start().await;
    let status = api.call("GET", "/status", None).await;
    assert_eq!(status.status, 200);
    let status = status.json();
    assert_eq!(status["amoc_status"], "up");
    assert_eq!(status["controller"]["status"], "idle");

    let start = json!({"scenario": "idle", "users": 10, "settings": {"user_rate": "infinity"}});
    let res = api.call("PATCH", "/execution/start", Some(&start)).await;
    assert_eq!(
        (res.status, res.json()),
        (200, json!({"first": 1, "last": 10}))
    );
    api.until("10 running", |c| c["users"]["running"] == 10)
        .await;

    // POST is kept as an alias of PATCH; `count` of `users`.
    let res = api
        .call("POST", "/execution/add_users", Some(&json!({"count": 5})))
        .await;
    assert_eq!(
        (res.status, res.json()),
        (200, json!({"first": 11, "last": 15}))
    );
    let remove = json!({"users": 3, "force": true, "nodes": ["local"]});
    let res = api
        .call("PATCH", "/execution/remove_users", Some(&remove))
        .await;
    assert_eq!((res.status, res.json()), (200, json!({"removed": 3})));
    api.until("12 running", |c| c["users"]["running"] == 12)
        .await;

    let update = json!({"settings": {"pause_ms": 25}});
    let res = api
        .call("PATCH", "/execution/update_settings", Some(&update))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let status = api.call("GET", "/status", None).await.json();
    assert_eq!(status["controller"]["settings"]["pause_ms"], 25);
    assert_eq!(status["controller"]["scenario"], "idle");
    assert_eq!(status["controller"]["highest_user_id"], 15);

    let res = api.call("PATCH", "/execution/stop", None).await;
    assert_eq!(res.status, 200);
    let outcome = res.json()["outcome"].as_str().unwrap().to_owned();
    assert!(["finished", "terminating"].contains(&outcome.as_str()));
    let status = api.until("finished", |c| c["status"] == "finished").await;
    assert_eq!(status["controller"]["users"]["ended"], 15);
    api.shutdown().await;
}

#[actix_rt::test]
async fn refusals_have_status_codes_and_one_line_errors() {
    let api = Api::start().await;
    // Wrong state: nothing runs yet.
    let res = api
        .call("PATCH", "/execution/add_users", Some(&json!({"users": 1})))
        .await;
    assert_eq!(res.status, 409);
    assert!(res.error().contains("idle"));
    // Unknown scenario.
    let res = api
        .call(
            "PATCH",
            "/execution/start",
            Some(&json!({"scenario": "nope"})),
        )
        .await;
    assert_eq!(res.status, 404);
    assert!(res.error().contains("nope"));
    // A setting the scenario refuses.
    let bad = json!({"scenario": "idle", "settings": {"pause_ms": "soon"}});
    let res = api.call("PATCH", "/execution/start", Some(&bad)).await;
    assert_eq!(res.status, 422);
    assert!(res.error().contains("pause_ms"));
    // Bodies that are not the documented JSON.
    let res = api_support::request(
        api.addr(),
        "PATCH",
        "/execution/add_users",
        &[("content-type", "application/json")],
        b"{\"users\": ",
    )
    .await;
    assert_eq!(res.status, 400);
    res.error();
    let extra = json!({"users": 1, "extra": true});
    let res = api
        .call("PATCH", "/execution/add_users", Some(&extra))
        .await;
    assert_eq!(res.status, 400);
    assert!(res.error().contains("extra"));
    // Another node than this one.
    let elsewhere = json!({"users": 1, "nodes": ["amoc@far"]});
    let res = api
        .call("PATCH", "/execution/add_users", Some(&elsewhere))
        .await;
    assert_eq!(res.status, 404);
    // A zero count is refused by the controller while running.
    let start = json!({"scenario": "idle", "settings": {"user_rate": "infinity"}});
    let res = api.call("PATCH", "/execution/start", Some(&start)).await;
    assert_eq!((res.status, res.json()), (200, Value::Null));
    let res = api
        .call("PATCH", "/execution/add_users", Some(&json!({"users": 0})))
        .await;
    assert_eq!(res.status, 422);
    api.shutdown().await;
}

/// The metrics once they contain `wanted` (the Prometheus handler counts events as they
/// reach it, and tells no one).
async fn scrape_until(api: &Api, wanted: &str) -> String {
    let every = Duration::from_millis(10);
    poll_until(wanted, every, TIMEOUT, || async {
        let text = api.call("GET", "/metrics", None).await.text();
        text.contains(wanted).then_some(text)
    })
    .await
}

#[actix_rt::test]
async fn metrics_show_the_controller_users_and_events() {
    let (app, builder) = app_and_builder().await;
    let store = MetricsStore::new();
    let handler = PrometheusMetrics::new(store.clone()).start();
    app.telemetry()
        .attach_many(
            "prometheus",
            [EventPattern::prefix(&["amoc"])],
            handler.recipient(),
            AttachOptions::default(),
        )
        .await
        .unwrap();
    let server = builder.metrics(store).bind("127.0.0.1:0").unwrap();
    let api = Api {
        app,
        server,
        token: None,
    };
    let text = api.call("GET", "/metrics", None).await.text();
    assert!(
        text.contains("amoc_controller_status{status=\"idle\"} 1\n"),
        "{text}"
    );
    let start = json!({"scenario": "idle", "users": 7, "settings": {"user_rate": "infinity"}});
    assert_eq!(
        api.call("PATCH", "/execution/start", Some(&start))
            .await
            .status,
        200
    );
    api.until("7 running", |c| c["users"]["running"] == 7).await;
    let text = scrape_until(
        &api,
        "amoc_events_total{event=\"amoc.scenario.start.start\"} 7\n",
    )
    .await;
    assert!(
        text.contains("amoc_events_total{event=\"amoc.scenario.start.start\"} 7\n"),
        "{text}"
    );
    assert!(
        text.contains("amoc_controller_status{status=\"running\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("amoc_users{state=\"running\"} 7\n"), "{text}");
    assert!(
        text.contains("amoc_event_duration_seconds_count{event=\"amoc.scenario.init.stop\"} 1\n"),
        "{text}"
    );
    api.shutdown().await;
}

#[actix_rt::test]
async fn metrics_without_a_store_still_show_the_controller() {
    let api = Api::start().await;
    let res = api.call("GET", "/metrics", None).await;
    assert_eq!(res.status, 200);
    let text = res.text();
    assert!(text.contains("amoc_users{state=\"running\"} 0\n"), "{text}");
    assert!(!text.contains("amoc_events_total"), "{text}");
    api.shutdown().await;
}
