//! `GET /openapi.json`: an OpenAPI 3.0 description generated from the route table, so it
//! cannot name a route the server lacks (and a test asks the server about every operation).

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::routes::ROUTES;

/// What a route does, and the JSON body it takes (if it changes state).
fn describe(path: &str) -> (&'static str, Option<Value>) {
    let count = json!({"type": "integer", "minimum": 1});
    let nodes = json!({"type": "array", "items": {"type": "string"}});
    let settings = json!({"type": "object", "additionalProperties": true});
    let object = |props: Value, required: &[&str]| {
        json!({"type": "object", "properties": props, "required": required,
               "additionalProperties": false})
    };
    match path {
        "/status" => (
            "amoc_status, the controller's state and the AMOC_* environment",
            None,
        ),
        "/status/{node}" => ("the status of one node (404 unknown, 400 malformed)", None),
        "/nodes" => ("the nodes and whether they are up", None),
        "/scenarios" => ("the names of the scenarios", None),
        "/scenarios/info/{name}" => ("a scenario's doc and parameters", None),
        "/scenarios/defaults/{name}" => ("a scenario's default settings", None),
        "/metrics" => ("Prometheus metrics", None),
        "/report" => (
            "the last run's report (docs/report.schema.json; ?format=html for the page; 409 before any run)",
            None,
        ),
        "/openapi.json" => ("this document", None),
        "/throttles" => (
            "the throttles: rate, interval_ms, waiting, granted, missed (on a cluster master: the cluster rate and each node's share)",
            None,
        ),
        "/throttles/{name}" => (
            "change a throttle's rate (on a cluster master: the cluster-wide rate): 404 unknown, 422 invalid",
            Some(json!({"type": "object", "additionalProperties": false, "properties": {
                "rate": {"oneOf": [{"type": "integer", "minimum": 0},
                                   {"type": "string", "enum": ["unlimited", "infinity"]}]},
                "interval_ms": {"type": "integer", "minimum": 1},
                "concurrency": {"type": "integer", "minimum": 0}}})),
        ),
        "/execution/start" => (
            "start a run and add its users, or start nothing (422)",
            Some(object(
                json!({"scenario": {"type": "string"}, "users": {"type": "integer"},
                       "settings": settings}),
                &["scenario"],
            )),
        ),
        "/execution/add_users" => (
            "add users with the next ids: {first, last}",
            Some(object(json!({"users": count, "nodes": nodes}), &["users"])),
        ),
        "/execution/remove_users" => (
            "ask the oldest users to stop (soft unless force): {removed}",
            Some(object(
                json!({"users": count, "force": {"type": "boolean"}, "nodes": nodes}),
                &["users"],
            )),
        ),
        "/execution/update_settings" => (
            "change updatable settings, all or nothing",
            Some(object(
                json!({"settings": settings, "nodes": nodes}),
                &["settings"],
            )),
        ),
        "/execution/stop" => ("stop the run: {outcome}", Some(object(json!({}), &[]))),
        _ => (
            "end any run and return to idle",
            Some(object(json!({}), &[])),
        ),
    }
}

/// The document.
pub(crate) fn document() -> Value {
    let error = json!({"description": "refused: {\"error\": \"one line\"}"});
    let mut paths = Map::new();
    for spec in ROUTES {
        let (summary, body) = describe(spec.path);
        let params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true,
                       "schema": {"type": "string"}})
            })
            .collect();
        let mut ops = Map::new();
        for method in spec.methods {
            let mut op = json!({
                "summary": summary,
                "parameters": params,
                "responses": {"200": {"description": "done"}, "401": error, "default": error},
            });
            if let Some(schema) = &body {
                op["requestBody"] = json!({"required": false, "content":
                    {"application/json": {"schema": schema}}});
            }
            ops.insert(method.to_ascii_lowercase(), op);
        }
        paths.insert(spec.path.to_owned(), Value::Object(ops));
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "amoc-rs control API", "version": env!("CARGO_PKG_VERSION")},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    })
}

pub(super) async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described_with_its_methods() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), ROUTES.len());
        for spec in ROUTES {
            let ops = paths[spec.path].as_object().unwrap();
            let methods: Vec<String> = spec.methods.iter().map(|m| m.to_lowercase()).collect();
            assert_eq!(ops.keys().cloned().collect::<Vec<_>>().len(), methods.len());
            for m in &methods {
                assert!(ops.contains_key(m), "{} {m}", spec.path);
            }
        }
    }
}
