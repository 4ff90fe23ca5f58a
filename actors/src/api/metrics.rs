//! `GET /metrics`: the controller's state and users (read at each scrape), then the event
//! metrics of the store, as one OpenMetrics exposition.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use amoc::controller::Controller;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::handlers::State;
use crate::prometheus::{to_text_format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use crate::MetricsStore;

/// Reads the controller's status at each scrape.
#[derive(Debug)]
struct ControllerCollector(Controller);

impl Collector for ControllerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self.0.status();
        let u = &s.users;
        let mut family = encoder.encode_descriptor(
            "amoc_controller_status",
            "1 for the controller's current state",
            None,
            MetricType::Gauge,
        )?;
        for kind in [
            "idle",
            "running",
            "terminating",
            "finished",
            "error",
            "disabled",
        ] {
            let on = i64::from(s.kind.to_string() == kind);
            ConstGauge::new(on).encode(family.encode_family(&[("status", kind)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "amoc_users",
            "Users of the current run now waiting, running or stopping",
            None,
            MetricType::Gauge,
        )?;
        for (state, n) in [
            ("waiting", u.waiting),
            ("running", u.running),
            ("stopping", u.stopping),
        ] {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            ConstGauge::new(n).encode(family.encode_family(&[("state", state)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "amoc_users_ended",
            "Users of the current run that ended, by how",
            None,
            MetricType::Counter,
        )?;
        for (how, n) in [
            ("normal", u.ended),
            ("crashed", u.crashed),
            ("killed", u.killed),
            ("cancelled", u.cancelled),
        ] {
            ConstCounter::new(n).encode(family.encode_family(&[("how", how)])?)?;
        }
        let family = encoder.encode_descriptor(
            "amoc_telemetry_dropped_events",
            "Events dropped for slow handlers, all handlers",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(s.telemetry_dropped).encode(family)?;
        Ok(())
    }
}

/// A registry of the controller's metrics (labelled `node="NAME"` on a cluster node).
pub(crate) fn controller_registry(controller: Controller, node: Option<&str>) -> Registry {
    let mut registry = match node {
        Some(name) => Registry::with_labels(crate::prometheus::node_label(name)),
        None => Registry::default(),
    };
    registry.register_collector(Box::new(ControllerCollector(controller)));
    registry
}

/// `GET /metrics`.
pub(super) async fn render(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    exposition(&req, &state.controller_metrics, state.metrics.as_ref())
}

/// The controller's metrics, then the store's; OpenMetrics when the scraper asks for it
/// (Prometheus does), the classic text format else.
pub(crate) fn exposition(
    req: &HttpRequest,
    controller_metrics: &Registry,
    store: Option<&MetricsStore>,
) -> HttpResponse {
    use prometheus_client::encoding::text::{encode_eof, encode_registry};
    let mut out = String::new();
    let _ = encode_registry(&mut out, controller_metrics);
    if let Some(store) = store {
        store.render_into(&mut out);
    }
    let _ = encode_eof(&mut out);
    let openmetrics = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if openmetrics {
        HttpResponse::Ok()
            .content_type(OPENMETRICS_CONTENT_TYPE)
            .body(out)
    } else {
        HttpResponse::Ok()
            .content_type(TEXT_CONTENT_TYPE)
            .body(to_text_format(&out))
    }
}
