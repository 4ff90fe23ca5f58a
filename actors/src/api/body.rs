//! The guard in front of every route (the access policy, early 413) and the reading of JSON
//! bodies (415 unless JSON, 413 past the limit, 400 unless the documented shape).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use serde::de::DeserializeOwned;

use super::access::{is_json, RequestHead};
use super::handlers::{reply, Refused, State};
use super::BODY_LIMIT;

/// Applies the access policy, and refuses a declared body past [`BODY_LIMIT`] before reading
/// it.
pub(super) async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let refused = {
        let h = req.headers();
        let text = |name| h.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        // HTTP/2 carries the host as the URI's authority.
        let authority = req.uri().authority().map(|a| a.as_str());
        let head = RequestHead {
            host: text(header::HOST).or(authority),
            origin: text(header::ORIGIN),
            authorization: text(header::AUTHORIZATION),
        };
        let state = req.app_data::<web::Data<State>>();
        match state.map(|s| s.policy.check(&head)) {
            Some(Ok(())) => None,
            Some(Err(refusal)) => {
                let code = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
                let mut res = reply(code, &refusal.to_string());
                if code == StatusCode::UNAUTHORIZED {
                    res.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"amoc\""),
                    );
                }
                Some(res)
            }
            None => Some(reply(StatusCode::INTERNAL_SERVER_ERROR, "no API state")),
        }
    };
    let refused = refused.or_else(|| {
        let length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        length
            .filter(|n| *n > BODY_LIMIT as u64)
            .map(|_| too_large())
    });
    match refused {
        Some(res) => Ok(req.into_response(res).map_into_right_body()),
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

fn too_large_message() -> String {
    format!("the body is over {BODY_LIMIT} bytes")
}

fn too_large() -> HttpResponse {
    reply(StatusCode::PAYLOAD_TOO_LARGE, &too_large_message())
}

/// Reads a JSON body of type `T`; an empty body reads as `{}`.
pub(super) async fn json<T: DeserializeOwned>(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<T, Refused> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !is_json(content_type) {
        return Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "this route takes an application/json body",
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Refused::new(StatusCode::BAD_REQUEST, format!("body: {e}")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(Refused::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                too_large_message(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    serde_json::from_slice(text).map_err(|e| {
        let message = format!("invalid JSON body: {e}").replace('\n', " ");
        Refused::new(StatusCode::BAD_REQUEST, message)
    })
}
