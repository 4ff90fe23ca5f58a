//! Environment values (SPEC 8.3): where `AMOC_<NAME>` variables come from ([`EnvSource`]) and
//! how their text becomes a value ([`parse_value`]).

use std::collections::HashMap;
use std::fmt;

use crate::Value;

/// How the accepted text looks, for warnings.
pub const EXPECTED_FORM: &str = "JSON (600, -3, 0.25, true, \"text\", [80, 443], {\"a\": 1}) \
     or a single bare word without whitespace, quotes, brackets, braces or commas";

/// The environment variable that can set parameter `name`: `AMOC_` + the name upper-cased.
///
/// ```
/// assert_eq!(amoc::config::env_var_name("user_rate"), "AMOC_USER_RATE");
/// ```
pub fn env_var_name(name: &str) -> String {
    format!("AMOC_{}", name.to_ascii_uppercase())
}

/// Where environment variables are read from. Injectable so tests need not touch the process
/// environment.
pub trait EnvSource: Send + Sync + fmt::Debug {
    /// The text of `variable`, `None` when it is not set.
    fn var(&self, variable: &str) -> Option<String>;
}

/// The process environment (`std::env::var`; a value that is not UTF-8 counts as unset).
///
/// ```
/// use amoc::config::{EnvSource, ProcessEnv};
/// assert_eq!(ProcessEnv.var("AMOC_SURELY_NOT_SET_ANYWHERE"), None);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, variable: &str) -> Option<String> {
        std::env::var(variable).ok()
    }
}

/// A fixed set of variables (for tests and embedding).
///
/// ```
/// use amoc::config::{EnvSource, MapEnv};
/// let env = MapEnv::new().with("AMOC_PORT", "8080");
/// assert_eq!(env.var("AMOC_PORT").as_deref(), Some("8080"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MapEnv(HashMap<String, String>);

impl MapEnv {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a variable, builder style.
    pub fn with(mut self, variable: impl Into<String>, text: impl Into<String>) -> Self {
        self.0.insert(variable.into(), text.into());
        self
    }
}

impl EnvSource for MapEnv {
    fn var(&self, variable: &str) -> Option<String> {
        self.0.get(variable).cloned()
    }
}

/// Text that is neither JSON nor a bare word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {text:?}: {error}; expected {EXPECTED_FORM}")]
pub struct ValueParseError {
    /// The text.
    pub text: String,
    /// The JSON parser's complaint.
    pub error: String,
}

/// Parses a setting's text (an environment variable, the CLI's `--set name=value`): JSON
/// first; else a single token without whitespace, quotes, brackets, braces or commas is the
/// string it spells; anything else is an error.
///
/// ```
/// use amoc::config::parse_value;
/// use serde_json::json;
/// assert_eq!(parse_value("600").unwrap(), json!(600));
/// assert_eq!(parse_value("1e3").unwrap(), json!(1000.0));
/// assert_eq!(parse_value("infinity").unwrap(), json!("infinity"));
/// assert_eq!(parse_value("\"hello world\"").unwrap(), json!("hello world"));
/// assert_eq!(parse_value("{\"a\": [80, 443]}").unwrap(), json!({"a": [80, 443]}));
/// assert!(parse_value("[1,").is_err());
/// assert!(parse_value("two words").is_err());
/// ```
pub fn parse_value(text: &str) -> Result<Value, ValueParseError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(_) if is_bare_token(text) => Ok(Value::String(text.to_owned())),
        Err(e) => Err(ValueParseError {
            text: text.to_owned(),
            error: e.to_string(),
        }),
    }
}

fn is_bare_token(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']' | '{' | '}' | ','))
}

/// The outcome of looking up one parameter in the environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EnvLookup {
    /// Unset or empty.
    Unset,
    /// A parsed value.
    Value(Value),
    /// Text that does not parse: the variable, its text and the error.
    Invalid {
        variable: String,
        error: ValueParseError,
    },
}

/// Looks up `AMOC_<NAME>` for parameter `name`.
pub(crate) fn lookup(env: &dyn EnvSource, name: &str) -> EnvLookup {
    let variable = env_var_name(name);
    match env.var(&variable) {
        None => EnvLookup::Unset,
        Some(t) if t.trim().is_empty() => EnvLookup::Unset,
        Some(t) => match parse_value(&t) {
            Ok(v) => EnvLookup::Value(v),
            Err(error) => EnvLookup::Invalid { variable, error },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_table_examples() {
        assert_eq!(parse_value("-3").unwrap(), json!(-3));
        assert_eq!(parse_value("0.25").unwrap(), json!(0.25));
        assert_eq!(parse_value("true").unwrap(), json!(true));
        assert_eq!(
            parse_value("localhost:8080").unwrap(),
            json!("localhost:8080")
        );
        assert_eq!(parse_value("/var/tmp/x").unwrap(), json!("/var/tmp/x"));
        assert_eq!(parse_value("[\"a\",\"b\"]").unwrap(), json!(["a", "b"]));
        assert!(parse_value("'quoted'").is_err());
        assert!(parse_value("a,b").is_err());
        assert!(parse_value("").is_err());
    }

    #[test]
    fn lookup_ignores_unset_and_empty() {
        let env = MapEnv::new().with("AMOC_A", "").with("AMOC_B", "  ");
        assert_eq!(lookup(&env, "a"), EnvLookup::Unset);
        assert_eq!(lookup(&env, "b"), EnvLookup::Unset);
        assert_eq!(lookup(&env, "c"), EnvLookup::Unset);
    }

    #[test]
    fn lookup_reports_invalid_text_with_variable() {
        let env = MapEnv::new().with("AMOC_X", "[1,");
        match lookup(&env, "x") {
            EnvLookup::Invalid { variable, error } => {
                assert_eq!(variable, "AMOC_X");
                assert_eq!(error.text, "[1,");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
