//! The HTTP control API driven over loopback, as `curl` or a CI job would.

use std::time::Duration;

use actix::Actor;
use amoc::app::App;
use amoc::config::{MapEnv, Param};
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::telemetry::{AttachOptions, EventPattern};
use amoc::users::UserContext;
use amoc_actors::{ControlApi, MetricsStore, PrometheusMetrics};
use serde_json::{json, Value};

const PAUSE_MS: Param<u64> = Param::new("pause_ms");

/// Users idle until asked to stop; `pause_ms` is updatable.
struct Idle;

impl Scenario for Idle {
    const NAME: &'static str = "idle";
    type State = ();
    type Message = ();

    fn params(&self) -> Vec<amoc::config::ParamDecl> {
        vec![PAUSE_MS
            .spec("an updatable pause")
            .default(10)
            .updatable()
            .into()]
    }

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        user.stopping().await;
        Ok(())
    }
}

struct Api {
    app: App,
    server: ControlApi,
    client: awc::Client,
}

impl Api {
    async fn start() -> Self {
        Self::start_with(None).await
    }

    async fn start_with(metrics: Option<MetricsStore>) -> Self {
        let app = App::builder()
            .scenario(Idle)
            .shards(2)
            .removal_grace(Duration::from_millis(200))
            .env(MapEnv::new())
            .start()
            .await
            .unwrap();
        let scenarios = vec![("idle".to_owned(), Idle.params())];
        let addr = "127.0.0.1:0".parse().unwrap();
        let controller = app.controller().clone();
        let server = match metrics {
            None => ControlApi::start(addr, controller, scenarios),
            Some(store) => {
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
                ControlApi::start_with_metrics(addr, controller, scenarios, store)
            }
        }
        .unwrap();
        Self {
            app,
            server,
            client: awc::Client::default(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (code, text) = self.text(path).await;
        (code, serde_json::from_str(&text).unwrap())
    }

    async fn text(&self, path: &str) -> (u16, String) {
        let mut res = self
            .client
            .get(format!("{}{path}", self.server.url()))
            .send()
            .await
            .unwrap();
        let body = res.body().await.unwrap();
        (
            res.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut res = self
            .client
            .post(format!("{}{path}", self.server.url()))
            .send_json(&body)
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    async fn post_raw(&self, path: &str, body: &'static str) -> (u16, Value) {
        let mut res = self
            .client
            .post(format!("{}{path}", self.server.url()))
            .insert_header(("content-type", "application/json"))
            .send_body(body)
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    /// Polls `GET /status` until `f` holds (at most 10 s).
    async fn until(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..1000 {
            let (_, status) = self.get("/status").await;
            if f(&status) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}: not reached within 10 s");
    }

    async fn shutdown(self) {
        self.server.stop().await;
        self.app.shutdown().await;
    }
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[actix_rt::test]
async fn a_whole_run_through_the_api() {
    let api = Api::start().await;
    let (code, status) = api.get("/status").await;
    assert_eq!((code, status["status"].as_str()), (200, Some("idle")));

    let (code, scenarios) = api.get("/scenarios").await;
    assert_eq!(code, 200);
    assert_eq!(scenarios[0]["name"], "idle");
    assert_eq!(scenarios[0]["params"][0]["name"], "pause_ms");
    assert_eq!(scenarios[0]["params"][0]["default"], 10);

    let start = json!({"scenario": "idle", "users": 10, "settings": {"user_rate": "infinity"}});
    let (code, body) = api.post("/execution/start", start).await;
    assert_eq!((code, body), (200, json!({"first": 1, "last": 10})));
    api.until("10 running", |s| s["users"]["running"] == 10)
        .await;

    let (code, body) = api.post("/execution/add_users", json!({"count": 5})).await;
    assert_eq!((code, body), (200, json!({"first": 11, "last": 15})));
    let (code, body) = api
        .post(
            "/execution/remove_users",
            json!({"count": 3, "force": true}),
        )
        .await;
    assert_eq!((code, body), (200, json!({"removed": 3})));
    api.until("12 running", |s| s["users"]["running"] == 12)
        .await;

    let update = json!({"settings": {"pause_ms": 25}});
    let (code, _) = api.post("/execution/update_settings", update).await;
    assert_eq!(code, 200);
    let (_, status) = api.get("/status").await;
    assert_eq!(status["settings"]["pause_ms"], 25);
    assert_eq!(status["scenario"], "idle");
    assert_eq!(status["highest_user_id"], 15);

    let (code, body) = api.post("/execution/stop", json!(null)).await;
    assert_eq!(code, 200);
    assert!(
        ["finished", "terminating"].contains(&body["outcome"].as_str().unwrap()),
        "{body}"
    );
    let status = api.until("finished", |s| s["status"] == "finished").await;
    assert_eq!(status["users"]["ended"], 15);
    api.shutdown().await;
}

#[actix_rt::test]
async fn refusals_have_status_codes_and_one_line_errors() {
    let api = Api::start().await;
    // Wrong state: nothing runs yet.
    let (code, body) = api.post("/execution/add_users", json!({"count": 1})).await;
    assert_eq!(code, 409, "{body}");
    assert!(error_of(&body).contains("idle"), "{body}");
    // Unknown scenario.
    let (code, body) = api
        .post("/execution/start", json!({"scenario": "nope"}))
        .await;
    assert_eq!(code, 404, "{body}");
    assert!(error_of(&body).contains("nope"), "{body}");
    // A setting the scenario refuses.
    let bad = json!({"scenario": "idle", "settings": {"pause_ms": "soon"}});
    let (code, body) = api.post("/execution/start", bad).await;
    assert_eq!(code, 422, "{body}");
    assert!(error_of(&body).contains("pause_ms"), "{body}");
    // Bodies that are not the documented JSON.
    let (code, body) = api.post_raw("/execution/add_users", "{\"count\": ").await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = api
        .post("/execution/add_users", json!({"count": 1, "extra": true}))
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(error_of(&body).contains("extra"), "{body}");
    // An unknown route.
    let (code, body) = api.get("/nowhere").await;
    assert_eq!(code, 404, "{body}");
    // A zero count is refused by the controller while running.
    let start = json!({"scenario": "idle", "settings": {"user_rate": "infinity"}});
    let (code, body) = api.post("/execution/start", start).await;
    assert_eq!((code, body), (200, Value::Null));
    let (code, body) = api.post("/execution/add_users", json!({"count": 0})).await;
    assert_eq!(code, 422, "{body}");
    api.shutdown().await;
}

#[actix_rt::test]
async fn metrics_show_the_controller_users_and_events() {
    let api = Api::start_with(Some(MetricsStore::new())).await;
    let (code, text) = api.text("/metrics").await;
    assert_eq!(code, 200);
    assert!(
        text.contains("amoc_controller_status{status=\"idle\"} 1\n"),
        "{text}"
    );
    let start = json!({"scenario": "idle", "users": 7, "settings": {"user_rate": "infinity"}});
    assert_eq!(api.post("/execution/start", start).await.0, 200);
    api.until("7 running", |s| s["users"]["running"] == 7).await;
    // Events reach the handler asynchronously: poll the scrape.
    let mut text = String::new();
    for _ in 0..1000 {
        text = api.text("/metrics").await.1;
        if text.contains("amoc_events_total{event=\"amoc.scenario.start.start\"} 7\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
    assert!(
        text.contains("amoc_events_total{event=\"amoc.controller.users\"} 1\n"),
        "{text}"
    );
    api.shutdown().await;
}

#[actix_rt::test]
async fn metrics_without_a_store_still_show_the_controller() {
    let api = Api::start().await;
    let (code, text) = api.text("/metrics").await;
    assert_eq!(code, 200);
    assert!(text.contains("amoc_users{state=\"running\"} 0\n"), "{text}");
    assert!(!text.contains("amoc_events_total"), "{text}");
    api.shutdown().await;
}
