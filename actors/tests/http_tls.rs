//! HTTPS against the embedded target serving a self-signed certificate made at test time:
//! trusted through the client's explicit option, refused without it.

use std::sync::Arc;

use amoc::metrics::RunStats;
use amoc::telemetry::Telemetry;
use amoc_actors::http::{HttpClient, HttpError};
use amoc_actors::TestTarget;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A target serving HTTPS with a new self-signed certificate for 127.0.0.1; and that
/// certificate (DER).
fn tls_target() -> (TestTarget, Vec<u8>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let der = cert.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(der.clone())], key)
        .unwrap();
    (TestTarget::start_tls(0, 1, config).unwrap(), der)
}

#[actix_rt::test]
async fn https_works_with_a_trusted_self_signed_certificate() {
    let (target, der) = tls_target();
    assert!(target.url().starts_with("https://127.0.0.1:"));
    let stats = RunStats::new();
    let client = HttpClient::builder(target.url())
        .trust_certificate(der)
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap();
    let mut http = client.user();
    for _ in 0..3 {
        let r = http
            .get("home", "/")
            .expect_status(200)
            .send()
            .await
            .unwrap();
        assert_eq!(&r.body[..], b"ok");
    }
    assert_eq!(
        stats.snapshot().get("home").map(|s| s.classes.success),
        Some(3)
    );
    assert_eq!(target.requests(), 3);
    target.stop().await;
}

#[actix_rt::test]
async fn an_untrusted_certificate_is_refused() {
    let (target, _) = tls_target();
    let stats = RunStats::new();
    let client = HttpClient::builder(target.url())
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap();
    let r = client.user().get("home", "/").send().await;
    assert!(matches!(r, Err(HttpError::Tls(_))), "{r:?}");
    assert_eq!(
        stats.snapshot().get("home").map(|s| s.classes.failed),
        Some(1)
    );
    assert_eq!(target.requests(), 0);
    target.stop().await;
}
