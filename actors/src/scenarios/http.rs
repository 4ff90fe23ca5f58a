//! The built-in HTTP scenario: each user sends `GET url` in a loop until asked to stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amoc::config::{Param, ParamDecl, Verdict};
use amoc::metrics::RunStats;
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::throttle::ThrottleConfig;

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

/// Users loop on `GET url`, optionally paced by a shared throttle and a think time.
///
/// Parameters: `url` (required; `http://` or `https://`), `request_rate` (requests per
/// second over all users, 0 = unlimited, default 0), `think_time_ms` (pause between one
/// user's requests, default 0), `error_backoff_ms` (pause after a request that got no response,
/// so an unreachable server is not hammered in a hot loop, default 10; 0 disables; each pause is
/// counted in the run's [`ERROR_BACKOFF_PAUSES`] and [`ERROR_BACKOFF_MS_TOTAL`] counters).
/// `init` checks that the URL answers before any user starts (that probe is not counted as a
/// request).
///
/// Each user is one [`UserHttp`] on the run's [`HttpClient`]: its requests are recorded as
/// `GET <path>`. `request_rate`, `think_time_ms` and `error_backoff_ms` can be updated while
/// the test runs: the scenario's `settings_updated` hook applies an accepted update once, on
/// the controller (it changes the [`REQUEST_THROTTLE`] throttle's rate, starting it if the rate
/// was unlimited, before users see the new rate); users read the applied values (atomic loads
/// per request). Under a rate, each request is sent with its permit's due time and this user's
/// share of the rate (users ÷ rate), so its corrected latency is recorded too.
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
    /// The pause between one user's requests, in ms.
    pub think_time_ms: AtomicU64,
    /// The pause after a request that got no response, in ms (0 = none).
    pub error_backoff_ms: AtomicU64,
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
    /// Applies the run's current `request_rate`, `think_time_ms` and `error_backoff_ms`. A new non-zero rate goes
    /// to the throttle (started if need be) before users see it, so a user that sees a rate
    /// finds the throttle.
    async fn apply(&self, ctx: &RunContext) -> Result<(), ScenarioError> {
        let rate = REQUEST_RATE.get(ctx.config())?;
        self.think_time_ms
            .store(THINK_TIME_MS.get(ctx.config())?, Ordering::Release);
        self.error_backoff_ms
            .store(ERROR_BACKOFF_MS.get(ctx.config())?, Ordering::Release);
        if rate == self.rate.load(Ordering::Acquire) {
            return Ok(());
        }
        if rate > 0 {
            let throttles = ctx.throttles();
            let config = ThrottleConfig::rate_per(rate, Duration::from_secs(1));
            if throttles.info(REQUEST_THROTTLE).await.is_ok() {
                throttles.change_rate(REQUEST_THROTTLE, config).await?;
            } else {
                throttles.start(REQUEST_THROTTLE, config).await?;
            }
        }
        self.rate.store(rate, Ordering::Release);
        Ok(())
    }
}

impl Scenario for HttpScenario {
    const NAME: &'static str = "http";
    const DESCRIPTION: &'static str =
        "Each user GETs `url` in a loop; `request_rate` paces all users together.";
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
                .decl(),
            THINK_TIME_MS
                .spec("pause between one user's requests, in ms (updatable)")
                .default(0)
                .updatable()
                .decl(),
            ERROR_BACKOFF_MS
                .spec("pause after a request that got no response, in ms; counted (updatable)")
                .default(10)
                .updatable()
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
            think_time_ms: AtomicU64::new(0),
            error_backoff_ms: AtomicU64::new(0),
            users: AtomicU64::new(0),
            stats: ctx.stats().clone(),
        };
        state.apply(&ctx).await?;
        Ok(state)
    }

    async fn settings_updated(
        &self,
        state: Arc<HttpState>,
        ctx: RunContext,
        _changed: Vec<String>,
    ) -> Result<(), ScenarioError> {
        state.apply(&ctx).await
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let state = user.state().clone();
        let mut http: UserHttp = state.client.user();
        state.users.fetch_add(1, Ordering::AcqRel);
        let _counted = Counted(&state.users);
        while !user.stop_requested() {
            let mut request = http.get(&state.request_name, "");
            let rate = state.rate.load(Ordering::Acquire);
            if rate > 0 {
                tokio::select! {
                    permit = user.throttles().wait(REQUEST_THROTTLE) => {
                        let permit = permit?;
                        let users = state.users.load(Ordering::Acquire).max(1);
                        let share = Duration::from_secs_f64(users as f64 / rate as f64);
                        request = request.due(permit.due_at()).expected_interval(share);
                    }
                    () = user.stopping() => return Ok(()),
                }
            }
            let backoff = state.error_backoff_ms.load(Ordering::Acquire);
            if request.send().await.is_err() && backoff > 0 {
                state.stats.count(ERROR_BACKOFF_PAUSES, 1);
                state.stats.count(ERROR_BACKOFF_MS_TOTAL, backoff);
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            let think_time = Duration::from_millis(state.think_time_ms.load(Ordering::Acquire));
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
