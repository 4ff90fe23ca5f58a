//! Planning a runtime update (SPEC 8.4) as a pure function; the caller stores the plan.

use super::declare::Declarations;
use super::erased::Stored;
use super::error::ConfigError;
use super::resolve::{undeclared, verify_one, Notice};
use super::spec::UpdateKind;
use crate::Value;

/// Checks `settings` against the declarations and current values, in SPEC order:
/// undeclared names, then read-only ones (even unchanged), then unchanged values are dropped,
/// then the rest is verified. Returns the new values to store, in declaration order.
pub(crate) fn plan_update(
    decls: &Declarations,
    current: &[Option<Stored>],
    settings: &[(String, Value)],
    notices: &mut Vec<Notice>,
) -> Result<Vec<(usize, Stored)>, ConfigError> {
    let unknown = undeclared(decls, settings);
    if !unknown.is_empty() {
        return Err(ConfigError::UndefinedParameters(unknown));
    }
    let mut read_only: Vec<(String, String)> = Vec::new();
    for (name, _) in settings {
        if let Some(p) = decls.get(name) {
            let entry = (p.name().to_owned(), p.owner().to_owned());
            if p.decl().update_kind() == UpdateKind::ReadOnly && !read_only.contains(&entry) {
                read_only.push(entry);
            }
        }
    }
    if !read_only.is_empty() {
        return Err(ConfigError::ReadOnlyParameters(read_only));
    }
    // The last setting of a name wins; work in declaration order.
    let mut wanted: Vec<(usize, &Value)> = Vec::new();
    for (i, p) in decls.iter().enumerate() {
        if let Some((_, v)) = settings.iter().rev().find(|(n, _)| n == p.name()) {
            let unchanged = match current.get(i).and_then(Option::as_ref) {
                Some(stored) => p.decl().0.same(v, stored),
                None => false,
            };
            if !unchanged {
                wanted.push((i, v));
            }
        }
    }
    let mut changes = Vec::new();
    let mut failures = Vec::new();
    for (i, v) in wanted {
        match verify_one(decls, i, Some(v), notices) {
            Ok(Some(stored)) => changes.push((i, stored)),
            Ok(None) => {}
            Err(f) => failures.push(f),
        }
    }
    if failures.is_empty() {
        Ok(changes)
    } else {
        Err(ConfigError::VerificationFailed(failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resolve::resolve;
    use crate::config::{FailureReason, MapEnv, ParamSpec};
    use serde_json::json;

    fn setup() -> (Declarations, Vec<Option<Stored>>) {
        let decls = Declarations::collect([(
            "s",
            vec![
                ParamSpec::<u32>::new("ro", "ro").default(1).decl(),
                ParamSpec::<f64>::new("f", "f")
                    .default(1.0)
                    .updatable()
                    .decl(),
                ParamSpec::<u32>::new("o", "o")
                    .one_of(vec![1, 2])
                    .default(1)
                    .updatable()
                    .decl(),
            ],
        )])
        .unwrap();
        let current = resolve(&decls, &[], &MapEnv::new(), &mut Vec::new()).unwrap();
        (decls, current)
    }

    fn s(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn read_only_even_unchanged() {
        let (d, c) = setup();
        let r = plan_update(
            &d,
            &c,
            &s(&[("ro", json!(1)), ("f", json!(2.0))]),
            &mut vec![],
        );
        assert_eq!(
            r,
            Err(ConfigError::ReadOnlyParameters(vec![(
                "ro".into(),
                "s".into()
            )]))
        );
    }

    #[test]
    fn unchanged_compares_typed_values() {
        let (d, c) = setup();
        let r = plan_update(&d, &c, &s(&[("f", json!(1))]), &mut vec![]).unwrap();
        assert!(r.is_empty());
    }

    #[test]
    fn undeclared_first() {
        let (d, c) = setup();
        let r = plan_update(
            &d,
            &c,
            &s(&[("ro", json!(2)), ("x", json!(1))]),
            &mut vec![],
        );
        assert_eq!(r, Err(ConfigError::UndefinedParameters(vec!["x".into()])));
    }

    #[test]
    fn failures_in_declaration_order() {
        let (d, c) = setup();
        let r = plan_update(
            &d,
            &c,
            &s(&[("o", json!(3)), ("f", json!("x"))]),
            &mut vec![],
        );
        let Err(ConfigError::VerificationFailed(f)) = r else {
            panic!("unexpected {r:?}")
        };
        assert_eq!(f[0].name, "f");
        assert!(matches!(f[0].reason, FailureReason::TypeMismatch(_)));
        assert_eq!(
            f[1].reason,
            FailureReason::NotOneOf(vec![json!(1), json!(2)])
        );
    }
}
