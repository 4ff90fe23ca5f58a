//! One HTTP/1.1 connection: TCP (and TLS for `https`), handed to hyper's bare client
//! connection, whose driver runs as a task on the current arbiter.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::target::{Scheme, Target};
use super::HttpError;

/// Size of a connection's read buffer: responses larger than this are read in several
/// passes, smaller ones cost no more memory per user than this.
const READ_BUF: usize = 4096;

/// The sending half of a connection; its driver task ends when the connection closes.
pub(crate) type Conn = SendRequest<Full<Bytes>>;

/// TLS settings of a client, or none for `http://`.
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

/// Opens a connection to the first address that accepts.
pub(crate) async fn connect(
    target: &Target,
    addrs: &[SocketAddr],
    tls: Option<&Tls>,
) -> Result<Conn, HttpError> {
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let stream = match (stream, last) {
        (Some(s), _) => s,
        (None, Some((addr, source))) => {
            return Err(HttpError::Connect {
                addr: *addr,
                source,
            })
        }
        (None, None) => return Err(HttpError::NoHost(target.host.clone())),
    };
    // Requests are small and answered one at a time: never wait for Nagle.
    let _ = stream.set_nodelay(true);
    let mut builder = http1::Builder::new();
    builder.read_buf_exact_size(Some(READ_BUF));
    match (target.scheme, tls) {
        (Scheme::Https, Some(tls)) => {
            let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
            let stream = connector
                .connect(tls.server_name.clone(), stream)
                .await
                .map_err(HttpError::Tls)?;
            let (send, conn) = builder
                .handshake(TokioIo::new(stream))
                .await
                .map_err(HttpError::Request)?;
            actix_rt::spawn(async move {
                let _ = conn.await;
            });
            Ok(send)
        }
        _ => {
            let (send, conn) = builder
                .handshake(TokioIo::new(stream))
                .await
                .map_err(HttpError::Request)?;
            actix_rt::spawn(async move {
                let _ = conn.await;
            });
            Ok(send)
        }
    }
}

/// A TLS configuration trusting Mozilla's root certificates and `extra` (DER) certificates.
pub(crate) fn tls_config(extra: &[Vec<u8>]) -> Result<Arc<rustls::ClientConfig>, HttpError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(HttpError::Certificate)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(HttpError::Certificate)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
