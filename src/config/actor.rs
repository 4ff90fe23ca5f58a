//! The config actor: the only writer of the published table.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use actix::{Actor, AsyncContext, Context, Handler, Message};

use super::declare::Declarations;
use super::error::ConfigError;
use super::report;
use super::resolve::resolve;
use super::spec::UpdateKind;
use super::update::plan_update;
use super::view::Snapshot;
use super::Config;
use crate::task::panic_message;
use crate::Value;

/// Owns writes to a [`Config`]'s table: resolution at scenario start, runtime updates, reset.
/// The table lives in the [`Config`] handle, so a restarted actor keeps it; a new actor
/// registers itself with the handle when it starts.
///
/// ```
/// use actix::Actor;
/// use amoc::config::{Config, ConfigActor, ConfigError, MapEnv};
/// # actix_rt::System::new().block_on(async {
/// let config = Config::with_env(amoc::telemetry::Telemetry::new(), MapEnv::new());
/// assert_eq!(config.reset().await, Err(ConfigError::Down));
/// let _addr = ConfigActor::new(config.clone()).start(); // as a supervisor would start it
/// // It registers with the handle once it has started.
/// let mut result = Err(ConfigError::Down);
/// for _ in 0..1000 {
///     result = config.reset().await;
///     if result.is_ok() { break; }
///     tokio::task::yield_now().await;
/// }
/// assert_eq!(result, Ok(()));
/// # });
/// ```
#[derive(Debug)]
pub struct ConfigActor {
    config: Config,
}

impl ConfigActor {
    /// An actor writing to `config`'s table.
    pub fn new(config: Config) -> Self {
        Self { config }
    }
}

impl Actor for ConfigActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.config.set_actor(Some(ctx.address()));
    }
}

pub(crate) struct Resolve {
    pub(crate) decls: Declarations,
    pub(crate) settings: Vec<(String, Value)>,
}

impl Message for Resolve {
    type Result = Result<(), ConfigError>;
}

impl Handler<Resolve> for ConfigActor {
    type Result = Result<(), ConfigError>;

    fn handle(&mut self, msg: Resolve, _: &mut Context<Self>) -> Self::Result {
        let mut notices = Vec::new();
        let result = resolve(
            &msg.decls,
            &msg.settings,
            self.config.env().as_ref(),
            &mut notices,
        );
        for n in notices {
            report::notice(self.config.telemetry(), n);
        }
        let values = result?;
        self.config.table().store(Arc::new(Snapshot {
            decls: Arc::new(msg.decls),
            values,
        }));
        Ok(())
    }
}

pub(crate) struct Update(pub(crate) Vec<(String, Value)>);

impl Message for Update {
    type Result = Result<(), ConfigError>;
}

impl Handler<Update> for ConfigActor {
    type Result = Result<(), ConfigError>;

    fn handle(&mut self, msg: Update, _: &mut Context<Self>) -> Self::Result {
        let table = self.config.table();
        let current = table.load_full();
        let mut notices = Vec::new();
        let plan = plan_update(&current.decls, &current.values, &msg.0, &mut notices);
        for n in notices {
            report::notice(self.config.telemetry(), n);
        }
        let changes = plan?;
        if changes.is_empty() {
            return Ok(());
        }
        let mut values = current.values.clone();
        for (i, stored) in &changes {
            if let Some(slot) = values.get_mut(*i) {
                *slot = Some(stored.clone());
            }
        }
        table.store(Arc::new(Snapshot {
            decls: current.decls.clone(),
            values,
        }));
        for (i, stored) in changes {
            let p = current.decls.at(i);
            if p.decl().update_kind() != UpdateKind::Callback {
                continue;
            }
            let decl = p.decl().clone();
            actix_rt::spawn(async move {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| decl.0.call_update(&stored)))
                {
                    tracing::error!(
                        param = decl.name(),
                        reason = %panic_message(&*payload),
                        "config update callback panicked"
                    );
                }
            });
        }
        Ok(())
    }
}

pub(crate) struct Reset;

impl Message for Reset {
    type Result = ();
}

impl Handler<Reset> for ConfigActor {
    type Result = ();

    fn handle(&mut self, _: Reset, _: &mut Context<Self>) {
        self.config.table().store(Arc::new(Snapshot::default()));
    }
}
