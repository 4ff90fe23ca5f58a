//! Resolution and verification at scenario start (SPEC 8.2), as a pure function: explicit
//! setting > `AMOC_<NAME>` > default > unset, every parameter verified, all failures together.

use super::declare::Declarations;
use super::env::{lookup, EnvLookup, EnvSource, ValueParseError};
use super::erased::Stored;
use super::error::{ConfigError, FailureReason, VerificationFailure};
use crate::Value;

/// Something to report (telemetry and a log line) that does not by itself fail the call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Notice {
    /// An `AMOC_*` variable did not parse; it was treated as unset. `failed`: the parameter
    /// then failed verification, and the failure names the variable (so the log line, which
    /// would claim the run goes on, is left out; the event is still emitted).
    EnvInvalid {
        setting: String,
        variable: String,
        error: ValueParseError,
        default: Option<Value>,
        failed: bool,
    },
    /// A verification function panicked (the failure itself is in the error).
    VerifyPanicked {
        setting: String,
        value: Option<Value>,
        reason: String,
    },
}

/// Settings naming undeclared parameters, in the order given (duplicates kept once).
pub(crate) fn undeclared(decls: &Declarations, settings: &[(String, Value)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in settings {
        if decls.get(name).is_none() && !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

/// Verifies one value, recording a notice when the verification function panicked.
pub(crate) fn verify_one(
    decls: &Declarations,
    i: usize,
    raw: Option<&Value>,
    notices: &mut Vec<Notice>,
) -> Result<Option<Stored>, VerificationFailure> {
    let p = decls.at(i);
    p.decl().0.verify(raw).map_err(|reason| {
        if let FailureReason::Panicked(msg) = &reason {
            notices.push(Notice::VerifyPanicked {
                setting: p.name().to_owned(),
                value: raw.cloned(),
                reason: msg.clone(),
            });
        }
        VerificationFailure {
            name: p.name().to_owned(),
            value: raw.cloned(),
            reason,
        }
    })
}

/// Resolves and verifies every declared parameter; the values are in declaration order.
pub(crate) fn resolve(
    decls: &Declarations,
    settings: &[(String, Value)],
    env: &dyn EnvSource,
    notices: &mut Vec<Notice>,
) -> Result<Vec<Option<Stored>>, ConfigError> {
    let unknown = undeclared(decls, settings);
    if !unknown.is_empty() {
        return Err(ConfigError::UndefinedParameters(unknown));
    }
    let mut values = Vec::with_capacity(decls.len());
    let mut failures = Vec::new();
    for (i, p) in decls.iter().enumerate() {
        let explicit = settings.iter().rev().find(|(n, _)| n == p.name());
        let mut unparsable = None;
        let raw = match explicit {
            Some((_, v)) => Some(v.clone()),
            None => match lookup(env, p.name()) {
                EnvLookup::Value(v) => Some(v),
                EnvLookup::Unset => p.decl().default_value(),
                EnvLookup::Invalid { variable, error } => {
                    let default = p.decl().default_value();
                    unparsable = Some(notices.len());
                    notices.push(Notice::EnvInvalid {
                        setting: p.name().to_owned(),
                        variable,
                        error,
                        default: default.clone(),
                        failed: false,
                    });
                    default
                }
            },
        };
        match verify_one(decls, i, raw.as_ref(), notices) {
            Ok(stored) => values.push(stored),
            Err(mut f) => {
                // The true cause is the variable that did not parse, not the unset value.
                if let Some(Notice::EnvInvalid {
                    variable,
                    error,
                    failed,
                    ..
                }) = unparsable.and_then(|n| notices.get_mut(n))
                {
                    *failed = true;
                    f.reason = FailureReason::EnvUnparsable {
                        variable: variable.clone(),
                        text: error.text.clone(),
                    };
                }
                failures.push(f);
            }
        }
    }
    if failures.is_empty() {
        Ok(values)
    } else {
        Err(ConfigError::VerificationFailed(failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MapEnv, ParamSpec, Verdict};
    use serde_json::json;

    fn decls() -> Declarations {
        Declarations::collect([(
            "s",
            vec![
                ParamSpec::<u32>::new("a", "a").default(1).decl(),
                ParamSpec::<String>::new("b", "b").decl(),
                ParamSpec::<u32>::new("c", "c")
                    .default(5)
                    .verify(|v| Verdict::Replace(v * 2))
                    .decl(),
            ],
        )])
        .unwrap()
    }

    fn values(v: &[Option<Stored>]) -> Vec<Option<Value>> {
        v.iter()
            .map(|s| s.as_ref().map(|s| s.value.clone()))
            .collect()
    }

    #[test]
    fn explicit_beats_env_beats_default() {
        let env = MapEnv::new().with("AMOC_A", "2").with("AMOC_B", "x");
        let mut n = Vec::new();
        let got = resolve(&decls(), &[("a".into(), json!(3))], &env, &mut n).unwrap();
        assert_eq!(
            values(&got),
            [Some(json!(3)), Some(json!("x")), Some(json!(10))]
        );
        let got = resolve(&decls(), &[], &env, &mut n).unwrap();
        assert_eq!(
            values(&got),
            [Some(json!(2)), Some(json!("x")), Some(json!(10))]
        );
        let got = resolve(&decls(), &[], &MapEnv::new(), &mut n).unwrap();
        assert_eq!(values(&got), [Some(json!(1)), None, Some(json!(10))]);
        assert!(n.is_empty());
    }

    #[test]
    fn invalid_env_is_a_notice_and_falls_back() {
        let env = MapEnv::new().with("AMOC_A", "two words");
        let mut n = Vec::new();
        let got = resolve(&decls(), &[], &env, &mut n).unwrap();
        assert_eq!(values(&got)[0], Some(json!(1)));
        assert!(
            matches!(&n[..], [Notice::EnvInvalid { setting, default: Some(d), .. }]
            if setting == "a" && *d == json!(1))
        );
    }

    #[test]
    fn invalid_env_of_a_required_parameter_is_the_failure() {
        let decls = Declarations::collect(vec![(
            "s".to_owned(),
            vec![ParamSpec::<String>::new("url", "u").required().decl()],
        )])
        .unwrap();
        let env = MapEnv::new().with("AMOC_URL", "two words");
        let mut n = Vec::new();
        let Err(ConfigError::VerificationFailed(f)) = resolve(&decls, &[], &env, &mut n) else {
            panic!("a failure expected");
        };
        assert_eq!(
            f[0].reason,
            FailureReason::EnvUnparsable {
                variable: "AMOC_URL".into(),
                text: "two words".into()
            }
        );
        assert!(f[0]
            .to_string()
            .contains("AMOC_URL=\"two words\" does not parse"));
        // The event is still emitted; only the log line claiming a fallback is left out.
        assert!(matches!(&n[..], [Notice::EnvInvalid { failed: true, .. }]));
    }

    #[test]
    fn undeclared_before_verification_in_given_order() {
        let mut n = Vec::new();
        let s = [
            ("z".to_owned(), json!(1)),
            ("a".to_owned(), json!("bad")),
            ("y".to_owned(), json!(1)),
        ];
        assert_eq!(
            resolve(&decls(), &s, &MapEnv::new(), &mut n),
            Err(ConfigError::UndefinedParameters(vec![
                "z".into(),
                "y".into()
            ]))
        );
    }
}
