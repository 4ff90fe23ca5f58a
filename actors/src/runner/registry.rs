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

#[cfg(test)]
mod tests {
    use super::*;
    use amoc::prelude::*;

    struct A;
    impl SimpleScenario for A {
        const NAME: &'static str = "a";
        type State = ();
        type Message = ();
        async fn start(&self, _: UserContext<Self>) -> Result<(), ScenarioError> {
            Ok(())
        }
    }

    struct B;
    impl SimpleScenario for B {
        const NAME: &'static str = "b";
        type State = ();
        type Message = ();
        fn params(&self) -> Vec<ParamDecl> {
            vec![Param::<u64>::new("n").spec("a number").default(1).into()]
        }
        async fn start(&self, _: UserContext<Self>) -> Result<(), ScenarioError> {
            Ok(())
        }
    }

    #[test]
    fn the_only_scenario_is_the_default_and_order_is_kept() {
        let mut r = Registry::default();
        assert_eq!(r.default_name(), None);
        r.add(B);
        assert_eq!(r.default_name(), Some("b"));
        r.add(A);
        assert_eq!(r.default_name(), None, "two: a name is needed");
        assert_eq!(r.names(), ["b", "a"]);
        assert!(r.contains("a") && !r.contains("c"));
        let listed = r.list();
        assert_eq!(listed[0].1[0].name(), "n");
        assert!(listed[1].1.is_empty());
    }
}
