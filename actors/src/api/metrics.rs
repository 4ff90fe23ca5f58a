//! `GET /metrics`: the controller's gauges, then the event metrics of the store.

use std::fmt::Write as _;

use actix_web::{web, HttpResponse};

use super::handlers::State;

pub(super) async fn render(state: web::Data<State>) -> HttpResponse {
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
