//! Scenario configuration: declared parameters, `AMOC_*` environment variables, verification
//! and runtime updates (SPEC section 8).
//!
//! # Declaring parameters
//!
//! A scenario (and every configurable framework component, such as the controller with its
//! `user_rate`) declares the parameters it reads as [`ParamSpec`]s: a name
//! (`[a-z][a-z0-9_]{0,63}`), a description, an optional default, whether it is required, how
//! values are verified ([`Verification`]: `Any`, `OneOf`, or a function returning a
//! [`Verdict`] that accepts, rejects or replaces the value) and whether it may change at run
//! time ([`Update`]: `ReadOnly`, `Accept`, or a callback). Declarations of different types
//! are mixed as type-erased [`ParamDecl`]s, and read back through typed [`Param`] handles:
//!
//! ```
//! use amoc::config::{Param, ParamDecl, Verdict};
//!
//! const HOST: Param<String> = Param::new("host");
//! const INTERVAL_MS: Param<u64> = Param::new("interval_ms");
//! const PROTOCOL: Param<String> = Param::new("protocol");
//!
//! fn params() -> Vec<ParamDecl> {
//!     vec![
//!         HOST.spec("target host").default("localhost".into()).into(),
//!         INTERVAL_MS
//!             .spec("pause between requests, in ms")
//!             .default(1000)
//!             .verify(|ms| if *ms > 0 { Verdict::Accept } else { Verdict::Reject })
//!             .on_update(|name, ms| println!("{name} is now {ms}"))
//!             .into(),
//!         PROTOCOL.spec("wire protocol").one_of(vec!["http".into(), "ws".into()])
//!             .default("http".into()).into(),
//!     ]
//! }
//! # assert_eq!(params().len(), 3);
//! ```
//!
//! [`Declarations::collect`] makes the run's parameter set from every component's
//! declarations (framework components first, the scenario last). A name declared twice fails
//! with [`ConfigError::ParameterOverriding`] unless the later declaration is marked
//! `overriding()`; invalid declarations are all listed in one
//! [`ConfigError::InvalidDeclaration`].
//!
//! # Where values come from
//!
//! [`Config::resolve`] (called by the controller when a scenario starts) gives each parameter,
//! in declaration order, the first of: an explicit setting (API, CLI `--set name=value`, HTTP),
//! the environment variable `AMOC_<NAME>` (the name upper-cased, see [`env_var_name`]), the
//! declared default. Then every value is converted to its type and verified, defaults
//! included. Settings naming undeclared parameters fail first, with
//! [`ConfigError::UndefinedParameters`], before anything is verified; otherwise all refused
//! values are reported together in one [`ConfigError::VerificationFailed`], in declaration
//! order. On error nothing is published: the previous table stays as it was.
//!
//! # The value format
//!
//! Environment variables (and the CLI's `--set`) hold text, parsed by [`parse_value`]: as
//! **JSON** first; failing that, a single token without whitespace, quotes, brackets, braces
//! or commas is the **string** it spells. Unset or empty variables are ignored.
//!
//! | shell | value |
//! | --- | --- |
//! | `AMOC_INTERVAL_MS=600` | `600` |
//! | `AMOC_RATIO=0.25`, `AMOC_LIMIT=1e3`, `AMOC_DEBUG=true` | `0.25`, `1000.0`, `true` |
//! | `AMOC_HOST=localhost:8080`, `AMOC_USER_RATE=infinity` | `"localhost:8080"`, `"infinity"` |
//! | `AMOC_GREETING='"hello world"'` | `"hello world"` |
//! | `AMOC_PORTS='[80, 443]'`, `AMOC_HEADERS='{"a": 1}'` | a list, a map |
//! | `AMOC_PORTS='[1,'`, `AMOC_GREETING='two words'` | parse error |
//!
//! Text that does not parse is not fatal: it is reported (a `tracing` warning naming the
//! variable, its text and the expected form, and the `[amoc, config, env]` event) and the
//! parameter resolves as if the variable were unset. A value that parses but has the wrong
//! type (`AMOC_INTERVAL_MS=fast` for a `u64`) is a verification failure
//! ([`FailureReason::TypeMismatch`]) and stops the start. Text that is valid JSON keeps its
//! JSON type: a `String` parameter set to digits needs JSON quotes (`AMOC_NAME='"600"'`).
//!
//! # Reading
//!
//! [`ConfigView`] reads the published table from any thread without locks or messages;
//! [`Param::get`] / [`ConfigView::get`] return `Undeclared` (and emit `[amoc, config, get]`),
//! `Unset` or `TypeMismatch` errors.
//!
//! # Runtime updates
//!
//! [`Config::update_settings`] is all-or-nothing. It fails, changing nothing, on undeclared
//! names ([`ConfigError::UndefinedParameters`]), then on read-only parameters even with an
//! unchanged value ([`ConfigError::ReadOnlyParameters`]), then on refused values
//! ([`ConfigError::VerificationFailed`]). Unchanged values are dropped before verification.
//! Otherwise all new values are published at once and the call returns; each changed
//! parameter's update callback then runs in its own task. A panicking callback is logged with
//! the parameter name and does not undo the update.
//!
//! # Failure and restarts
//!
//! Writes go through the [`ConfigActor`]; the table lives in the [`Config`] handle, so a
//! restarted actor keeps it. While no actor runs, writes fail with [`ConfigError::Down`] and
//! reads go on. A panicking verification function is caught: it is a
//! [`FailureReason::Panicked`] failure and emits `[amoc, config, verify]`.

mod actor;
mod declare;
mod env;
mod erased;
mod error;
mod report;
mod resolve;
mod spec;
mod update;
mod view;

use std::sync::{Arc, Mutex};

use actix::{Actor, Addr};
use arc_swap::ArcSwap;

pub use actor::ConfigActor;
pub use declare::{Declarations, DeclaredParam};
pub use env::{
    env_var_name, parse_value, EnvSource, MapEnv, ProcessEnv, ValueParseError, EXPECTED_FORM,
};
pub use error::{ConfigError, FailureReason, GetError, VerificationFailure};
pub use spec::{
    Param, ParamDecl, ParamSpec, ParamValue, Update, UpdateFn, UpdateKind, Verdict, Verification,
    VerificationKind, VerifyFn,
};
pub use view::ConfigView;

use crate::telemetry::Telemetry;
use crate::Value;
use view::{Snapshot, Table};

/// The handle to one configuration: the published table, the environment it reads and the
/// telemetry it reports to. Cheap to clone, usable from any thread.
///
/// ```
/// use amoc::config::{Config, ConfigError, Declarations, MapEnv, ParamSpec};
/// use serde_json::json;
/// # actix_rt::System::new().block_on(async {
/// let config = Config::with_env(amoc::telemetry::Telemetry::new(), MapEnv::new().with("AMOC_SIZE", "128"));
/// config.start();
/// let decls = Declarations::collect([("demo", vec![
///     ParamSpec::<u32>::new("size", "payload size").default(64).updatable().decl(),
/// ])]).unwrap();
/// config.resolve(decls, vec![]).await.unwrap();
/// assert_eq!(config.view().get::<u32>("size"), Ok(128));
/// config.update_settings(vec![("size".into(), json!(256))]).await.unwrap();
/// assert_eq!(config.view().get::<u32>("size"), Ok(256));
/// assert_eq!(
///     config.update_settings(vec![("nope".into(), json!(1))]).await,
///     Err(ConfigError::UndefinedParameters(vec!["nope".into()]))
/// );
/// # });
/// ```
#[derive(Clone)]
pub struct Config {
    shared: Arc<Shared>,
}

struct Shared {
    table: Table,
    telemetry: Telemetry,
    env: Arc<dyn EnvSource>,
    actor: Mutex<Option<Addr<ConfigActor>>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("env", &self.shared.env)
            .field("view", &self.view())
            .finish()
    }
}

impl Config {
    /// A configuration reading the process environment; nothing declared yet.
    pub fn new(telemetry: Telemetry) -> Self {
        Self::with_env(telemetry, ProcessEnv)
    }

    /// A configuration reading `env` instead of the process environment.
    pub fn with_env(telemetry: Telemetry, env: impl EnvSource + 'static) -> Self {
        Self::with_env_arc(telemetry, Arc::new(env))
    }

    /// As [`with_env`](Self::with_env), with a shared source.
    pub fn with_env_arc(telemetry: Telemetry, env: Arc<dyn EnvSource>) -> Self {
        Self {
            shared: Arc::new(Shared {
                table: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
                telemetry,
                env,
                actor: Mutex::new(None),
            }),
        }
    }

    /// Starts the [`ConfigActor`] on the current arbiter (inside an actix system).
    pub fn start(&self) -> Addr<ConfigActor> {
        let addr = ConfigActor::new(self.clone()).start();
        self.set_actor(Some(addr.clone()));
        addr
    }

    /// A reader of the published table.
    pub fn view(&self) -> ConfigView {
        ConfigView {
            table: self.shared.table.clone(),
            telemetry: self.shared.telemetry.clone(),
        }
    }

    /// Resolves and verifies `decls` with the explicit `settings` (SPEC 8.2) and, if every
    /// value is accepted, publishes them, replacing the previous run's table. Errors:
    /// `UndefinedParameters`, `VerificationFailed`, `Down`.
    pub async fn resolve(
        &self,
        decls: Declarations,
        settings: Vec<(String, Value)>,
    ) -> Result<(), ConfigError> {
        self.actor()?
            .send(actor::Resolve { decls, settings })
            .await
            .map_err(|_| ConfigError::Down)?
    }

    /// Changes parameters at run time (SPEC 8.4), all or nothing. Returns once the new values
    /// are published; update callbacks run afterwards, each in its own task. Errors:
    /// `UndefinedParameters`, `ReadOnlyParameters`, `VerificationFailed`, `Down`.
    pub async fn update_settings(&self, settings: Vec<(String, Value)>) -> Result<(), ConfigError> {
        self.actor()?
            .send(actor::Update(settings))
            .await
            .map_err(|_| ConfigError::Down)?
    }

    /// Clears the table: nothing is declared afterwards. Error: `Down`.
    pub async fn reset(&self) -> Result<(), ConfigError> {
        self.actor()?
            .send(actor::Reset)
            .await
            .map_err(|_| ConfigError::Down)
    }

    fn actor(&self) -> Result<Addr<ConfigActor>, ConfigError> {
        let slot = crate::sync::lock(&self.shared.actor);
        match &*slot {
            Some(a) if a.connected() => Ok(a.clone()),
            _ => Err(ConfigError::Down),
        }
    }

    pub(crate) fn set_actor(&self, addr: Option<Addr<ConfigActor>>) {
        *crate::sync::lock(&self.shared.actor) = addr;
    }

    pub(crate) fn table(&self) -> &Table {
        &self.shared.table
    }

    pub(crate) fn telemetry(&self) -> &Telemetry {
        &self.shared.telemetry
    }

    pub(crate) fn env(&self) -> &Arc<dyn EnvSource> {
        &self.shared.env
    }
}
