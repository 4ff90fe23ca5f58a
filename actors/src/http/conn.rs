//! One HTTP/1.1 connection, driven inline by the user's task: no driver task, no channel.
//!
//! A request is encoded into the user's buffer and written; the response is read back into the
//! same buffer, which starts at [`INITIAL_BUF`] bytes, grows only for a head (or chunked
//! framing) that does not fit, and shrinks back after a response that made it large. The
//! response's head and a body that came with it are split off the buffer without a copy (the
//! buffer takes its memory back when the response is dropped); a body with a
//! `Content-Length` that did not arrive with its head is read straight into a buffer of its
//! own size, so the connection's buffer stays small whatever the bodies.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::chunked::ChunkedDecoder;
use super::target::{Scheme, Target};
use super::wire::{self, Framing};
use super::{HttpError, Response};

/// A connection's buffer to begin with: enough for a typical request and response head.
pub(crate) const INITIAL_BUF: usize = 512;

/// A buffer grown beyond this by one response is given back after it.
const SHRINK_ABOVE: usize = 16 * 1024;

/// A body read into its own buffer reserves at most this much ahead of its bytes.
const MAX_PREALLOC: u64 = 1 << 20;

/// TLS settings of a client, or none for `http://`.
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

/// A TCP or TLS stream to the target.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A complete response and whether the connection can carry the next request.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) response: Response,
    pub(crate) keep_alive: bool,
}

/// Opens a connection to the first address that accepts (and the TLS session for `https`).
pub(crate) async fn connect(
    target: &Target,
    addrs: &[SocketAddr],
    tls: Option<&Tls>,
) -> Result<Stream, HttpError> {
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
    match (target.scheme, tls) {
        (Scheme::Https, Some(tls)) => {
            let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
            let stream = connector
                .connect(tls.server_name.clone(), stream)
                .await
                .map_err(HttpError::Tls)?;
            Ok(Stream::Tls(Box::new(stream)))
        }
        _ => Ok(Stream::Plain(stream)),
    }
}

/// Whether an idle kept-alive connection can carry a request: the target has neither closed
/// it nor sent anything unasked since the last response. Never waits.
pub(crate) fn is_reusable(stream: &mut Stream, buf: &mut BytesMut) -> bool {
    buf.clear();
    buf.reserve(INITIAL_BUF);
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    let mut read = ReadBuf::uninit(buf.spare_capacity_mut());
    matches!(
        Pin::new(stream).poll_read(&mut cx, &mut read),
        Poll::Pending
    )
}

/// A failed exchange.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: HttpError,
    /// Not a byte of the response came.
    pub(crate) nothing_received: bool,
}

/// Writes the request in `buf` (its head, and `body` after it), then reads the response.
pub(crate) async fn exchange(
    stream: &mut Stream,
    buf: &mut BytesMut,
    body: &[u8],
    head_request: bool,
) -> Result<Received, Failed> {
    let written = write_request(stream, buf, body).await;
    buf.clear();
    if let Err(error) = written {
        return Err(Failed {
            error,
            nothing_received: true,
        });
    }
    let mut received = false;
    let result = read_response(stream, buf, head_request, &mut received)
        .await
        .map_err(|error| Failed {
            error,
            nothing_received: !received,
        });
    if buf.capacity() > SHRINK_ABOVE {
        *buf = BytesMut::with_capacity(INITIAL_BUF);
    }
    result
}

async fn write_request(
    stream: &mut Stream,
    buf: &mut BytesMut,
    body: &[u8],
) -> Result<(), HttpError> {
    if body.len() <= INITIAL_BUF {
        buf.extend_from_slice(body);
        stream.write_all(buf).await.map_err(io_error)?;
    } else {
        stream.write_all(buf).await.map_err(io_error)?;
        stream.write_all(body).await.map_err(io_error)?;
    }
    stream.flush().await.map_err(io_error)
}

async fn read_response(
    stream: &mut Stream,
    buf: &mut BytesMut,
    head_request: bool,
    received: &mut bool,
) -> Result<Received, HttpError> {
    let head = loop {
        if let Some(len) = wire::head_len(buf)? {
            // The head leaves the buffer without a copy: header values share its memory,
            // which the buffer takes back once the response is dropped.
            let head = wire::parse_head(&buf.split_to(len).freeze(), head_request)?;
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            if (100..200).contains(&head.status) && head.status != 101 {
                continue;
            }
            break head;
        }
        read_more(stream, buf).await?;
        *received = true;
    };
    let (body, leftover) = match head.framing {
        Framing::Empty => (Bytes::new(), !buf.is_empty()),
        Framing::Length(n) if buf.len() as u64 >= n => {
            // The usual case: the body came with its head.
            let body = buf.split_to(n as usize).freeze();
            (body, !buf.is_empty())
        }
        Framing::Length(n) => {
            let body = read_length(stream, buf, n).await?;
            (body, false)
        }
        Framing::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut body = Vec::new();
            loop {
                let used = decoder.decode(buf, &mut body)?;
                buf.advance(used);
                if decoder.is_done() {
                    break;
                }
                read_more(stream, buf).await?;
            }
            (Bytes::from(body), !buf.is_empty())
        }
        Framing::UntilClose => {
            let mut body = buf.split().to_vec();
            loop {
                body.reserve(8 * 1024);
                match stream.read_buf(&mut body).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => return Err(io_error(e)),
                }
            }
            (Bytes::from(body), false)
        }
    };
    Ok(Received {
        response: Response {
            status: head.status,
            headers: head.headers,
            body,
        },
        // Bytes after the response were not asked for: the connection is out of step.
        keep_alive: head.keep_alive && !leftover,
    })
}

/// Reads a body of `len` bytes, the first of which are in `buf`, into a buffer of its own.
async fn read_length(
    stream: &mut Stream,
    buf: &mut BytesMut,
    len: u64,
) -> Result<Bytes, HttpError> {
    let mut body = Vec::with_capacity(len.min(MAX_PREALLOC) as usize);
    body.extend_from_slice(buf);
    buf.clear();
    while (body.len() as u64) < len {
        let left = len - body.len() as u64;
        body.reserve(left.min(MAX_PREALLOC) as usize);
        let n = (&mut *stream)
            .take(left)
            .read_buf(&mut body)
            .await
            .map_err(io_error)?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
    }
    Ok(Bytes::from(body))
}

/// Reads more into `buf`, doubling it when full; the end of the stream is an error.
async fn read_more(stream: &mut Stream, buf: &mut BytesMut) -> Result<(), HttpError> {
    if buf.capacity() - buf.len() < INITIAL_BUF / 2 {
        buf.reserve(buf.capacity().max(INITIAL_BUF));
    }
    match stream.read_buf(buf).await {
        Ok(0) => Err(HttpError::Closed),
        Ok(_) => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

/// A peer that went away is [`HttpError::Closed`]; other failures keep their cause.
fn io_error(e: io::Error) -> HttpError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => HttpError::Closed,
        _ => HttpError::Request(e),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
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
