//! The base URL of a client, parsed once: scheme, host, port, `Host` header and base path.

use std::net::SocketAddr;

use http::header::HeaderValue;
use http::uri::{PathAndQuery, Uri};

use super::HttpError;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// What every request of a client shares.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) scheme: Scheme,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The `Host` header: `host[:port]` as written in the URL.
    pub(crate) host_header: HeaderValue,
    /// The URL's path without a trailing `/` (empty for the root), joined to request paths.
    pub(crate) base_path: String,
    /// The URL's own path and query, for requests of "the URL itself".
    pub(crate) path: PathAndQuery,
}

impl Target {
    /// Parses an absolute `http://` or `https://` URL.
    pub(crate) fn parse(url: &str) -> Result<Self, HttpError> {
        let uri: Uri = url.parse().map_err(|source| HttpError::InvalidUrl {
            url: url.to_owned(),
            source,
        })?;
        let scheme = match uri.scheme_str() {
            Some("http") => Scheme::Http,
            Some("https") => Scheme::Https,
            other => {
                return Err(HttpError::UnsupportedScheme(
                    other.unwrap_or("none").to_owned(),
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| HttpError::NoHost(url.to_owned()))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(HttpError::NoHost(url.to_owned()));
        }
        let port = authority.port_u16().unwrap_or(match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        });
        let host_header =
            HeaderValue::from_str(authority.as_str()).map_err(|_| HttpError::NoHost(url.into()))?;
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            scheme,
            host,
            port,
            host_header,
            base_path,
            path,
        })
    }

    /// The request target of `path` (joined to the base path unless it is the base URL's own).
    pub(crate) fn request_path(&self, path: &str) -> Result<PathAndQuery, HttpError> {
        let joined;
        let full = if self.base_path.is_empty() || !path.starts_with('/') {
            path
        } else {
            joined = format!("{}{path}", self.base_path);
            &joined
        };
        let full = if full.is_empty() { "/" } else { full };
        full.parse().map_err(|source| HttpError::InvalidPath {
            path: path.to_owned(),
            source,
        })
    }

    /// Resolves the host (once per client; connections reuse the addresses).
    pub(crate) async fn resolve(&self) -> Result<Vec<SocketAddr>, HttpError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|source| HttpError::Resolve {
                host: self.host.clone(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(HttpError::Resolve {
                host: self.host.clone(),
                source: std::io::Error::other("no address"),
            });
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scheme_host_port_and_paths() {
        let t = Target::parse("http://127.0.0.1:8080/api/").unwrap();
        assert_eq!(
            (t.scheme, t.host.as_str(), t.port),
            (Scheme::Http, "127.0.0.1", 8080)
        );
        assert_eq!(t.host_header, "127.0.0.1:8080");
        assert_eq!(t.request_path("/login").unwrap().as_str(), "/api/login");
        assert_eq!(t.path.as_str(), "/api/");
        let t = Target::parse("https://[::1]/").unwrap();
        assert_eq!(
            (t.scheme, t.host.as_str(), t.port),
            (Scheme::Https, "::1", 443)
        );
        assert_eq!(t.request_path("/a?b=c").unwrap().as_str(), "/a?b=c");
    }

    #[test]
    fn refuses_what_it_cannot_request() {
        assert!(matches!(
            Target::parse("ftp://x/"),
            Err(HttpError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Target::parse("/relative"),
            Err(HttpError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Target::parse("http://a b/"),
            Err(HttpError::InvalidUrl { .. })
        ));
        let t = Target::parse("http://x/").unwrap();
        assert!(matches!(
            t.request_path("/a b"),
            Err(HttpError::InvalidPath { .. })
        ));
    }
}
