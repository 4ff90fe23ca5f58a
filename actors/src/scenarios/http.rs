//! The built-in HTTP scenario: each user sends `GET url` in a loop until asked to stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amoc::config::{Param, ParamDecl, Verdict};
use amoc::metrics::RunStats;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::throttle::{ThrottleConfig, ThrottleError, Throttles};
use amoc::users::UserContext;

use crate::http::{HttpClient, UserHttp};

const URL: Param<String> = Param::new("url");
const REQUEST_RATE: Param<u64> = Param::new("request_rate");
const THINK_TIME_MS: Param<u64> = Param::new("think_time_ms");
const ERROR_BACKOFF_MS: Param<u64> = Param::new("error_backoff_ms");

/// The throttle that paces requests when `request_rate` > 0.
pub const REQUEST_THROTTLE: &str = "http_requests";

/// The run counter of pauses after requests that got no response (see `error_backoff_ms`).
pub const ERROR_BACKOFF_PAUSES: &str = "error_backoff_pauses";
/// The run counter of milliseconds paused after failed requests.
pub const ERROR_BACKOFF_MS_TOTAL: &str = "error_backoff_ms";

/// Bumped by every accepted update of an updatable parameter: users re-read their settings
/// only when it changed (one atomic load per request otherwise).
static SETTINGS_VERSION: AtomicU64 = AtomicU64::new(0);

fn settings_changed<T>(_: &str, _: &T) {
    SETTINGS_VERSION.fetch_add(1, Ordering::Release);
}

/// Users loop on `GET url`, optionally paced by a shared throttle and a think time.
///
/// Parameters: `url` (required; `http://` or `https://`), `request_rate` (requests per
/// second over all users, 0 = unlimited, default 0), `think_time_ms` (pause between one
/// user's requests, default 0), `error_backoff_ms` (pause after a request that got no response,
/// so an unreachable server is not hammered in a hot loop, default 10; 0 disables; each pause is
/// counted in the run's [`ERROR_BACKOFF_PAUSES`] and [`ERROR_BACKOFF_MS_TOTAL`] counters).
/// `init` checks that the URL answers before any user starts
/// (that probe is not counted as a request).
///
/// Each user is one [`UserHttp`] on the run's [`HttpClient`]: its requests are recorded as
/// `GET <path>`. `request_rate` and `think_time_ms` can be updated while the test runs: users
/// re-read them when an update was accepted (a version check per request), and the first
/// user to see a new rate applies it to the [`REQUEST_THROTTLE`] throttle (starting it if
/// the rate was unlimited). Under a rate, each request is sent with its permit's due time
/// and this user's share of the rate (users ÷ rate), so its corrected latency is recorded
/// too.
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpScenario;

/// What `init` resolved for the run.
#[derive(Debug)]
pub struct HttpState {
    /// The URL every user requests.
    pub url: String,
    /// The client of that URL, shared by the users.
    pub client: HttpClient,
    /// The name requests are recorded under: `GET <path>`.
    pub request_name: Arc<str>,
    /// The request rate applied to [`REQUEST_THROTTLE`] (0 = unlimited: nobody waits).
    pub rate: AtomicU64,
    /// Users running the loop now (a user's share of the rate is users ÷ rate).
    pub users: AtomicU64,
    /// The run's statistics (pauses after errors are counted there).
    pub stats: RunStats,
}

/// Counts a user in [`HttpState::users`] while it lives.
struct Counted<'a>(&'a AtomicU64);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HttpState {
    /// Makes `rate` the applied one; the caller that swaps it in changes the throttle.
    async fn apply_rate(&self, rate: u64, throttles: &Throttles) -> Result<(), ScenarioError> {
        if self.rate.swap(rate, Ordering::AcqRel) == rate || rate == 0 {
            return Ok(());
        }
        let config = ThrottleConfig::rate_per(rate, Duration::from_secs(1));
        if throttles.info(REQUEST_THROTTLE).await.is_ok() {
            throttles.change_rate(REQUEST_THROTTLE, config).await?;
        } else {
            throttles.start(REQUEST_THROTTLE, config).await?;
        }
        Ok(())
    }
}

impl Scenario for HttpScenario {
    const NAME: &'static str = "http";
    type State = HttpState;
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![
            URL.spec("the URL every user requests with GET")
                .required()
                .verify(|url: &String| {
                    if url.starts_with("http://") || url.starts_with("https://") {
                        Verdict::Accept
                    } else {
                        Verdict::RejectWith("must start with http:// or https://".into())
                    }
                })
                .decl(),
            REQUEST_RATE
                .spec("requests per second over all users (0 = unlimited; updatable)")
                .default(0)
                .updatable()
                .on_update(settings_changed)
                .decl(),
            THINK_TIME_MS
                .spec("pause between one user's requests, in ms (updatable)")
                .default(0)
                .updatable()
                .on_update(settings_changed)
                .decl(),
            ERROR_BACKOFF_MS
                .spec("pause after a request that got no response, in ms; counted (updatable)")
                .default(10)
                .updatable()
                .on_update(settings_changed)
                .decl(),
        ]
    }

    async fn init(&self, ctx: RunContext) -> Result<HttpState, ScenarioError> {
        let url = URL.get(ctx.config())?;
        let client = HttpClient::builder(url.clone()).build(&ctx).await?;
        client
            .user()
            .get("probe", "")
            .unrecorded()
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {}", crate::http::error_text(&e)))?;
        let request_name = format!("GET {}", client.base_path()).into();
        let state = HttpState {
            url,
            client,
            request_name,
            rate: AtomicU64::new(0),
            users: AtomicU64::new(0),
            stats: ctx.stats().clone(),
        };
        state
            .apply_rate(REQUEST_RATE.get(ctx.config())?, ctx.throttles())
            .await?;
        Ok(state)
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let state = user.state().clone();
        let mut http: UserHttp = state.client.user();
        let mut seen = u64::MAX;
        let (mut rate, mut think_time, mut backoff) = (0, Duration::ZERO, 0);
        state.users.fetch_add(1, Ordering::AcqRel);
        let _counted = Counted(&state.users);
        while !user.stop_requested() {
            let version = SETTINGS_VERSION.load(Ordering::Acquire);
            if version != seen {
                seen = version;
                rate = REQUEST_RATE.get(user.config())?;
                think_time = Duration::from_millis(THINK_TIME_MS.get(user.config())?);
                backoff = ERROR_BACKOFF_MS.get(user.config())?;
            }
            if rate != state.rate.load(Ordering::Acquire) {
                if let Err(e) = state.apply_rate(rate, user.throttles()).await {
                    tracing::warn!(rate, error = %e, "cannot apply the new request_rate");
                }
            }
            let mut request = http.get(&state.request_name, "");
            if rate > 0 {
                tokio::select! {
                    permit = user.throttles().wait(REQUEST_THROTTLE) => match permit {
                        Ok(p) => {
                            let users = state.users.load(Ordering::Acquire).max(1);
                            let share = Duration::from_secs_f64(users as f64 / rate as f64);
                            request = request.due(p.due_at()).expected_interval(share);
                        }
                        // Another user is starting it (the rate was unlimited until now).
                        Err(ThrottleError::NoSuchThrottle(_)) => {
                            tokio::task::yield_now().await;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    },
                    () = user.stopping() => return Ok(()),
                }
            }
            if request.send().await.is_err() && backoff > 0 {
                state.stats.count(ERROR_BACKOFF_PAUSES, 1);
                state.stats.count(ERROR_BACKOFF_MS_TOTAL, backoff);
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            if !think_time.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(think_time) => {}
                    () = user.stopping() => return Ok(()),
                }
            }
        }
        Ok(())
    }
}
