//! The published table and its lock-free reader, [`ConfigView`] (SPEC 8.5).

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::declare::Declarations;
use super::erased::Stored;
use super::error::GetError;
use super::report;
use crate::telemetry::Telemetry;
use crate::Value;

/// One published state: the declarations and their values, in declaration order.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) decls: Arc<Declarations>,
    pub(crate) values: Vec<Option<Stored>>,
}

pub(crate) type Table = Arc<ArcSwap<Snapshot>>;

/// Reads the current parameter values from any thread or arbiter, without locks or messages.
///
/// A view always reads the latest published table: a runtime update is visible to every view
/// as soon as [`Config::update_settings`](super::Config::update_settings) returns, all of its
/// values at once. Before any scenario started (or after a reset) nothing is declared.
///
/// ```
/// use amoc::config::{Config, Declarations, MapEnv, ParamSpec, GetError};
/// # actix_rt::System::new().block_on(async {
/// let config = Config::with_env(amoc::telemetry::Telemetry::new(), MapEnv::new());
/// config.start();
/// let decls = Declarations::collect([("demo", vec![
///     ParamSpec::<u32>::new("size", "payload size").default(64).decl(),
///     ParamSpec::<String>::new("host", "target host").decl(),
/// ])]).unwrap();
/// config.resolve(decls, vec![]).await.unwrap();
/// let view = config.view();
/// assert_eq!(view.get::<u32>("size"), Ok(64));
/// assert_eq!(view.get::<String>("host"), Err(GetError::Unset("host".into())));
/// assert_eq!(view.get_or("host", "localhost".to_string()), "localhost");
/// # });
/// ```
#[derive(Clone)]
pub struct ConfigView {
    pub(crate) table: Table,
    pub(crate) telemetry: Telemetry,
}

impl std::fmt::Debug for ConfigView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigView")
            .field("values", &self.values())
            .finish()
    }
}

impl ConfigView {
    /// The value of `name` as `T`. `Undeclared` also emits `[amoc, config, get]`; `Unset` when
    /// it has no value; `TypeMismatch` when the value does not convert to `T`. Reading with the
    /// declared type clones the stored value (no allocation for `Copy` types); other types
    /// go through serde.
    pub fn get<T>(&self, name: &str) -> Result<T, GetError>
    where
        T: serde::de::DeserializeOwned + Clone + 'static,
    {
        let snap = self.table.load();
        let Some(i) = snap.decls.index_of(name) else {
            report::undeclared_get(&self.telemetry, name);
            return Err(GetError::Undeclared(name.to_owned()));
        };
        match snap.values.get(i).and_then(Option::as_ref) {
            None => Err(GetError::Unset(name.to_owned())),
            Some(s) => match s.typed.downcast_ref::<T>() {
                Some(v) => Ok(v.clone()),
                None => {
                    serde_json::from_value(s.value.clone()).map_err(|e| GetError::TypeMismatch {
                        name: name.to_owned(),
                        expected: super::error::expected_in_words(&e.to_string()),
                    })
                }
            },
        }
    }

    /// The stored value of `name` if it is set (a stored value always wins), else `fallback`.
    /// An undeclared name also emits `[amoc, config, get]`; a value of another type yields
    /// `fallback`.
    pub fn get_or<T>(&self, name: &str, fallback: T) -> T
    where
        T: serde::de::DeserializeOwned + Clone + 'static,
    {
        self.get(name).unwrap_or(fallback)
    }

    /// Every declared parameter with its value as JSON (`None` = unset), in declaration order.
    pub fn values(&self) -> Vec<(String, Option<Value>)> {
        let snap = self.table.load();
        snap.decls
            .iter()
            .zip(snap.values.iter())
            .map(|(p, v)| (p.name().to_owned(), v.as_ref().map(|s| s.value.clone())))
            .collect()
    }

    /// The declarations of the current run.
    pub fn declarations(&self) -> Arc<Declarations> {
        self.table.load().decls.clone()
    }
}
