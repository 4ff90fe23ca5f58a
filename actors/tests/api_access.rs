//! Only the operator drives the API: the bearer token, DNS rebinding and cross-site requests
//! refused, TLS. (Beyond-loopback listeners are covered by the policy's unit tests; these
//! tests only ever bind and reach 127.0.0.1.)

mod api_support;

use std::process::Stdio;

use api_support::{request, Api};
use serde_json::json;

#[actix_rt::test]
async fn a_configured_token_is_required_and_compared() {
    let api = Api::with_token("s3cret-token").await;
    let addr = api.addr();
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret-token"),
        Some("Basic s3cret-token"),
    ] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        for (method, path) in [
            ("GET", "/status"),
            ("GET", "/nowhere"),
            ("PATCH", "/execution/reset"),
        ] {
            let res = request(addr, method, path, &headers, b"").await;
            assert_eq!(res.status, 401, "{method} {path} with {auth:?}");
            assert_eq!(
                res.header("www-authenticate"),
                Some("Bearer realm=\"amoc\"")
            );
            assert!(res.error().contains("token"));
        }
    }
    let ok = api.call("GET", "/status", None).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["controller"]["status"], "idle");
    let start = json!({"scenario": "idle", "users": 2});
    assert_eq!(
        api.call("PATCH", "/execution/start", Some(&start))
            .await
            .status,
        200
    );
    api.shutdown().await;
}

#[actix_rt::test]
async fn without_a_token_loopback_is_open() {
    let api = Api::start().await;
    let res = request(api.addr(), "GET", "/status", &[], b"").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None, "no CORS");
    api.shutdown().await;
}

#[actix_rt::test]
async fn dns_rebinding_is_refused_by_the_host_check() {
    let api = Api::start().await;
    let addr = api.addr();
    let port = addr.port();
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let res = request(addr, "GET", "/status", &[("host", &host)], b"").await;
        assert_eq!(res.status, 403, "{host}");
        assert!(res.error().contains("Host"));
    }
    let local = format!("localhost:{port}");
    let res = request(addr, "GET", "/status", &[("host", &local)], b"").await;
    assert_eq!(res.status, 200);
    api.shutdown().await;
}

#[actix_rt::test]
async fn cross_site_requests_are_refused() {
    let api = Api::start().await;
    let addr = api.addr();
    let json_type = ("content-type", "application/json");
    // A foreign Origin, even with a JSON body (a page's fetch).
    let res = request(
        addr,
        "PATCH",
        "/execution/reset",
        &[json_type, ("origin", "https://evil.example")],
        b"{}",
    )
    .await;
    assert_eq!(res.status, 403);
    assert!(res.error().contains("cross-origin"));
    // What an HTML form or a simple fetch can send: no JSON content type.
    let start = br#"{"scenario": "idle", "users": 1}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let headers: Vec<(&str, &str)> =
            content_type.iter().map(|c| ("content-type", *c)).collect();
        for path in ["/execution/start", "/execution/stop", "/execution/reset"] {
            let res = request(addr, "POST", path, &headers, start).await;
            assert_eq!(res.status, 415, "{path} as {content_type:?}");
            res.error();
        }
    }
    let status = api.call("GET", "/status", None).await.json();
    assert_eq!(status["controller"]["status"], "idle", "nothing started");
    // The API's own origin is fine.
    let own = format!("http://{addr}");
    let res = request(addr, "GET", "/status", &[("origin", &own)], b"").await;
    assert_eq!(res.status, 200);
    api.shutdown().await;
}

/// Runs a command, or says why not (a tool missing on this machine).
async fn run(program: &str, args: &[&str]) -> Option<std::process::Output> {
    match tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
    {
        Ok(out) => Some(out),
        Err(e) => {
            println!("skipped: {program} is not available ({e})");
            None
        }
    }
}

#[actix_rt::test]
async fn tls_serves_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let Some(made) = run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key_s,
            "-out",
            cert_s,
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
    )
    .await
    else {
        return;
    };
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (app, builder) = api_support::app_and_builder().await;
    let server = builder
        .token(amoc_actors::ApiToken::new("tls-token").unwrap())
        .tls_files(&cert, &key)
        .unwrap()
        .bind("127.0.0.1:0")
        .unwrap();
    assert!(server.url().starts_with("https://"));
    let url = format!("{}/status", server.url());
    let Some(out) = run(
        "curl",
        &[
            "-sS",
            "--cacert",
            cert_s,
            "-H",
            "Authorization: Bearer tls-token",
            &url,
        ],
    )
    .await
    else {
        return;
    };
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["amoc_status"], "up", "{body}");
    // Plain HTTP on the TLS port gets no answer.
    let plain = format!("http://{}/status", server.addr());
    let out = run("curl", &["-sS", "-m", "5", &plain]).await.unwrap();
    assert!(!out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("amoc_status"));
    // A bad key file is a typed error.
    let (_, builder) = api_support::app_and_builder().await;
    let err = builder.tls_files(&cert, &cert).unwrap_err();
    assert!(err.to_string().contains("key"), "{err}");
    server.stop().await;
    app.shutdown().await;
}
