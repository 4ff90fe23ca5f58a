//! `GET /report`: the last run's report, kept by the API's owner (`amoc serve`) in a
//! [`LastReport`](crate::report::LastReport).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::handlers::{reply, State};

/// `?format=json|html` of `GET /report`.
#[derive(Debug, Deserialize)]
pub(super) struct ReportQuery {
    format: Option<String>,
}

/// `GET /report`: the last run's report (the current run's so far, refreshed every few
/// seconds), JSON by default, the HTML page with `?format=html`; 409 before any run (or when
/// the API's owner keeps no reports).
pub(super) async fn report(
    state: web::Data<State>,
    query: web::Query<ReportQuery>,
) -> HttpResponse {
    let Some(reports) = &state.reports else {
        return reply(StatusCode::CONFLICT, "this server keeps no run reports");
    };
    let Some(report) = reports.get() else {
        return reply(StatusCode::CONFLICT, "no run has a report yet");
    };
    match query.format.as_deref() {
        None | Some("json") => HttpResponse::Ok().json(&report),
        Some("html") => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(crate::report::to_html(&report)),
        Some(other) => reply(
            StatusCode::BAD_REQUEST,
            &format!("unknown report format {other:?}: use json or html"),
        ),
    }
}
