//! Who may drive the API: the access policy as plain data and pure functions.
//!
//! A load generator is pointed wherever its caller says, so the API refuses anyone who is not
//! its operator:
//!
//! * **Authentication.** A listener bound to any address that is not loopback requires
//!   `Authorization: Bearer <token>` on every request ([`Exposure::Beyond`] cannot be built
//!   without a token). On loopback the token is optional, but once configured it is required
//!   there too. Tokens are compared in constant time ([`ApiToken::matches`]); only the length
//!   of a wrong guess can leak.
//! * **DNS rebinding.** The `Host` header must name the listener: one of its addresses, its
//!   configured host name, or `localhost` for a loopback listener, with the listener's port. A
//!   listener bound to an unspecified address (`0.0.0.0`, `::`) cannot know its names and
//!   accepts any `Host`; the token guards it.
//! * **Cross-site requests.** A request whose `Origin` is present must come from the API's own
//!   origin (`scheme://` + its `Host`). No CORS headers are ever sent, so a browser never
//!   lets another site read an answer; state-changing routes also insist on a JSON body (see
//!   [`is_json`]), which no HTML form can send.

use std::fmt;
use std::net::SocketAddr;

use subtle::ConstantTimeEq;

/// A bearer token; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(..)")
    }
}

/// Why a token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Empty (after trimming the line end a file usually has).
    #[error("the API token is empty")]
    Empty,
    /// A character a header cannot carry as is (space, control, non-ASCII).
    #[error("the API token must be visible ASCII without spaces")]
    Invalid,
}

impl ApiToken {
    /// A token from text (a file's trailing newline is dropped).
    pub fn new(text: &str) -> Result<Self, TokenError> {
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Err(TokenError::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Invalid);
        }
        Ok(Self(text.to_owned()))
    }

    /// A fresh random token: 32 bytes from the operating system, as 64 hex digits.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The token's text (to print it once, or to send it).
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`; the token part is
    /// compared in constant time.
    pub fn matches(&self, authorization: &str) -> bool {
        let Some((scheme, given)) = authorization.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer")
            && bool::from(given.trim().as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// Whether the listener can be reached from beyond this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Every address is loopback (127.0.0.0/8, ::1).
    Loopback,
    /// Some address is not loopback (an interface's address, or unspecified).
    Beyond,
}

impl Exposure {
    /// The exposure of a listener bound to `addrs` (no address counts as beyond: fail safe).
    pub fn of(addrs: &[SocketAddr]) -> Self {
        if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
            Self::Loopback
        } else {
            Self::Beyond
        }
    }
}

/// A refused request: its status code and one-line reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No `Authorization` header, or not the token: 401.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// `Host` does not name this listener: 403.
    #[error("the Host header does not name this API")]
    ForeignHost,
    /// `Origin` is present and not the API's own: 403.
    #[error("cross-origin requests are refused")]
    ForeignOrigin,
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::ForeignHost | Self::ForeignOrigin => 403,
        }
    }
}

/// The headers the policy looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHead<'a> {
    /// `Host`.
    pub host: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Authorization`.
    pub authorization: Option<&'a str>,
}

/// Configuration errors of the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A listener beyond loopback needs a token.
    #[error("a control API listening beyond loopback needs a token")]
    TokenRequired,
}

/// The access policy of one listener.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    token: Option<ApiToken>,
    exposure: Exposure,
    /// `name:port` forms the `Host` header may take; `None`: any (unspecified address).
    hosts: Option<Vec<String>>,
    tls: bool,
}

impl AccessPolicy {
    /// The policy of a listener bound to `addrs`, also known as `host_name` (as given to
    /// `--listen`), serving TLS or not.
    pub fn new(
        addrs: &[SocketAddr],
        host_name: Option<&str>,
        token: Option<ApiToken>,
        tls: bool,
    ) -> Result<Self, PolicyError> {
        let exposure = Exposure::of(addrs);
        if exposure == Exposure::Beyond && token.is_none() {
            return Err(PolicyError::TokenRequired);
        }
        let hosts = if addrs.iter().any(|a| a.ip().is_unspecified()) {
            None
        } else {
            let mut hosts = Vec::new();
            for a in addrs {
                let port = a.port();
                hosts.push(a.to_string());
                if a.ip().is_loopback() {
                    hosts.push(format!("localhost:{port}"));
                }
                if let Some(name) = host_name {
                    hosts.push(format!("{}:{port}", name.to_ascii_lowercase()));
                }
            }
            Some(hosts)
        };
        Ok(Self {
            token,
            exposure,
            hosts,
            tls,
        })
    }

    /// The listener's exposure.
    pub fn exposure(&self) -> Exposure {
        self.exposure
    }

    /// Whether requests need the token.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// Admits or refuses a request by its headers: `Host`, then the token, then `Origin`.
    pub fn check(&self, head: &RequestHead<'_>) -> Result<(), Refusal> {
        if !self.host_allowed(head.host) {
            return Err(Refusal::ForeignHost);
        }
        if let Some(token) = &self.token {
            if !head.authorization.is_some_and(|a| token.matches(a)) {
                return Err(Refusal::Unauthorized);
            }
        }
        match (head.origin, head.host) {
            (None, _) => Ok(()),
            (Some(origin), Some(host)) if self.is_own_origin(origin, host) => Ok(()),
            (Some(_), _) => Err(Refusal::ForeignOrigin),
        }
    }

    fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(hosts) = &self.hosts else {
            return true;
        };
        let Some(host) = host else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let default_port = if self.tls { 443 } else { 80 };
        hosts
            .iter()
            .any(|h| *h == host || *h == format!("{host}:{default_port}"))
    }

    fn is_own_origin(&self, origin: &str, host: &str) -> bool {
        let scheme = if self.tls { "https://" } else { "http://" };
        origin
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
    }
}

/// Whether a `Content-Type` value is JSON (`application/json`, parameters allowed).
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
