//! `amoc worker --metrics ADDR`: a worker's own Prometheus endpoint (`GET /metrics`), every
//! series labelled `node="NAME"`, fed by the same telemetry handler as `amoc serve`'s. The
//! master's summary and reports do not depend on it: they get the workers' statistics over
//! NATS (see [`super::report`]).

use actix::Actor;
use actix_web::{web, HttpRequest, HttpResponse, HttpServer};
use amoc::app::App;
use amoc::telemetry::AttachOptions;
use anyhow::Context as _;
use prometheus_client::registry::Registry;

use crate::api::metrics::{controller_registry, exposition};
use crate::prometheus::exported_events;
use crate::{MetricsStore, PrometheusMetrics};

const HANDLER: &str = "amoc-worker-prometheus";

struct Exposed {
    controller: Registry,
    store: MetricsStore,
}

async fn render(exposed: web::Data<Exposed>, req: HttpRequest) -> HttpResponse {
    exposition(&req, &exposed.controller, Some(&exposed.store))
}

/// Serves node `node`'s metrics on `addr` (on the current arbiter); prints the URL. Returns
/// the server's handle, to stop it.
pub(crate) async fn serve(
    app: &App,
    node: &str,
    addr: &str,
) -> anyhow::Result<actix_web::dev::ServerHandle> {
    let store = MetricsStore::for_node(node);
    let handler = PrometheusMetrics::new(store.clone()).start();
    app.telemetry()
        .attach_many(
            HANDLER,
            exported_events(),
            handler.recipient(),
            AttachOptions::default(),
        )
        .await?;
    let exposed = web::Data::new(Exposed {
        controller: controller_registry(app.controller().clone(), Some(node)),
        store,
    });
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(exposed.clone())
            .route("/metrics", web::get().to(render))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)
    .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    let bound = server.addrs();
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    for a in bound {
        println!("metrics of {node} on http://{a}/metrics");
    }
    Ok(handle)
}
