//! HTTP as meant: 413 past the body limit, 405 with `Allow`, 404 with a one-line error, and
//! an OpenAPI document that matches the routes the server really answers.

mod api_support;

use api_support::{request, Api};
use serde_json::Value;

#[actix_rt::test]
async fn bodies_over_the_limit_get_413() {
    let api = Api::start().await;
    let json = ("content-type", "application/json");
    // Declared too large: refused before it is read (50 MB are never sent in full).
    let huge = vec![b' '; 50 * 1024 * 1024];
    let res = request(api.addr(), "PATCH", "/execution/start", &[json], &huge).await;
    assert_eq!(res.status, 413);
    assert!(res.error().contains("bytes"));
    // Chunked, with no length: refused once the limit is passed.
    let chunk = vec![b' '; 4096];
    let mut body = Vec::new();
    for _ in 0..4 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let chunked = ("transfer-encoding", "chunked");
    let res = request(
        api.addr(),
        "PATCH",
        "/execution/reset",
        &[json, chunked],
        &body,
    )
    .await;
    assert_eq!(res.status, 413);
    // Just under the limit is read (and is not valid JSON: 400).
    let under = vec![b'x'; amoc_actors::api::BODY_LIMIT];
    let res = request(api.addr(), "PATCH", "/execution/reset", &[json], &under).await;
    assert_eq!(res.status, 400);
    api.shutdown().await;
}

#[actix_rt::test]
async fn wrong_methods_get_405_with_allow_and_unknown_routes_404() {
    let api = Api::start().await;
    for (method, path, allow) in [
        ("GET", "/execution/start", "PATCH, POST"),
        ("DELETE", "/execution/reset", "PATCH, POST"),
        ("POST", "/status", "GET"),
        ("PUT", "/scenarios/info/idle", "GET"),
    ] {
        let res = request(api.addr(), method, path, &[], b"").await;
        assert_eq!(res.status, 405, "{method} {path}");
        assert_eq!(res.header("allow"), Some(allow), "{method} {path}");
        res.error();
    }
    for path in [
        "/nowhere",
        "/execution",
        "/execution/start/more",
        "/status/local/x",
    ] {
        let res = request(api.addr(), "GET", path, &[], b"").await;
        assert_eq!(res.status, 404, "{path}");
        assert!(res.error().contains("no such route"), "{path}");
    }
    api.shutdown().await;
}

/// A path of the document with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{node}", "local").replace("{name}", "idle")
}

#[actix_rt::test]
async fn the_openapi_document_matches_the_routes() {
    let api = Api::start().await;
    let res = api.call("GET", "/openapi.json", None).await;
    assert_eq!(res.status, 200);
    let doc = res.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for want in [
        "/status",
        "/status/{node}",
        "/nodes",
        "/scenarios",
        "/scenarios/info/{name}",
        "/scenarios/defaults/{name}",
        "/metrics",
        "/execution/start",
        "/execution/add_users",
        "/execution/remove_users",
        "/execution/update_settings",
        "/execution/stop",
        "/execution/reset",
    ] {
        assert!(paths.contains_key(want), "{want} is documented");
    }
    for (path, ops) in paths {
        let url = concrete(path);
        let documented: Vec<String> = ops
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        for method in ["GET", "POST", "PATCH", "PUT", "DELETE"] {
            let body: &[u8] = if method == "GET" { b"" } else { b"{}" };
            let headers = [("content-type", "application/json")];
            let res = request(api.addr(), method, &url, &headers, body).await;
            if documented.iter().any(|m| m == method) {
                assert!(
                    res.status != 404 && res.status != 405,
                    "{method} {url} is documented but answers {}",
                    res.status
                );
            } else {
                assert_eq!(res.status, 405, "{method} {url} is not documented");
                let allow: Vec<&str> = res.header("allow").unwrap().split(", ").collect();
                let mut allow: Vec<String> = allow.iter().map(|m| m.to_string()).collect();
                let mut documented = documented.clone();
                allow.sort();
                documented.sort();
                assert_eq!(allow, documented, "{url}");
            }
            let _: Option<Value> = serde_json::from_slice(&res.body).ok();
        }
    }
    api.shutdown().await;
}
