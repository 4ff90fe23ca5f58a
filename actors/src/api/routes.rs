//! The route table: one list that registers the routes, answers 405 with `Allow`, and is
//! checked against the OpenAPI document.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, Route};

use super::handlers::{self as h, reply};
use super::{last_report, metrics, openapi, operations, throttles};

/// A route: its path (actix syntax) and the methods it answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteSpec {
    pub(crate) path: &'static str,
    pub(crate) methods: &'static [&'static str],
}

const GET: &[&str] = &["GET"];
/// Arsenal's verb first; `POST` is kept as an alias.
const CHANGE: &[&str] = &["PATCH", "POST"];

/// Every route of the API.
pub(crate) const ROUTES: &[RouteSpec] = &[
    route("/status", GET),
    route("/status/{node}", GET),
    route("/nodes", GET),
    route("/scenarios", GET),
    route("/scenarios/info/{name}", GET),
    route("/scenarios/defaults/{name}", GET),
    route("/metrics", GET),
    route("/report", GET),
    route("/throttles", GET),
    route("/throttles/{name}", CHANGE),
    route("/openapi.json", GET),
    route("/execution/start", CHANGE),
    route("/execution/add_users", CHANGE),
    route("/execution/remove_users", CHANGE),
    route("/execution/update_settings", CHANGE),
    route("/execution/stop", CHANGE),
    route("/execution/reset", CHANGE),
];

const fn route(path: &'static str, methods: &'static [&'static str]) -> RouteSpec {
    RouteSpec { path, methods }
}

/// The actix route of each method of `spec`, to a handler chosen by path.
fn register(cfg: &mut web::ServiceConfig, spec: RouteSpec) {
    let handler = |method: &str| -> Route {
        let r = match method {
            "PATCH" => web::patch(),
            "POST" => web::post(),
            _ => web::get(),
        };
        match spec.path {
            "/status" => r.to(h::status),
            "/status/{node}" => r.to(h::status_of_node),
            "/nodes" => r.to(h::nodes),
            "/scenarios" => r.to(h::scenarios),
            "/scenarios/info/{name}" => r.to(h::scenario_info),
            "/scenarios/defaults/{name}" => r.to(h::scenario_defaults),
            "/metrics" => r.to(metrics::render),
            "/report" => r.to(last_report::report),
            "/throttles" => r.to(throttles::list),
            "/throttles/{name}" => r.to(throttles::change),
            "/openapi.json" => r.to(openapi::serve),
            "/execution/start" => r.to(h::start),
            "/execution/add_users" => r.to(operations::add_users),
            "/execution/remove_users" => r.to(operations::remove_users),
            "/execution/update_settings" => r.to(operations::update_settings),
            "/execution/stop" => r.to(h::stop),
            _ => r.to(h::reset),
        }
    };
    let allow = spec.methods.join(", ");
    let mut resource = web::resource(spec.path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut res = reply(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("method not allowed (allowed: {allow})"),
            );
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, value);
            }
            res
        }
    }));
    for method in spec.methods {
        resource = resource.route(handler(method));
    }
    cfg.service(resource);
}

/// Registers every route of [`ROUTES`].
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    for spec in ROUTES {
        register(cfg, *spec);
    }
}

/// The answer for a path no route has.
pub(super) async fn not_found() -> HttpResponse {
    reply(
        StatusCode::NOT_FOUND,
        "no such route (see GET /openapi.json)",
    )
}
