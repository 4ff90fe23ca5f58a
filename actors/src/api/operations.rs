//! The operations that go to a cluster when this API is its master, to this node's
//! controller otherwise: add users, remove users, update settings. One shape for all three:
//! [`targeted`] reads the body and picks the target.

use actix_web::{web, HttpRequest, HttpResponse};
use amoc::controller::Controller;
use amoc::Value;
use serde::Deserialize;
use serde_json::{json, Map};

use super::body;
use super::handlers::{answer, check_nodes, settings_of, Refused, State};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    #[serde(alias = "count")]
    users: u64,
    nodes: Option<Vec<String>>,
}

/// Where an operation goes: the cluster this API masters, or this node's controller.
enum Target<'a> {
    Cluster(&'a amoc::cluster::Master),
    Local(&'a Controller),
}

/// A body that may name the nodes an operation is for.
trait Targeted: serde::de::DeserializeOwned {
    fn nodes(&self) -> Option<&[String]>;
}

/// The request's body and where its operation goes; names of nodes are refused on a master
/// (operations go to every up worker) and checked against this node otherwise.
async fn targeted<'a, B: Targeted>(
    state: &'a State,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(B, Target<'a>), Refused> {
    let body: B = body::json(req, payload).await?;
    let target = match &state.cluster {
        Some(master) => {
            super::nodes::no_targets(body.nodes())?;
            Target::Cluster(master)
        }
        None => {
            check_nodes(body.nodes())?;
            Target::Local(&state.controller)
        }
    };
    Ok((body, target))
}

impl Targeted for AddBody {
    fn nodes(&self) -> Option<&[String]> {
        self.nodes.as_deref()
    }
}

pub(super) async fn add_users(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Refused> {
    match targeted::<AddBody>(&state, &req, payload).await? {
        (body, Target::Cluster(m)) => super::nodes::add_users(m, body.users).await,
        (body, Target::Local(c)) => answer(c.add_users(body.users).await),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    #[serde(alias = "count")]
    users: u64,
    #[serde(default)]
    force: bool,
    nodes: Option<Vec<String>>,
}

impl Targeted for RemoveBody {
    fn nodes(&self) -> Option<&[String]> {
        self.nodes.as_deref()
    }
}

pub(super) async fn remove_users(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Refused> {
    match targeted::<RemoveBody>(&state, &req, payload).await? {
        (b, Target::Cluster(m)) => super::nodes::remove_users(m, b.users, b.force).await,
        (b, Target::Local(c)) => {
            let removed = c.remove_users(b.users, b.force).await;
            answer(removed.map(|removed| json!({ "removed": removed })))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    settings: Map<String, Value>,
    nodes: Option<Vec<String>>,
}

impl Targeted for SettingsBody {
    fn nodes(&self) -> Option<&[String]> {
        self.nodes.as_deref()
    }
}

pub(super) async fn update_settings(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Refused> {
    match targeted::<SettingsBody>(&state, &req, payload).await? {
        (body, Target::Cluster(m)) => super::nodes::update_settings(m, body.settings).await,
        (body, Target::Local(c)) => {
            let updated = c.update_settings(settings_of(body.settings)).await;
            answer(updated.map(|()| json!({})))
        }
    }
}
