//! The route handlers: the controller's calls as JSON.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use amoc::config::{ParamDecl, UpdateKind, VerificationKind};
use amoc::controller::{Controller, ControllerError, StatusKind, StopOutcome};
use amoc::users::UserCounts;
use amoc::Value;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};
use tokio::sync::{mpsc, oneshot};

use super::access::AccessPolicy;
use super::{body, RunEvent, ScenarioInfo, LOCAL_NODE};
use crate::MetricsStore;

/// What every handler shares.
pub(super) struct State {
    pub(super) controller: Controller,
    pub(super) scenarios: Vec<ScenarioInfo>,
    pub(super) metrics: Option<MetricsStore>,
    /// The controller's own metrics, read at each scrape.
    pub(super) controller_metrics: prometheus_client::registry::Registry,
    pub(super) policy: AccessPolicy,
    pub(super) run_events: Option<mpsc::UnboundedSender<RunEvent>>,
    pub(super) env: Option<Vec<(String, String)>>,
    /// The last run's report, for `GET /report`.
    pub(super) reports: Option<crate::report::LastReport>,
    /// The cluster this API drives as master, if any.
    pub(super) cluster: Option<amoc::cluster::Master>,
    /// This node's throttles, for `/throttles`.
    pub(super) throttles: Option<amoc::throttle::Throttles>,
    /// The cluster-wide throttles this API's master leases, for `/throttles`.
    pub(super) cluster_throttles: Option<(
        amoc::cluster::ThrottleMaster,
        super::throttles::ClusterThrottleUsage,
    )>,
    /// Held by start, stop and reset: run changes happen (and are told) one at a time.
    pub(super) lifecycle: tokio::sync::Mutex<()>,
}

impl State {
    fn tell(&self, event: RunEvent) {
        if let Some(events) = &self.run_events {
            let _ = events.send(event);
        }
    }
}

/// `{"error": message}` with `code`.
pub(super) fn reply(code: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(code).json(json!({ "error": message }))
}

/// A refused request: its status code and one-line reason, answered as `{"error": ...}`.
#[derive(Debug)]
pub(super) struct Refused {
    code: StatusCode,
    message: String,
}

impl Refused {
    pub(super) fn new(code: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl actix_web::ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        self.code
    }

    fn error_response(&self) -> HttpResponse {
        reply(self.code, &self.message)
    }
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

pub(super) fn answer<T: Serialize>(
    result: Result<T, ControllerError>,
) -> Result<HttpResponse, Refused> {
    match result {
        Ok(body) => Ok(HttpResponse::Ok().json(body)),
        Err(e) => Err(Refused::new(code_of(&e), e.to_string())),
    }
}

pub(super) fn settings_of(map: Map<String, Value>) -> Vec<(String, Value)> {
    map.into_iter().collect()
}

/// Whether an environment variable's value must not be shown.
fn is_secret(name: &str) -> bool {
    ["TOKEN", "SECRET", "PASSWORD", "KEY"]
        .iter()
        .any(|s| name.contains(s))
}

pub(super) fn env_vars(state: &State) -> Map<String, Value> {
    let vars: Vec<(String, String)> = match &state.env {
        Some(vars) => vars.clone(),
        // Not `vars()`: it panics on a variable that is not UTF-8.
        None => std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
    };
    vars.into_iter()
        .filter(|(k, _)| k.starts_with("AMOC_"))
        .map(|(k, v)| {
            let v = if is_secret(&k) { "(hidden)".into() } else { v };
            (k, Value::from(v))
        })
        .collect()
}

pub(super) async fn status(state: web::Data<State>) -> HttpResponse {
    if let Some(master) = &state.cluster {
        let local = state.controller.status().kind;
        return super::nodes::status(master, local, env_vars(&state));
    }
    let s = state.controller.status();
    // No run, no counters: after a reset the last run's users are not this state's.
    let users = if s.kind == StatusKind::Idle {
        UserCounts::default()
    } else {
        s.users
    };
    let settings: Map<String, Value> = s.settings.iter().cloned().collect();
    HttpResponse::Ok().json(json!({
        "amoc_status": "up",
        "node": LOCAL_NODE,
        "controller": {
            "status": s.kind,
            "scenario": s.scenario,
            "highest_user_id": s.highest_user_id,
            "users": users,
            "started_at": s.started_at,
            "error": s.error,
            "settings": settings,
            "telemetry_dropped": s.telemetry_dropped,
        },
        "env": env_vars(&state),
    }))
}

/// Whether a node name is well formed (`name` or `name@host`, Erlang style).
fn valid_node(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._-".contains(&b))
}

pub(super) async fn status_of_node(
    state: web::Data<State>,
    node: web::Path<String>,
) -> Result<HttpResponse, Refused> {
    if let Some(master) = &state.cluster {
        return super::nodes::status_of_node(master, &node).await;
    }
    check_nodes(Some(&[node.into_inner()]))?;
    Ok(status(state).await)
}

/// Refuses names of nodes other than this one (400 malformed, 404 unknown).
pub(super) fn check_nodes(nodes: Option<&[String]>) -> Result<(), Refused> {
    for node in nodes.unwrap_or_default() {
        if !valid_node(node) {
            return Err(Refused::new(StatusCode::BAD_REQUEST, "malformed node name"));
        }
        if node != LOCAL_NODE {
            return Err(Refused::new(
                StatusCode::NOT_FOUND,
                format!("no node named {node:?} (this one is {LOCAL_NODE:?})"),
            ));
        }
    }
    Ok(())
}

pub(super) async fn nodes(state: web::Data<State>) -> HttpResponse {
    if let Some(master) = &state.cluster {
        return super::nodes::nodes(master);
    }
    HttpResponse::Ok().json(json!({ "nodes": { LOCAL_NODE: "up" } }))
}

pub(super) async fn scenarios(state: web::Data<State>) -> HttpResponse {
    let names: Vec<_> = state.scenarios.iter().map(|s| &s.name).collect();
    HttpResponse::Ok().json(json!({ "scenarios": names }))
}

fn find<'a>(state: &'a State, name: &str) -> Result<&'a ScenarioInfo, Refused> {
    state
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Refused::new(StatusCode::NOT_FOUND, format!("no scenario named {name:?}")))
}

/// The scenario's parameters, then the controller's (`user_rate`), with their owners.
fn parameters(info: &ScenarioInfo) -> Vec<(&'static str, ParamDecl)> {
    let controller = ("controller", amoc::user_rate::declaration(|_, _| {}));
    info.params
        .iter()
        .map(|p| ("scenario", p.clone()))
        .chain(std::iter::once(controller))
        .collect()
}

pub(super) async fn scenario_info(
    state: web::Data<State>,
    name: web::Path<String>,
) -> Result<HttpResponse, Refused> {
    let info = find(&state, &name)?;
    let params: Map<String, Value> = parameters(info)
        .into_iter()
        .map(|(owner, p)| {
            let owner = if owner == "scenario" {
                &info.name
            } else {
                owner
            };
            let verification = match p.verification_kind() {
                VerificationKind::Any => json!("any"),
                VerificationKind::OneOf(values) => json!({ "one_of": values }),
                VerificationKind::Custom => json!("custom"),
            };
            let update = match p.update_kind() {
                UpdateKind::ReadOnly => "read_only",
                UpdateKind::Accept => "accept",
                UpdateKind::Callback => "callback",
            };
            let entry = json!({
                "owner": owner,
                "description": p.description(),
                "required": p.required(),
                "default_value": p.default_value(),
                "verification": verification,
                "update": update,
            });
            (p.name().to_owned(), entry)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "doc": info.doc, "parameters": params })))
}

pub(super) async fn scenario_defaults(
    state: web::Data<State>,
    name: web::Path<String>,
) -> Result<HttpResponse, Refused> {
    let info = find(&state, &name)?;
    let settings: Map<String, Value> = parameters(info)
        .into_iter()
        .filter_map(|(_, p)| Some((p.name().to_owned(), p.default_value()?)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "settings": settings })))
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

/// Starts a run and adds its users, or starts nothing: when the users cannot be added the
/// controller is reset and the answer is the add's refusal.
pub(super) async fn start(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Refused> {
    let body: StartBody = body::json(&req, payload).await?;
    let _one_at_a_time = state.lifecycle.lock().await;
    if let Some(master) = &state.cluster {
        return super::nodes::start(master, &body.scenario, body.users, body.settings).await;
    }
    let c = &state.controller;
    let kind = c.status().kind;
    if matches!(kind, StatusKind::Running | StatusKind::Terminating) {
        return answer::<()>(Err(ControllerError::InvalidStatus(kind)));
    }
    if let Some(events) = &state.run_events {
        let (ready, go) = oneshot::channel();
        let scenario = body.scenario.clone();
        if events.send(RunEvent::Starting { scenario, ready }).is_ok() {
            let _ = go.await;
        }
    }
    if let Err(e) = c
        .start_scenario(&body.scenario, settings_of(body.settings))
        .await
    {
        state.tell(RunEvent::Refused);
        return answer::<()>(Err(e));
    }
    if body.users == 0 {
        state.tell(RunEvent::Started);
        return Ok(HttpResponse::Ok().json(Value::Null));
    }
    match c.add_users(body.users).await {
        Ok(range) => {
            state.tell(RunEvent::Started);
            Ok(HttpResponse::Ok().json(range))
        }
        Err(e) => {
            let _ = c.reset().await;
            state.tell(RunEvent::Refused);
            let message = format!("start refused, no run started: {e}");
            Err(Refused::new(code_of(&e), message))
        }
    }
}

/// `{}` (or an empty body): the shape of stop and reset.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

pub(super) async fn stop(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Refused> {
    body::json::<NoFields>(&req, payload).await?;
    let _one_at_a_time = state.lifecycle.lock().await;
    if let Some(master) = &state.cluster {
        return super::nodes::stop(master).await;
    }
    let stopped = state.controller.stop_scenario().await;
    if stopped.is_ok() {
        state.tell(RunEvent::Stopping);
    }
    answer(stopped.map(|outcome| {
        let outcome = match outcome {
            StopOutcome::Finished => "finished",
            StopOutcome::Terminating => "terminating",
        };
        json!({ "outcome": outcome })
    }))
}

pub(super) async fn reset(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Refused> {
    body::json::<NoFields>(&req, payload).await?;
    let _one_at_a_time = state.lifecycle.lock().await;
    // A disabled controller (a cluster master's) has nothing to reset.
    if state.controller.status().kind == StatusKind::Disabled {
        return answer::<()>(Err(ControllerError::InvalidStatus(StatusKind::Disabled)));
    }
    let reset = state.controller.reset().await;
    if reset.is_ok() {
        state.tell(RunEvent::Reset);
    }
    answer(reset.map(|()| json!({})))
}
