//! The HTTP control API: drive a running amoc app from `curl`, a CI job or a dashboard.
//!
//! The routes mirror the controller one to one (Amoc's REST API has the same shape), take and
//! return JSON, and answer every refusal with a status code and `{"error": "..."}`, the
//! controller's own one-line message:
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `GET /status` | | state, scenario, user counters, settings |
//! | `GET /scenarios` | | each scenario and its parameters |
//! | `POST /execution/start` | `{"scenario", "users"?, "settings"?: {name: value}}` | `{"first", "last"}` of the users added (or `null`) |
//! | `POST /execution/add_users` | `{"count"}` | `{"first", "last"}` |
//! | `POST /execution/remove_users` | `{"count", "force"?}` | `{"removed"}` |
//! | `POST /execution/update_settings` | `{"settings": {name: value}}` | `{}` |
//! | `POST /execution/stop` | | `{"outcome": "finished" \| "terminating"}` |
//! | `POST /execution/reset` | | `{}` |
//! | `GET /metrics` | | Prometheus text: controller state and user gauges, plus the event metrics of a [`MetricsStore`] if one was given |
//!
//! Status codes: 404 for an unknown scenario or user, 409 for a call the controller's state
//! does not allow, 422 for settings, counts (beyond the app's `max_users` too) or a
//! `user_rate` throttle it refuses and for a failing `init`, 400 for a body that is not the
//! JSON above, 503 when the controller is down.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{error, web, App, HttpResponse, HttpServer};
use amoc::config::ParamDecl;
use amoc::controller::{Controller, ControllerError, StopOutcome};
use amoc::Value;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use crate::MetricsStore;

/// A scenario the API lists: its name and parameters.
pub type ScenarioInfo = (String, Vec<ParamDecl>);

/// The control API server.
///
/// ```no_run
/// # async fn demo(app: &amoc::app::App) -> std::io::Result<()> {
/// let api = amoc_actors::ControlApi::start(
///     "127.0.0.1:4000".parse().unwrap(),
///     app.controller().clone(),
///     vec![],
/// )?;
/// println!("control API on {}", api.url());
/// # api.stop().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ControlApi {
    addr: SocketAddr,
    handle: ServerHandle,
}

struct State {
    controller: Controller,
    scenarios: Vec<ScenarioInfo>,
    metrics: Option<MetricsStore>,
}

impl ControlApi {
    /// Serves the API for `controller` on `addr` (port 0 = any free port), listing
    /// `scenarios` under `GET /scenarios`. Must be called inside an actix system.
    pub fn start(
        addr: SocketAddr,
        controller: Controller,
        scenarios: Vec<ScenarioInfo>,
    ) -> io::Result<Self> {
        Self::serve(addr, controller, scenarios, None)
    }

    /// As [`start`](Self::start), with the event metrics of `metrics` (fed by a
    /// [`PrometheusMetrics`](crate::PrometheusMetrics) handler) added to `GET /metrics`.
    pub fn start_with_metrics(
        addr: SocketAddr,
        controller: Controller,
        scenarios: Vec<ScenarioInfo>,
        metrics: MetricsStore,
    ) -> io::Result<Self> {
        Self::serve(addr, controller, scenarios, Some(metrics))
    }

    fn serve(
        addr: SocketAddr,
        controller: Controller,
        scenarios: Vec<ScenarioInfo>,
        metrics: Option<MetricsStore>,
    ) -> io::Result<Self> {
        let state = web::Data::from(Arc::new(State {
            controller,
            scenarios,
            metrics,
        }));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::JsonConfig::default().error_handler(|err, _| {
                    let message = err.to_string();
                    error::InternalError::from_response(
                        err,
                        reply(StatusCode::BAD_REQUEST, &message),
                    )
                    .into()
                }))
                .route("/status", web::get().to(status))
                .route("/scenarios", web::get().to(list_scenarios))
                .route("/metrics", web::get().to(render_metrics))
                .service(
                    web::scope("/execution")
                        .route("/start", web::post().to(start))
                        .route("/add_users", web::post().to(add_users))
                        .route("/remove_users", web::post().to(remove_users))
                        .route("/update_settings", web::post().to(update_settings))
                        .route("/stop", web::post().to(stop))
                        .route("/reset", web::post().to(reset)),
                )
                .default_service(web::to(|| async {
                    reply(StatusCode::NOT_FOUND, "no such route (see GET /status)")
                }))
        })
        .workers(1);
        let (addr, handle) = spawn_server!(server, addr, "control API")?;
        Ok(Self { addr, handle })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (no trailing slash: append a route).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server, letting requests in progress finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

fn reply(code: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(code).json(json!({ "error": message }))
}

/// The status code of a refused call.
fn code_of(e: &ControllerError) -> StatusCode {
    match e {
        ControllerError::NoSuchScenario(_) | ControllerError::NoSuchUser(_) => {
            StatusCode::NOT_FOUND
        }
        ControllerError::InvalidStatus(_) => StatusCode::CONFLICT,
        ControllerError::Down => StatusCode::SERVICE_UNAVAILABLE,
        ControllerError::Config(_)
        | ControllerError::InitFailed(_)
        | ControllerError::InvalidCount
        | ControllerError::InvalidRange { .. }
        | ControllerError::TooManyUsers { .. }
        | ControllerError::Throttle(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn answer<T: Serialize>(result: Result<T, ControllerError>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(e) => reply(code_of(&e), &e.to_string()),
    }
}

/// Settings as a JSON object, in the controller's `(name, value)` form.
fn settings_of(map: Map<String, Value>) -> Vec<(String, Value)> {
    map.into_iter().collect()
}

async fn status(state: web::Data<State>) -> HttpResponse {
    let s = state.controller.status();
    let settings: Map<String, Value> = s.settings.iter().cloned().collect();
    HttpResponse::Ok().json(json!({
        "status": s.kind,
        "scenario": s.scenario,
        "highest_user_id": s.highest_user_id,
        "users": s.users,
        "started_at": s.started_at,
        "error": s.error,
        "settings": settings,
        "telemetry_dropped": s.telemetry_dropped,
    }))
}

async fn list_scenarios(state: web::Data<State>) -> HttpResponse {
    let list: Vec<_> = state
        .scenarios
        .iter()
        .map(|(name, params)| {
            let params: Vec<_> = params
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name(),
                        "description": p.description(),
                        "required": p.required(),
                        "default": p.default_value(),
                    })
                })
                .collect();
            json!({ "name": name, "params": params })
        })
        .collect();
    HttpResponse::Ok().json(list)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    scenario: String,
    #[serde(default)]
    users: u64,
    #[serde(default)]
    settings: Map<String, Value>,
}

async fn start(state: web::Data<State>, body: web::Json<StartBody>) -> HttpResponse {
    let body = body.into_inner();
    let c = &state.controller;
    if let Err(e) = c
        .start_scenario(&body.scenario, settings_of(body.settings))
        .await
    {
        return reply(code_of(&e), &e.to_string());
    }
    if body.users == 0 {
        return HttpResponse::Ok().json(Value::Null);
    }
    match c.add_users(body.users).await {
        Ok(range) => HttpResponse::Ok().json(range),
        // Say so: the run is going on, only the users are missing.
        Err(e) => reply(
            code_of(&e),
            &format!("the scenario runs, but its users were not added: {e}"),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    count: u64,
}

async fn add_users(state: web::Data<State>, body: web::Json<AddBody>) -> HttpResponse {
    answer(state.controller.add_users(body.count).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    count: u64,
    #[serde(default)]
    force: bool,
}

async fn remove_users(state: web::Data<State>, body: web::Json<RemoveBody>) -> HttpResponse {
    let removed = state.controller.remove_users(body.count, body.force).await;
    answer(removed.map(|removed| json!({ "removed": removed })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    settings: Map<String, Value>,
}

async fn update_settings(state: web::Data<State>, body: web::Json<SettingsBody>) -> HttpResponse {
    let settings = settings_of(body.into_inner().settings);
    answer(
        state
            .controller
            .update_settings(settings)
            .await
            .map(|()| json!({})),
    )
}

async fn stop(state: web::Data<State>) -> HttpResponse {
    answer(state.controller.stop_scenario().await.map(|outcome| {
        let outcome = match outcome {
            StopOutcome::Finished => "finished",
            StopOutcome::Terminating => "terminating",
        };
        json!({ "outcome": outcome })
    }))
}

async fn reset(state: web::Data<State>) -> HttpResponse {
    answer(state.controller.reset().await.map(|()| json!({})))
}

async fn render_metrics(state: web::Data<State>) -> HttpResponse {
    let s = state.controller.status();
    let u = &s.users;
    let mut out = String::new();
    out.push_str("# HELP amoc_controller_status 1 for the controller's current state.\n");
    out.push_str("# TYPE amoc_controller_status gauge\n");
    for kind in ["idle", "running", "terminating", "finished", "error"] {
        let on = u8::from(s.kind.to_string() == kind);
        let _ = writeln!(out, "amoc_controller_status{{status=\"{kind}\"}} {on}");
    }
    out.push_str("# HELP amoc_users Users of the current run now waiting, running or stopping.\n");
    out.push_str("# TYPE amoc_users gauge\n");
    for (state, n) in [
        ("waiting", u.waiting),
        ("running", u.running),
        ("stopping", u.stopping),
    ] {
        let _ = writeln!(out, "amoc_users{{state=\"{state}\"}} {n}");
    }
    out.push_str("# HELP amoc_users_ended_total Users of the current run that ended, by how.\n");
    out.push_str("# TYPE amoc_users_ended_total counter\n");
    for (how, n) in [
        ("normal", u.ended),
        ("crashed", u.crashed),
        ("killed", u.killed),
        ("cancelled", u.cancelled),
    ] {
        let _ = writeln!(out, "amoc_users_ended_total{{how=\"{how}\"}} {n}");
    }
    out.push_str("# HELP amoc_telemetry_dropped_events_total Events dropped for slow handlers.\n");
    out.push_str("# TYPE amoc_telemetry_dropped_events_total counter\n");
    let _ = writeln!(
        out,
        "amoc_telemetry_dropped_events_total {}",
        s.telemetry_dropped
    );
    if let Some(store) = &state.metrics {
        out.push_str(&store.render());
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
