//! The control API of a cluster master: runs go to the workers, results come back per node.
//!
//! Every operation answers `{"nodes": {NAME: RESULT}}`; a node's result is its value (ids
//! added, users removed, ...), `"skipped"` for a node given no users, or
//! `{"error": "down" | "timeout" | "refused" | "transport", "detail": ...}`. 200 when every
//! node succeeded, 502 otherwise (with `error` naming how many failed). 409 when the master's
//! run state forbids the operation or no worker is up; 404 for a node never admitted.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use amoc::cluster::{Master, MasterError, NodeError, NodeResults, NodeState};
use amoc::controller::StatusKind;
use amoc::Value;
use serde::Serialize;
use serde_json::{json, Map};

use super::handlers::Refused;

fn refused(e: MasterError) -> Refused {
    let code = match e {
        MasterError::InvalidState(_) | MasterError::Split(_) | MasterError::OtherMaster { .. } => {
            StatusCode::CONFLICT
        }
        MasterError::Transport(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    Refused::new(code, e.to_string())
}

/// The per-node results as JSON; whether all succeeded.
fn per_node<T: Serialize>(
    results: NodeResults<T>,
    value: impl Fn(T) -> Value,
) -> (Map<String, Value>, usize) {
    let mut failed = 0;
    let map = results
        .0
        .into_iter()
        .map(|(node, r)| {
            let v = match r {
                Ok(v) => value(v),
                Err(e) => {
                    failed += 1;
                    serde_json::to_value(e).unwrap_or(Value::Null)
                }
            };
            (node, v)
        })
        .collect();
    (map, failed)
}

fn answer(body: Value, failed: usize, nodes: usize) -> Result<HttpResponse, Refused> {
    if failed == 0 {
        return Ok(HttpResponse::Ok().json(body));
    }
    let mut body = body;
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "error".into(),
            Value::from(format!("failed on {failed} of {nodes} nodes")),
        );
    }
    Ok(HttpResponse::build(StatusCode::BAD_GATEWAY).json(body))
}

fn reply<T: Serialize>(
    results: NodeResults<T>,
    value: impl Fn(T) -> Value,
) -> Result<HttpResponse, Refused> {
    let n = results.0.len();
    let (map, failed) = per_node(results, value);
    answer(json!({ "nodes": map }), failed, n)
}

fn to_json<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Refuses `nodes` in a body: a master's operations go to every up worker.
pub(super) fn no_targets(nodes: Option<&[String]>) -> Result<(), Refused> {
    match nodes {
        None => Ok(()),
        Some(_) => Err(Refused::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"nodes\" is not supported by a cluster master: operations go to every up worker",
        )),
    }
}

pub(super) async fn start(
    master: &Master,
    scenario: &str,
    users: u64,
    settings: Map<String, Value>,
) -> Result<HttpResponse, Refused> {
    let settings: Vec<(String, Value)> = settings.into_iter().collect();
    let started = master
        .start_scenario(scenario, settings)
        .await
        .map_err(refused)?;
    let n = started.0.len();
    let (started, mut failed) = per_node(started, |()| Value::from("started"));
    let mut body = json!({ "nodes": started });
    if users > 0 {
        let added = master.add_users(users).await.map_err(refused)?;
        let (added, f) = per_node(added, block_json);
        failed += f;
        body["users"] = Value::Object(added);
    }
    answer(body, failed, n)
}

fn block_json(block: Option<amoc::cluster::IdBlock>) -> Value {
    block.map_or(Value::from("skipped"), to_json)
}

pub(super) async fn add_users(master: &Master, users: u64) -> Result<HttpResponse, Refused> {
    let added = master.add_users(users).await.map_err(refused)?;
    reply(added, block_json)
}

pub(super) async fn remove_users(
    master: &Master,
    users: u64,
    force: bool,
) -> Result<HttpResponse, Refused> {
    let removed = master.remove_users(users, force).await.map_err(refused)?;
    reply(removed, |n| json!({ "removed": n }))
}

pub(super) async fn update_settings(
    master: &Master,
    settings: Map<String, Value>,
) -> Result<HttpResponse, Refused> {
    let settings = settings.into_iter().collect();
    let updated = master.update_settings(settings).await.map_err(refused)?;
    reply(updated, |()| Value::from("updated"))
}

pub(super) async fn stop(master: &Master) -> Result<HttpResponse, Refused> {
    let stopped = master.stop_scenario().await.map_err(refused)?;
    reply(stopped, |outcome| json!({ "outcome": outcome }))
}

/// `GET /nodes`: every worker ever admitted, up or down, with its users.
pub(super) fn nodes(master: &Master) -> HttpResponse {
    let status = master.status();
    let states: BTreeMap<&String, NodeState> =
        status.nodes.iter().map(|(n, i)| (n, i.state)).collect();
    HttpResponse::Ok().json(json!({
        "master": master.instance(),
        "nodes": states,
        "details": status.nodes,
    }))
}

/// `GET /status`: the cluster's run, its users summed over nodes (a down node's live users
/// counted killed), in the shape of a single node's status; `local_controller` is the
/// master's own controller, `disabled` (it runs no users).
pub(super) fn status(master: &Master, local: StatusKind, env: Map<String, Value>) -> HttpResponse {
    let s = master.status();
    let kind = match (&s.scenario, s.running) {
        (_, true) => "running",
        (Some(_), false) => "finished",
        (None, false) => "idle",
    };
    HttpResponse::Ok().json(json!({
        "amoc_status": "up",
        "node": "master",
        "controller": {
            "status": kind,
            "scenario": s.scenario,
            "highest_user_id": s.highest_user_id,
            "users": s.users,
        },
        "local_controller": { "status": local },
        "nodes": s.nodes,
        "env": env,
    }))
}

/// `GET /status/{node}`: asks the node itself.
pub(super) async fn status_of_node(master: &Master, node: &str) -> Result<HttpResponse, Refused> {
    if !master.knows(node) {
        return Err(Refused::new(
            StatusCode::NOT_FOUND,
            format!("no node named {node:?} in the cluster"),
        ));
    }
    match master.node_status(node).await {
        Ok(s) => Ok(HttpResponse::Ok().json(json!({ "node": node, "controller": s }))),
        Err(e) => {
            let code = match e {
                NodeError::Down => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_GATEWAY,
            };
            Err(Refused::new(code, format!("node {node}: {e}")))
        }
    }
}
