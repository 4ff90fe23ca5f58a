//! The arsenal surface and run semantics: status with the environment, nodes, scenario info
//! and defaults, a start refused whole, and counters cleared by reset.

mod api_support;

use api_support::{request, Api};
use serde_json::json;

#[actix_rt::test]
async fn status_nodes_and_scenarios_answer_as_arsenal_does() {
    let api = Api::start().await;
    let status = api.call("GET", "/status", None).await.json();
    assert_eq!(status["amoc_status"], "up");
    assert_eq!(status["controller"]["status"], "idle");
    assert_eq!(status["env"]["AMOC_PAUSE_MS"], "20");
    assert_eq!(
        status["env"]["AMOC_API_TOKEN"], "(hidden)",
        "never the token"
    );
    assert!(status["env"].get("HOME").is_none(), "only AMOC_* variables");
    assert_eq!(api.call("GET", "/status/local", None).await.json(), status);
    assert_eq!(api.call("GET", "/status/amoc@far", None).await.status, 404);
    assert_eq!(
        api.call("GET", "/status/bad%20name", None).await.status,
        400
    );

    let nodes = api.call("GET", "/nodes", None).await.json();
    assert_eq!(nodes, json!({"nodes": {"local": "up"}}));
    let scenarios = api.call("GET", "/scenarios", None).await.json();
    assert_eq!(scenarios, json!({"scenarios": ["idle"]}));

    let info = api.call("GET", "/scenarios/info/idle", None).await.json();
    assert_eq!(info["doc"], "users idle until stopped");
    let pause = &info["parameters"]["pause_ms"];
    assert_eq!(pause["owner"], "idle");
    assert_eq!(pause["description"], "an updatable pause");
    assert_eq!(pause["default_value"], 10);
    assert_eq!(pause["verification"], "any");
    assert_eq!(pause["update"], "accept");
    assert_eq!(info["parameters"]["user_rate"]["owner"], "controller");

    let defaults = api
        .call("GET", "/scenarios/defaults/idle", None)
        .await
        .json();
    assert_eq!(defaults["settings"]["pause_ms"], 10);
    assert_eq!(defaults["settings"]["user_rate"], 1200);
    for path in ["/scenarios/info/nope", "/scenarios/defaults/nope"] {
        let res = api.call("GET", path, None).await;
        assert_eq!(res.status, 404);
        assert!(res.error().contains("nope"));
    }
    api.shutdown().await;
}

#[actix_rt::test]
async fn a_start_whose_users_cannot_be_added_starts_nothing() {
    let api = Api::start().await;
    // The app allows 1000 live users.
    let start = json!({"scenario": "idle", "users": 5000});
    let res = api.call("PATCH", "/execution/start", Some(&start)).await;
    assert_eq!(res.status, 422);
    let error = res.error();
    assert!(error.contains("no run started"), "{error}");
    assert!(error.contains("1000"), "{error}");
    let status = api.call("GET", "/status", None).await.json();
    assert_eq!(status["controller"]["status"], "idle", "{status}");
    // A start that fits runs.
    let start = json!({"scenario": "idle", "users": 3, "settings": {"user_rate": "infinity"}});
    assert_eq!(
        api.call("PATCH", "/execution/start", Some(&start))
            .await
            .status,
        200
    );
    api.until("3 running", |c| c["users"]["running"] == 3).await;
    api.shutdown().await;
}

#[actix_rt::test]
async fn reset_clears_the_status_counters() {
    let api = Api::start().await;
    let start = json!({"scenario": "idle", "users": 4, "settings": {"user_rate": "infinity"}});
    assert_eq!(
        api.call("PATCH", "/execution/start", Some(&start))
            .await
            .status,
        200
    );
    api.until("4 running", |c| c["users"]["running"] == 4).await;
    let res = api.call("PATCH", "/execution/reset", None).await;
    assert_eq!(res.status, 200);
    let status = api.call("GET", "/status", None).await.json();
    let c = &status["controller"];
    assert_eq!(c["status"], "idle");
    for counter in [
        "waiting", "running", "stopping", "ended", "crashed", "killed",
    ] {
        assert_eq!(c["users"][counter], 0, "{counter}: {status}");
    }
    assert_eq!(c["highest_user_id"], 0);
    // A second reset, and a stop with no run, are answered too.
    assert_eq!(
        api.call("PATCH", "/execution/reset", None).await.status,
        200
    );
    let res = request(
        api.addr(),
        "PATCH",
        "/execution/stop",
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(res.status, 409);
    api.shutdown().await;
}
