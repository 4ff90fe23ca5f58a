//! The errors of the configuration subsystem: [`ConfigError`] for declaring, resolving and
//! updating, [`GetError`] for reading.

use std::fmt;

use crate::Value;

/// Why one parameter's value was refused (SPEC 8.2, step 4).
#[derive(Debug, Clone, PartialEq)]
pub enum FailureReason {
    /// The verification function returned [`Verdict::Reject`](super::Verdict::Reject).
    Rejected,
    /// The verification function returned [`Verdict::RejectWith`](super::Verdict::RejectWith).
    RejectedWith(String),
    /// The value (or its absence) is not one of the allowed values, listed here.
    NotOneOf(Vec<Value>),
    /// The value does not convert to the declared type; what was expected, in words
    /// (`expected a non-negative integer`, `expected text`).
    TypeMismatch(String),
    /// The parameter is required and has no value.
    Required,
    /// The verification function panicked with this message.
    Panicked(String),
    /// The value came from an `AMOC_*` variable whose text does not parse (SPEC 8.3), and
    /// without it the parameter fails (it is required, or its default is refused).
    EnvUnparsable {
        /// The variable.
        variable: String,
        /// Its text.
        text: String,
    },
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Rejected => f.write_str("rejected"),
            FailureReason::RejectedWith(r) => write!(f, "rejected: {r}"),
            FailureReason::NotOneOf(list) => {
                f.write_str("not one of [")?;
                for (i, v) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            FailureReason::TypeMismatch(t) => f.write_str(t),
            FailureReason::Required => f.write_str("required but unset"),
            FailureReason::Panicked(m) => write!(f, "verification panicked: {m}"),
            FailureReason::EnvUnparsable { variable, text } => write!(
                f,
                "{variable}={text:?} does not parse: expected {}",
                super::env::EXPECTED_FORM
            ),
        }
    }
}

/// What a value of the declared type must look like, in words, from serde's complaint:
/// `invalid type: string "fast", expected u64` gives `expected a non-negative integer`.
/// Types that say it in words already (enums, `UserRate`) keep their own text.
pub(crate) fn expected_in_words(serde_message: &str) -> String {
    let Some((_, expected)) = serde_message.split_once("expected ") else {
        return serde_message.to_owned();
    };
    let words = match expected {
        "u8" => "an integer from 0 to 255",
        "u16" => "an integer from 0 to 65535",
        "u32" => "an integer from 0 to 4294967295",
        "u64" | "u128" | "usize" => "a non-negative integer",
        "i8" => "an integer from -128 to 127",
        "i16" => "an integer from -32768 to 32767",
        "i32" => "an integer from -2147483648 to 2147483647",
        "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" => "text",
        "a character" => "a single character",
        "a sequence" => "a list",
        "unit" => "null",
        "a map" => "an object",
        other if other.starts_with("struct ") => "an object",
        other => other,
    };
    format!("expected {words}")
}

/// One refused parameter: its name, the value it was given (`None` = unset) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationFailure {
    /// The parameter.
    pub name: String,
    /// The value that was verified, `None` when it was unset.
    pub value: Option<Value>,
    /// Why it was refused.
    pub reason: FailureReason,
}

impl fmt::Display for VerificationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{} = {v}: {}", self.name, self.reason),
            None => write!(f, "{} (unset): {}", self.name, self.reason),
        }
    }
}

/// Errors of declaring, resolving ([`Config::resolve`](super::Config::resolve))
/// and updating ([`Config::update_settings`](super::Config::update_settings)) parameters.
/// When one is returned, nothing was published or changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// Declarations that are invalid, each with its reason (bad name, empty description,
    /// empty `OneOf`, a default that is not representable as a value).
    #[error("invalid parameter declarations: {}", list_pairs(.0))]
    InvalidDeclaration(Vec<(String, String)>),
    /// Two components declare the same name and the second does not override.
    #[error("parameter {name:?} declared by {first_owner:?} and again by {second_owner:?} without overriding")]
    ParameterOverriding {
        /// The parameter.
        name: String,
        /// The component that declared it first.
        first_owner: String,
        /// The component that declared it again.
        second_owner: String,
    },
    /// Settings name parameters nobody declared (in the order given).
    #[error("undefined parameters: {}", .0.join(", "))]
    UndefinedParameters(Vec<String>),
    /// Runtime changes of parameters that are read-only, each with its owner.
    #[error("read-only parameters: {}", list_pairs(.0))]
    ReadOnlyParameters(Vec<(String, String)>),
    /// Values refused by verification, in declaration order.
    #[error("verification failed: {}", list_failures(.0))]
    VerificationFailed(Vec<VerificationFailure>),
    /// The config actor is not running.
    #[error("config actor is not running")]
    Down,
}

fn list_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(a, b)| format!("{a} ({b})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_failures(list: &[VerificationFailure]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::expected_in_words;

    fn words_for<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> String {
        let e = serde_json::from_value::<T>(value)
            .err()
            .map(|e| e.to_string());
        expected_in_words(&e.unwrap_or_default())
    }

    #[test]
    fn rust_type_names_become_words() {
        use serde_json::json;
        assert_eq!(words_for::<String>(json!(5)), "expected text");
        assert_eq!(
            words_for::<u64>(json!("fast")),
            "expected a non-negative integer"
        );
        assert_eq!(
            words_for::<u64>(json!(-5)),
            "expected a non-negative integer"
        );
        assert_eq!(
            words_for::<u16>(json!(70000)),
            "expected an integer from 0 to 65535"
        );
        assert_eq!(words_for::<f64>(json!("x")), "expected a number");
        assert_eq!(words_for::<bool>(json!(1)), "expected true or false");
        assert_eq!(words_for::<Vec<u8>>(json!(1)), "expected a list");
    }

    #[test]
    fn no_rust_path_in_any_message() {
        use serde_json::json;
        for text in [
            words_for::<String>(json!([1])),
            words_for::<Vec<String>>(json!("a")),
            words_for::<std::collections::HashMap<String, u8>>(json!(1)),
        ] {
            assert!(!text.contains("::") && !text.contains("alloc"), "{text}");
        }
    }
}

/// Errors of reading a parameter through [`ConfigView`](super::ConfigView).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    /// No such parameter is declared (also emits `[amoc, config, get]`).
    #[error("parameter {0:?} is not declared")]
    Undeclared(String),
    /// The parameter is declared but has no value.
    #[error("parameter {0:?} is unset")]
    Unset(String),
    /// The stored value does not convert to the requested type.
    #[error("parameter {name:?}: {expected}")]
    TypeMismatch {
        /// The parameter.
        name: String,
        /// What the requested type accepts, in words ("expected a non-negative integer").
        expected: String,
    },
}
