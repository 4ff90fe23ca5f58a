//! HTTP/1.1 on the wire, without I/O: encoding a request head, parsing a response head
//! (with `httparse`) and deciding how its body is framed (RFC 9112 §6.3).
//!
//! Pure functions over byte slices, so the connection code ([`super::conn`]) only moves bytes
//! and every parsing rule is unit-tested here, including split and garbage input.

use bytes::{BufMut, Bytes};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;

/// At most this many header fields in a response head.
const MAX_HEADERS: usize = 100;

/// A response head larger than this is refused (its connection would buffer it whole).
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Why a response is not valid HTTP/1.1 for this client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResponseError {
    /// The status line or a header field does not parse.
    #[error("malformed response head")]
    Head(#[source] httparse::Error),
    /// A header name or value that `http` refuses.
    #[error("invalid header field")]
    Field,
    /// The head is larger than 64 KiB.
    #[error("response head larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    /// `Content-Length` is not a number, or two of them differ.
    #[error("invalid content-length")]
    ContentLength,
    /// A chunk of a chunked body is not framed as RFC 9112 §7.1 says.
    #[error("invalid chunked body: {0}")]
    Chunked(&'static str),
    /// The response is not HTTP/1.x.
    #[error("unsupported HTTP version")]
    Version,
}

/// How the body after a head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// What the connection needs to know from a complete response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The status code.
    pub(crate) status: u16,
    /// The header fields; values share the head's memory.
    pub(crate) headers: HeaderMap,
    /// How the body is framed.
    pub(crate) framing: Framing,
    /// Whether the connection may carry another request after this response (body framing
    /// allowing).
    pub(crate) keep_alive: bool,
}

/// Appends a request head to `out`: request line, `host` (unless `headers` has one),
/// `content-length` when there is a body or the method usually has one, `cookie` when
/// `cookies` is not empty, then `headers`.
pub(crate) fn encode_request(
    out: &mut impl BufMut,
    method: &Method,
    path: &str,
    host: &HeaderValue,
    cookies: &[(String, String)],
    headers: &[(HeaderName, HeaderValue)],
    body_len: usize,
) {
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(path.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n == http::header::HOST) {
        field(out, b"host", host.as_bytes());
    }
    let bodyless = matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
    );
    let has_length = headers
        .iter()
        .any(|(n, _)| n == http::header::CONTENT_LENGTH || n == http::header::TRANSFER_ENCODING);
    if !has_length && (body_len > 0 || !bodyless) {
        field(out, b"content-length", itoa_buf(body_len).as_bytes());
    }
    if !cookies.is_empty() {
        out.put_slice(b"cookie: ");
        for (i, (name, value)) in cookies.iter().enumerate() {
            if i > 0 {
                out.put_slice(b"; ");
            }
            out.put_slice(name.as_bytes());
            out.put_u8(b'=');
            out.put_slice(value.as_bytes());
        }
        out.put_slice(b"\r\n");
    }
    for (name, value) in headers {
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    out.put_slice(b"\r\n");
}

fn field(out: &mut impl BufMut, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// `n` in decimal, on the stack.
fn itoa_buf(n: usize) -> Digits {
    let mut d = Digits {
        buf: [0; 20],
        start: 20,
    };
    let mut n = n;
    loop {
        d.start -= 1;
        d.buf[d.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return d;
        }
    }
}

struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// The length of the response head at the start of `buf` (up to and including its empty
/// line), `Ok(None)` while it is incomplete. Refuses early what cannot become a response.
pub(crate) fn head_len(buf: &[u8]) -> Result<Option<usize>, ResponseError> {
    let prefix = buf.len().min(5);
    if buf[..prefix] != b"HTTP/"[..prefix] {
        return Err(ResponseError::Version);
    }
    // A head ends at its first empty line (CRLF, or LF as `httparse` also accepts).
    let end = memchr::memchr_iter(b'\n', buf).find_map(|i| match buf.get(i + 1..) {
        Some([b'\n', ..]) => Some(i + 2),
        Some([b'\r', b'\n', ..]) => Some(i + 3),
        _ => None,
    });
    match end {
        None if buf.len() > MAX_HEAD => Err(ResponseError::HeadTooLarge),
        end => Ok(end),
    }
}

/// Parses a complete response head (as [`head_len`] measured it). `head_request`: the request
/// was `HEAD` (its response has no body whatever it says).
pub(crate) fn parse_head(head: &Bytes, head_request: bool) -> Result<Head, ResponseError> {
    let mut fields = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        head,
        &mut fields,
    ) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ResponseError::Head(httparse::Error::NewLine)),
        Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::HeadTooLarge),
        Err(httparse::Error::Version) => return Err(ResponseError::Version),
        Err(e) => return Err(ResponseError::Head(e)),
    }
    let status = response.code.unwrap_or(0);
    let http11 = response.version == Some(1);
    let mut length: Option<u64> = None;
    let mut chunked = None;
    let (mut close, mut keep) = (false, false);
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for f in response.headers.iter() {
        let name = HeaderName::from_bytes(f.name.as_bytes()).map_err(|_| ResponseError::Field)?;
        if name == http::header::CONTENT_LENGTH {
            let n = parse_length(f.value)?;
            if length.is_some_and(|l| l != n) {
                return Err(ResponseError::ContentLength);
            }
            length = Some(n);
        } else if name == http::header::TRANSFER_ENCODING {
            // Only the last coding decides: `gzip, chunked` is chunked.
            let last = f.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
            chunked = Some(trim(last).eq_ignore_ascii_case(b"chunked"));
        } else if name == http::header::CONNECTION {
            for token in f.value.split(|&b| b == b',') {
                let token = trim(token);
                close |= token.eq_ignore_ascii_case(b"close");
                keep |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
        let value = HeaderValue::from_maybe_shared(head.slice_ref(f.value))
            .map_err(|_| ResponseError::Field)?;
        headers.append(name, value);
    }
    let framing = if head_request || (100..200).contains(&status) || status == 204 || status == 304
    {
        Framing::Empty
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    // A message with both framings is a smuggling risk: read it, then close (RFC 9112 §6.3).
    let ambiguous = chunked.is_some() && length.is_some();
    let keep_alive =
        !close && !ambiguous && status != 101 && framing != Framing::UntilClose && (http11 || keep);
    Ok(Head {
        status,
        headers,
        framing,
        keep_alive,
    })
}

fn parse_length(value: &[u8]) -> Result<u64, ResponseError> {
    let digits = trim(value);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ResponseError::ContentLength);
    }
    Ok(digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
