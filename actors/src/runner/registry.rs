//! The scenarios a runner knows: names and parameters for `list` and the control API, and
//! how to register each on the app that runs it.

use amoc::app::AppBuilder;
use amoc::config::ParamDecl;
use amoc::scenario::Scenario;

type Register = Box<dyn FnOnce(AppBuilder) -> AppBuilder + Send>;

/// Scenarios in registration order, each registered on an app at most once.
#[derive(Default)]
pub(crate) struct Registry {
    entries: Vec<Entry>,
}

struct Entry {
    name: &'static str,
    params: Vec<ParamDecl>,
    register: Register,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Registry {
    /// Adds `scenario` (a second one of the same name is refused by the app at start).
    pub(crate) fn add<S: Scenario>(&mut self, scenario: S) {
        self.entries.push(Entry {
            name: S::NAME,
            params: scenario.params(),
            register: Box::new(move |builder: AppBuilder| builder.scenario(scenario)),
        });
    }

    /// The names, in registration order.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    /// Whether a scenario of this name is registered.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.name == name)
    }

    /// Names and parameters, in registration order.
    pub(crate) fn list(&self) -> Vec<(&'static str, Vec<ParamDecl>)> {
        self.entries
            .iter()
            .map(|e| (e.name, e.params.clone()))
            .collect()
    }

    /// The scenario a command that names none runs: the only one, if there is one only.
    pub(crate) fn default_name(&self) -> Option<&'static str> {
        match &self.entries[..] {
            [only] => Some(only.name),
            _ => None,
        }
    }

    /// Registers every scenario on `builder`.
    pub(crate) fn register_on(self, builder: AppBuilder) -> AppBuilder {
        self.entries
            .into_iter()
            .fold(builder, |builder, e| (e.register)(builder))
    }
}
