//! Collecting declarations (SPEC 8.1): the union of every component's parameters, with
//! explicit overrides, checked all at once.

use std::collections::HashMap;

use super::error::ConfigError;
use super::spec::ParamDecl;

/// One declared parameter with the component that owns it.
#[derive(Debug, Clone)]
pub struct DeclaredParam {
    decl: ParamDecl,
    owner: String,
}

impl DeclaredParam {
    /// The declaration.
    pub fn decl(&self) -> &ParamDecl {
        &self.decl
    }
    /// The parameter name.
    pub fn name(&self) -> &str {
        self.decl.name()
    }
    /// The component that declared it (the overriding one, if overridden).
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// The run's parameter set, in declaration order.
///
/// ```
/// use amoc::config::{Declarations, ParamSpec};
/// let decls = Declarations::collect([
///     ("controller", vec![ParamSpec::<u64>::new("user_rate", "users per minute").default(1200).decl()]),
///     ("my_scenario", vec![ParamSpec::<String>::new("host", "target host").decl()]),
/// ]).unwrap();
/// let names: Vec<_> = decls.iter().map(|p| (p.name(), p.owner())).collect();
/// assert_eq!(names, [("user_rate", "controller"), ("host", "my_scenario")]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Declarations {
    params: Vec<DeclaredParam>,
    index: HashMap<String, usize>,
}

impl Declarations {
    /// Collects the declarations of components given as `(owner, params)`, framework
    /// components first and the scenario last. Invalid declarations are all reported in one
    /// [`ConfigError::InvalidDeclaration`]; then a name declared twice, where the later
    /// declaration does not override, is [`ConfigError::ParameterOverriding`]. An overriding
    /// declaration replaces the earlier one in place (the last override wins, its component
    /// becomes the owner).
    pub fn collect<I, O>(components: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (O, Vec<ParamDecl>)>,
        O: Into<String>,
    {
        let all: Vec<DeclaredParam> = components
            .into_iter()
            .flat_map(|(owner, params)| {
                let owner = owner.into();
                params.into_iter().map(move |decl| DeclaredParam {
                    decl,
                    owner: owner.clone(),
                })
            })
            .collect();
        let invalid: Vec<(String, String)> = all
            .iter()
            .flat_map(|p| {
                declaration_problems(&p.decl)
                    .into_iter()
                    .map(|r| (p.name().to_owned(), r))
            })
            .collect();
        if !invalid.is_empty() {
            return Err(ConfigError::InvalidDeclaration(invalid));
        }
        let mut out = Declarations::default();
        for p in all {
            match out.index.get(p.name()) {
                None => {
                    out.index.insert(p.name().to_owned(), out.params.len());
                    out.params.push(p);
                }
                Some(&i) if p.decl.overriding() => out.params[i] = p,
                Some(&i) => {
                    return Err(ConfigError::ParameterOverriding {
                        name: p.name().to_owned(),
                        first_owner: out.params[i].owner.clone(),
                        second_owner: p.owner,
                    })
                }
            }
        }
        Ok(out)
    }

    /// The parameters, in declaration order.
    pub fn iter(&self) -> std::slice::Iter<'_, DeclaredParam> {
        self.params.iter()
    }
    /// The parameter `name`.
    pub fn get(&self, name: &str) -> Option<&DeclaredParam> {
        self.index.get(name).map(|&i| &self.params[i])
    }
    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }
    /// True when nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
    pub(crate) fn at(&self, i: usize) -> &DeclaredParam {
        &self.params[i]
    }
}

/// Whether `name` matches `[a-z][a-z0-9_]{0,63}`.
pub(crate) fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    matches!(b.first(), Some(c) if c.is_ascii_lowercase())
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn declaration_problems(decl: &ParamDecl) -> Vec<String> {
    let mut out = Vec::new();
    if !valid_name(decl.name()) {
        out.push("invalid name, expected [a-z][a-z0-9_]{0,63}".to_owned());
    }
    if decl.description().is_empty() {
        out.push("empty description".to_owned());
    }
    out.extend(decl.0.problems());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ParamSpec;

    #[test]
    fn names() {
        assert!(valid_name("a"));
        assert!(valid_name("var_1"));
        assert!(valid_name(&"a".repeat(64)));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(!valid_name(""));
        assert!(!valid_name("1a"));
        assert!(!valid_name("_a"));
        assert!(!valid_name("Var"));
        assert!(!valid_name("a-b"));
    }

    #[test]
    fn default_that_is_not_a_value_is_invalid() {
        let bad = std::collections::HashMap::from([(vec![1u8], 1u8)]);
        let r = Declarations::collect([(
            "c",
            vec![ParamSpec::new("m", "map with list keys")
                .default(bad)
                .decl()],
        )]);
        assert!(matches!(r, Err(ConfigError::InvalidDeclaration(l))
            if l.len() == 1 && l[0].0 == "m" && l[0].1.contains("default")));
    }

    #[test]
    fn last_override_wins_in_place() {
        let d = |name: &str, def: u32| ParamSpec::<u32>::new(name, "d").default(def);
        let decls = Declarations::collect([
            ("c1", vec![d("a", 1).decl(), d("b", 2).decl()]),
            ("s", vec![d("a", 3).overriding().decl()]),
            ("s2", vec![d("a", 4).overriding().decl()]),
        ])
        .unwrap();
        let got: Vec<_> = decls
            .iter()
            .map(|p| (p.name(), p.owner(), p.decl().default_value()))
            .collect();
        assert_eq!(
            got,
            [("a", "s2", Some(4.into())), ("b", "c1", Some(2.into()))]
        );
    }
}
