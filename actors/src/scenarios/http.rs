//! The built-in HTTP scenario: each user sends `GET url` in a loop until asked to stop.

use std::time::Duration;

use amoc::config::{Param, ParamDecl, Verdict};
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::throttle::ThrottleConfig;
use amoc::users::UserContext;

use crate::http;

const URL: Param<String> = Param::new("url");
const REQUEST_RATE: Param<u64> = Param::new("request_rate");
const THINK_TIME_MS: Param<u64> = Param::new("think_time_ms");

/// The throttle that paces requests when `request_rate` > 0.
pub const REQUEST_THROTTLE: &str = "http_requests";

/// Pause after a failed request, so an unreachable server is not hammered in a hot loop.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Users loop on `GET url`, optionally paced by a shared throttle and a think time.
///
/// Parameters: `url` (required; must start with `http://`), `request_rate` (requests per
/// second over all users, 0 = unlimited, default 0), `think_time_ms` (pause between one
/// user's requests, default 0; updatable while the test runs, users read it before each
/// pause). `init` checks that the URL answers before any user starts.
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpScenario;

/// What `init` resolved for the run.
#[derive(Debug)]
pub struct HttpState {
    /// The URL every user requests.
    pub url: String,
    /// Whether requests wait on [`REQUEST_THROTTLE`].
    pub throttled: bool,
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
                    if url.starts_with("http://") {
                        Verdict::Accept
                    } else {
                        Verdict::RejectWith("must start with http://".into())
                    }
                })
                .decl(),
            REQUEST_RATE
                .spec("requests per second over all users (0 = unlimited)")
                .default(0)
                .decl(),
            THINK_TIME_MS
                .spec("pause between one user's requests, in milliseconds (updatable)")
                .default(0)
                .updatable()
                .decl(),
        ]
    }

    async fn init(&self, ctx: RunContext) -> Result<HttpState, ScenarioError> {
        let url = URL.get(ctx.config())?;
        http::get(ctx.telemetry(), &url)
            .await
            .map_err(|e| format!("cannot reach {url}: {}", e.reason))?;
        let rate = REQUEST_RATE.get(ctx.config())?;
        if rate > 0 {
            let config = ThrottleConfig::rate_per(rate, Duration::from_secs(1));
            ctx.throttles().start(REQUEST_THROTTLE, config).await?;
        }
        Ok(HttpState {
            url,
            throttled: rate > 0,
        })
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        let state = user.state().clone();
        let telemetry = user.telemetry().clone();
        while !user.stop_requested() {
            if state.throttled {
                tokio::select! {
                    permit = user.throttles().wait(REQUEST_THROTTLE) => { permit?; }
                    () = user.stopping() => return Ok(()),
                }
            }
            if http::get(&telemetry, &state.url).await.is_err() {
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
            let think_time = Duration::from_millis(THINK_TIME_MS.get(user.config())?);
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
