//! HTTP user helper: a pooled client per arbiter, with every request's latency and status
//! reported as `[amoc_actors, http, request]`.
//!
//! The event: measurements `duration` (ns) and `status` (0 when no response came); metadata
//! `method`, `url`, and `error` (text, only when the request failed).

use std::cell::OnceCell;
use std::time::Duration;

use amoc::telemetry::{EventName, Telemetry};
use amoc::{event_name, measurements, metadata};
use awc::Client;

/// `[amoc_actors, http, request]`: one per request made through [`get`].
pub static HTTP_REQUEST: EventName = event_name!(amoc_actors, http, request);

/// The request timeout of the pooled clients.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    // awc clients are not `Send`: one per arbiter thread, sharing its connection pool.
    static CLIENT: OnceCell<Client> = const { OnceCell::new() };
}

fn client() -> Client {
    CLIENT.with(|c| {
        c.get_or_init(|| {
            let connector = awc::Connector::new()
                .limit(0)
                .timeout(Duration::from_secs(5));
            Client::builder()
                .connector(connector)
                .timeout(REQUEST_TIMEOUT)
                .disable_redirects()
                .finish()
        })
        .clone()
    })
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
#[error("GET {url}: {reason}")]
pub struct HttpError {
    /// The URL.
    pub url: String,
    /// What went wrong.
    pub reason: String,
}

/// `GET url` with this arbiter's pooled client; reads the whole body. Returns the status
/// code. Reports the request to `telemetry`.
pub async fn get(telemetry: &Telemetry, url: &str) -> Result<u16, HttpError> {
    let start = tokio::time::Instant::now();
    let result = async {
        let mut resp = client().get(url).send().await.map_err(|e| e.to_string())?;
        resp.body()
            .limit(16 * 1024 * 1024)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<u16, String>(resp.status().as_u16())
    }
    .await;
    let duration = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    telemetry.execute_with(&HTTP_REQUEST, || {
        let status = *result.as_ref().unwrap_or(&0);
        let mut md = metadata! { "method" => "GET", "url" => url };
        if let Err(e) = &result {
            md.insert("error", e.clone());
        }
        (
            measurements! { "duration" => duration, "status" => u64::from(status) },
            md,
        )
    });
    result.map_err(|reason| HttpError {
        url: url.to_owned(),
        reason,
    })
}
