//! `GET /throttles` and `PATCH /throttles/{name}`: see and change throttle rates while a run
//! goes. On one node they read and change this node's [`Throttles`]; on a cluster master the
//! cluster-wide rates, which the master leases to the workers in shares
//! ([`ThrottleMaster`]): a new rate reaches every worker's share, decreases acknowledged
//! before the increases they pay for.
//!
//! Answers: 404 an unknown throttle (on a master: one no worker has reported), 422 a
//! configuration the throttle refuses (an interval that is not whole milliseconds, a
//! concurrency limit or no limit on a cluster throttle), 409 a gradual change in progress or
//! a stopping throttle, 400 a body not of the documented shape.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use amoc::cluster::lease_messages::{ThrottleReport, ThrottleReports};
use amoc::cluster::ThrottleMaster;
use amoc::throttle::{Rate, ThrottleConfig, ThrottleError, ThrottleInfo, Throttles};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::body;
use super::handlers::{Refused, State};

/// The workers' last throttle reports (waiting, granted, missed per throttle), by node name:
/// what a cluster master's `GET /throttles` shows of each node besides its share. The master
/// (`amoc serve --cluster`) records the reports its workers publish; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ClusterThrottleUsage(Arc<Mutex<BTreeMap<String, ThrottleReports>>>);

impl ClusterThrottleUsage {
    /// No report yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a node's reports, replacing its previous ones.
    pub fn record(&self, reports: ThrottleReports) {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.insert(reports.name.clone(), reports);
    }

    /// Granted and missed of `throttle`, summed over the last reports of `nodes`; `None`
    /// when none of them reports it.
    pub(crate) fn sums<'a>(
        &self,
        throttle: &str,
        nodes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<(u64, u64)> {
        nodes
            .into_iter()
            .filter_map(|(node, instance)| self.of(node, instance, throttle))
            .fold(None, |sum, r| {
                let (g, m) = sum.unwrap_or((0, 0));
                Some((g + r.granted, m + r.missed))
            })
    }

    /// The nodes (name, instance) whose last reports name `throttle`.
    fn reporters(&self, throttle: &str) -> Vec<(String, String)> {
        let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.values()
            .filter(|r| r.throttles.contains_key(throttle))
            .map(|r| (r.name.clone(), r.instance.clone()))
            .collect()
    }

    /// The last report of `node` (instance `instance`) on `throttle`.
    fn of(&self, node: &str, instance: &str, throttle: &str) -> Option<ThrottleReport> {
        let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let r = all.get(node).filter(|r| r.instance == instance)?;
        r.throttles.get(throttle).copied()
    }
}

/// The interval of a `rate` given without `interval_ms`: a minute, as in Amoc.
const DEFAULT_INTERVAL_MS: u64 = 60_000;

/// A rate as the body gives it: a number per interval, or `"unlimited"` (`"infinity"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RateValue {
    Finite(u64),
    Word(String),
}

/// `{rate, interval_ms?}`, `{concurrency}` or `{rate: "unlimited"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    rate: Option<RateValue>,
    interval_ms: Option<u64>,
    concurrency: Option<u64>,
}

impl ChangeBody {
    fn config(self) -> Result<ThrottleConfig, Refused> {
        let bad = |m: &str| Refused::new(StatusCode::BAD_REQUEST, m);
        match (self.rate, self.concurrency, self.interval_ms) {
            (Some(RateValue::Finite(r)), None, ms) => {
                let ms = ms.unwrap_or(DEFAULT_INTERVAL_MS);
                if ms == 0 {
                    return Err(Refused::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "interval_ms must be above 0 (a limit on actions at once is {\"concurrency\": N})",
                    ));
                }
                Ok(ThrottleConfig::rate_per(r, Duration::from_millis(ms)))
            }
            (Some(RateValue::Word(w)), None, None) if w == "unlimited" || w == "infinity" => {
                Ok(ThrottleConfig::unlimited())
            }
            (Some(RateValue::Word(_)), None, _) => Err(bad(
                "rate is a whole number (per interval_ms) or \"unlimited\" (with no interval_ms)",
            )),
            (None, Some(n), None) => Ok(ThrottleConfig::concurrency(n)),
            (None, Some(_), Some(_)) => Err(bad("concurrency takes no interval_ms")),
            _ => Err(bad(
                "give {\"rate\": N, \"interval_ms\": MS}, {\"concurrency\": N} or {\"rate\": \"unlimited\"}",
            )),
        }
    }
}

fn refused(e: ThrottleError) -> Refused {
    let code = match e {
        ThrottleError::NoSuchThrottle(_) => StatusCode::NOT_FOUND,
        ThrottleError::GradualChangeInProgress
        | ThrottleError::Stopped
        | ThrottleError::Reserved(_) => StatusCode::CONFLICT,
        ThrottleError::SupervisorDown(_) => StatusCode::SERVICE_UNAVAILABLE,
        ThrottleError::NoRuntime => StatusCode::INTERNAL_SERVER_ERROR,
        // InvalidConfig, and what else the configuration asked for cannot be.
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Refused::new(code, e.to_string())
}

/// What this API changes throttles on.
enum Registry<'a> {
    Cluster(&'a ThrottleMaster, &'a ClusterThrottleUsage),
    Local(&'a Throttles),
}

fn registry(state: &State) -> Result<Registry<'_>, Refused> {
    match (&state.cluster_throttles, &state.throttles) {
        (Some((m, usage)), _) => Ok(Registry::Cluster(m, usage)),
        (None, Some(t)) => Ok(Registry::Local(t)),
        (None, None) => Err(Refused::new(
            StatusCode::NOT_FOUND,
            "this API has no throttles (built without ControlApiBuilder::throttles)",
        )),
    }
}

/// One node's throttle as JSON.
fn local_json(info: &ThrottleInfo) -> Value {
    let interval_ms = u64::try_from(info.interval.as_millis()).unwrap_or(u64::MAX);
    let (rate, kind) = match info.rate {
        Rate::Unlimited => (json!("unlimited"), "unlimited"),
        Rate::Finite(r) if info.interval.is_zero() => (json!(r), "concurrency"),
        Rate::Finite(r) => (json!(r), "rate"),
    };
    json!({
        "kind": kind,
        "rate": rate,
        "interval_ms": interval_ms,
        "paused": info.paused,
        "waiting": info.waiting,
        "in_flight": info.in_flight,
        "granted": info.granted,
        "missed": info.missed,
    })
}

/// The cluster's throttles: kind, rate (a concurrency limit's slots), interval, whether it
/// is kept home on the master (nodes ask per permit), each node's share (keys `name@instance`
/// shown as the node's name, with its instance) and last report; the reports summed.
fn cluster_json(master: &ThrottleMaster, usage: &ClusterThrottleUsage) -> Map<String, Value> {
    master
        .shares()
        .into_iter()
        .map(|(name, entry)| {
            let mut nodes: BTreeMap<String, Value> = BTreeMap::new();
            for (key, s) in &entry.shares {
                let (node, instance) = key.rsplit_once('@').unwrap_or((key, ""));
                let v = json!({"share": s.share, "epoch": s.epoch, "instance": instance});
                nodes.insert(node.to_owned(), v);
            }
            // A home throttle has no shares: its nodes are those that report it.
            for (node, instance) in usage.reporters(&name) {
                nodes
                    .entry(node)
                    .or_insert_with(|| json!({"share": 0, "instance": instance}));
            }
            let mut sums = [0u64; 4];
            for (node, v) in &mut nodes {
                let instance = v["instance"].as_str().unwrap_or_default().to_owned();
                if let Some(r) = usage.of(node, &instance, &name) {
                    let figures = [r.waiting, r.granted, r.missed, r.in_flight];
                    for (sum, n) in sums.iter_mut().zip(figures) {
                        *sum += n;
                    }
                    v["waiting"] = json!(r.waiting);
                    v["granted"] = json!(r.granted);
                    v["missed"] = json!(r.missed);
                    v["in_flight"] = json!(r.in_flight);
                }
            }
            let shared: u64 = entry.shares.values().map(|s| s.share).sum();
            let [waiting, granted, missed, in_flight] = sums;
            let kind = if entry.is_concurrency() {
                "concurrency"
            } else {
                "rate"
            };
            let v = json!({
                "kind": kind,
                "rate": entry.rate,
                "interval_ms": entry.interval_ms,
                "home": entry.home,
                "shared": shared,
                "waiting": waiting,
                "granted": granted,
                "missed": missed,
                "in_flight": in_flight,
                "nodes": nodes,
            });
            (name, v)
        })
        .collect()
}

async fn local_one(t: &Throttles, name: &str) -> Result<Value, Refused> {
    t.info(name).await.map(|i| local_json(&i)).map_err(refused)
}

/// `GET /throttles`: `{throttles: {name: {...}}}` (a cluster master's carry `nodes`).
pub(super) async fn list(state: web::Data<State>) -> Result<HttpResponse, Refused> {
    let throttles = match registry(&state)? {
        Registry::Cluster(m, usage) => cluster_json(m, usage),
        Registry::Local(t) => {
            let mut names = t.names();
            names.sort();
            let mut all = Map::new();
            for name in names {
                // A throttle stopped between `names` and `info` is simply not listed.
                if let Ok(v) = local_one(t, &name).await {
                    all.insert(name, v);
                }
            }
            all
        }
    };
    Ok(HttpResponse::Ok().json(json!({ "throttles": throttles })))
}

/// `PATCH /throttles/{name}`: changes the rate; answers the throttle as `GET` shows it.
pub(super) async fn change(
    state: web::Data<State>,
    name: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Refused> {
    let body: ChangeBody = body::json(&req, payload).await?;
    let config = body.config()?;
    let shown = match registry(&state)? {
        Registry::Cluster(m, usage) => {
            m.change_rate(&name, config).await.map_err(refused)?;
            cluster_json(m, usage)
                .remove(name.as_str())
                .unwrap_or(Value::Null)
        }
        Registry::Local(t) => {
            t.change_rate(&name, config).await.map_err(refused)?;
            local_one(t, &name).await?
        }
    };
    Ok(HttpResponse::Ok().json(json!({ "name": name.as_str(), "throttle": shown })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Result<ThrottleConfig, u16> {
        let b: ChangeBody = serde_json::from_value(v).map_err(|_| 400u16)?;
        b.config()
            .map_err(|r| actix_web::ResponseError::status_code(&r).as_u16())
    }

    #[test]
    fn bodies_name_one_kind_of_limit() {
        let ms = Duration::from_millis;
        assert_eq!(
            body(json!({"rate": 10, "interval_ms": 1000})),
            Ok(ThrottleConfig::rate_per(10, ms(1000)))
        );
        assert_eq!(body(json!({"rate": 10})), Ok(ThrottleConfig::rate(10)));
        assert_eq!(
            body(json!({"concurrency": 4})),
            Ok(ThrottleConfig::concurrency(4))
        );
        assert_eq!(
            body(json!({"rate": "unlimited"})),
            Ok(ThrottleConfig::unlimited())
        );
        assert_eq!(body(json!({"rate": 10, "interval_ms": 0})), Err(422));
        assert_eq!(body(json!({"rate": 10, "concurrency": 2})), Err(400));
        assert_eq!(body(json!({"rate": "fast"})), Err(400));
        assert_eq!(body(json!({"rate": -1})), Err(400));
        assert_eq!(body(json!({})), Err(400));
        assert_eq!(body(json!({"concurrency": 2, "interval_ms": 5})), Err(400));
        assert_eq!(body(json!({"rate": 1, "burst": 5})), Err(400));
    }

    #[test]
    fn throttle_errors_have_their_status_codes() {
        let code = |e| actix_web::ResponseError::status_code(&refused(e)).as_u16();
        assert_eq!(code(ThrottleError::NoSuchThrottle("x".into())), 404);
        assert_eq!(code(ThrottleError::InvalidConfig("x".into())), 422);
        assert_eq!(code(ThrottleError::GradualChangeInProgress), 409);
    }
}
