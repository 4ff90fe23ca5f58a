//! The NATS engine behind [`amoc::cluster::Transport`], with the connection options of a node.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use amoc::cluster::{Inbox, Incoming, Transport, TransportError};
use async_nats::client::RequestErrorKind;
use async_nats::Event;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

/// How a node reaches the NATS server: its URL and credentials.
///
/// Credentials come from the environment so they never show in `ps`: `AMOC_NATS_TOKEN`, or
/// `AMOC_NATS_USER` with `AMOC_NATS_PASSWORD`, or `AMOC_NATS_NKEY` (an nkey seed);
/// `AMOC_NATS_CA` names a PEM file of roots to trust for TLS. A server beyond loopback is
/// always reached over TLS.
#[derive(Clone, Default)]
pub struct NatsOptions {
    /// `nats://HOST:PORT` (or `tls://`), several separated by commas.
    pub url: String,
    /// A token.
    pub token: Option<String>,
    /// A user and password.
    pub user_password: Option<(String, String)>,
    /// An nkey seed.
    pub nkey: Option<String>,
    /// Roots to trust for TLS.
    pub ca: Option<PathBuf>,
}

impl std::fmt::Debug for NatsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsOptions")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "(hidden)"))
            .field("user", &self.user_password.as_ref().map(|(u, _)| u))
            .field("nkey", &self.nkey.as_ref().map(|_| "(hidden)"))
            .field("ca", &self.ca)
            .finish()
    }
}

/// Errors connecting to NATS.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The URL does not parse.
    #[error("invalid NATS URL {0:?}: expected nats://HOST:PORT")]
    Url(String),
    /// `AMOC_NATS_CA` names no readable file.
    #[error("cannot read AMOC_NATS_CA {}", path.display())]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server could not be reached or refused the credentials.
    #[error("cannot connect to NATS at {url}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: async_nats::ConnectError,
    },
}

impl NatsOptions {
    /// Options for `url` with the credentials of the `AMOC_NATS_*` variables.
    pub fn from_env(url: &str) -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            url: url.to_owned(),
            token: var("AMOC_NATS_TOKEN"),
            user_password: var("AMOC_NATS_USER")
                .map(|u| (u, var("AMOC_NATS_PASSWORD").unwrap_or_default())),
            nkey: var("AMOC_NATS_NKEY"),
            ca: var("AMOC_NATS_CA").map(PathBuf::from),
        }
    }

    /// Whether every server of the URL is on loopback.
    fn loopback(&self) -> Result<bool, NatsError> {
        let mut all = true;
        for server in self.url.split(',') {
            let rest = server
                .trim()
                .split_once("://")
                .map_or(server.trim(), |(_, r)| r);
            let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let host = match rest.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() => h,
                _ => rest,
            };
            let host = host.trim_matches(['[', ']']);
            if host.is_empty() {
                return Err(NatsError::Url(self.url.clone()));
            }
            let lo = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            all &= lo;
        }
        Ok(all)
    }

    /// Connects (on the current runtime: call it on the cluster arbiter).
    pub async fn connect(&self, name: &str) -> Result<NatsTransport, NatsError> {
        let loopback = self.loopback()?;
        let mut opts = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(5))
            .ping_interval(Duration::from_secs(5))
            .event_callback(connection_event(self.url.clone()));
        if let Some(t) = &self.token {
            opts = opts.token(t.clone());
        }
        if let Some((u, p)) = &self.user_password {
            opts = opts.user_and_password(u.clone(), p.clone());
        }
        if let Some(seed) = &self.nkey {
            opts = opts.nkey(seed.clone());
        }
        if let Some(ca) = &self.ca {
            // async-nats reads it only when it connects, and then says "No such file" alone.
            std::fs::metadata(ca).map_err(|source| NatsError::Ca {
                path: ca.clone(),
                source,
            })?;
            opts = opts.add_root_certificates(ca.clone());
        }
        if !loopback {
            opts = opts.require_tls(true);
        }
        let servers: Vec<&str> = self.url.split(',').map(str::trim).collect();
        let client = opts
            .connect(servers)
            .await
            .map_err(|source| NatsError::Connect {
                url: self.url.clone(),
                source,
            })?;
        Ok(NatsTransport { client })
    }
}

/// The connection's events, told once each in the node's own words (async-nats' own log lines
/// are off unless `--verbose`): a lost server is a warning, and so is the reconnection, so an
/// operator sees both ends of an outage. Reconnection itself is async-nats' (it retries
/// forever; the cluster's leases make a long outage safe).
fn connection_event(url: String) -> impl Fn(Event) -> std::future::Ready<()> + Send + Sync {
    let lost = AtomicBool::new(false);
    move |event| {
        match event {
            Event::Disconnected => {
                lost.store(true, Ordering::Relaxed);
                tracing::warn!(target: "amoc::cluster", "lost the NATS server ({url}); reconnecting");
            }
            Event::Connected if lost.swap(false, Ordering::Relaxed) => {
                tracing::warn!(target: "amoc::cluster", "reconnected to NATS ({url})");
            }
            Event::Connected => {}
            // Each failed reconnection attempt: the "reconnecting" line said it.
            Event::ClientError(_) if lost.load(Ordering::Relaxed) => {}
            Event::Closed => tracing::info!(target: "amoc::cluster", "NATS connection closed"),
            Event::SlowConsumer(_) => tracing::warn!(
                target: "amoc::cluster",
                "NATS: this node reads its messages too slowly; some were dropped"
            ),
            other => tracing::warn!(target: "amoc::cluster", "NATS: {other}"),
        }
        std::future::ready(())
    }
}

/// A NATS connection as a cluster transport.
#[derive(Debug, Clone)]
pub struct NatsTransport {
    client: async_nats::Client,
}

fn failed(e: impl std::error::Error + Send + Sync + 'static) -> TransportError {
    TransportError::Failed(Box::new(e))
}

impl Transport for NatsTransport {
    fn request(
        &self,
        subject: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<u8>, TransportError>> {
        let client = self.client.clone();
        async move {
            let request = async_nats::Request::new()
                .payload(payload.into())
                .timeout(Some(timeout));
            match client.send_request(subject, request).await {
                Ok(m) => Ok(m.payload.to_vec()),
                Err(e) => Err(match e.kind() {
                    RequestErrorKind::NoResponders => TransportError::NoResponders,
                    RequestErrorKind::TimedOut => TransportError::TimedOut,
                    _ => failed(e),
                }),
            }
        }
        .boxed()
    }

    fn publish(
        &self,
        subject: String,
        payload: Vec<u8>,
    ) -> BoxFuture<'static, Result<(), TransportError>> {
        let client = self.client.clone();
        async move {
            client
                .publish(subject, payload.into())
                .await
                .map_err(failed)
        }
        .boxed()
    }

    fn subscribe(&self, subject: String) -> BoxFuture<'static, Result<Inbox, TransportError>> {
        let client = self.client.clone();
        async move {
            let sub = client.subscribe(subject).await.map_err(failed)?;
            let inbox: Inbox = sub
                .map(|m| Incoming {
                    subject: m.subject.to_string(),
                    payload: m.payload.to_vec(),
                    reply: m.reply.map(|r| r.to_string()),
                })
                .boxed();
            Ok(inbox)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lo(url: &str) -> Result<bool, NatsError> {
        NatsOptions {
            url: url.into(),
            ..NatsOptions::default()
        }
        .loopback()
    }

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(lo("nats://127.0.0.1:4222").unwrap());
        assert!(lo("nats://localhost:4222,nats://[::1]:4223").unwrap());
        assert!(lo("127.0.0.1").unwrap());
        assert!(!lo("nats://10.0.0.1:4222").unwrap());
        assert!(!lo("nats://127.0.0.1:1,nats://nats.example:4222").unwrap());
        assert!(lo("nats://:4222").is_err());
    }
}
