//! The type-erased operations on a declaration, and the stored form of a verified value.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::error::{expected_in_words, FailureReason};
use super::spec::{
    ParamSpec, ParamValue, Update, UpdateKind, Verdict, Verification, VerificationKind,
};
use crate::task::panic_message;
use crate::Value;

/// A verified value as stored in the table: its JSON form and the typed value (for cheap
/// typed reads).
#[derive(Clone)]
pub(crate) struct Stored {
    pub(crate) value: Value,
    pub(crate) typed: Arc<dyn Any + Send + Sync>,
}

impl PartialEq for Stored {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

/// The operations the config needs from a declaration, without its type.
pub(crate) trait ErasedParam: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn description(&self) -> &str;
    fn required(&self) -> bool;
    fn overriding(&self) -> bool;
    fn default_value(&self) -> Option<Value>;
    fn verification_kind(&self) -> VerificationKind;
    fn update_kind(&self) -> UpdateKind;
    /// Problems of the declaration beyond its name and description.
    fn problems(&self) -> Vec<String>;
    /// Converts and verifies a value (`None` = unset); `Ok(None)` = stays unset.
    fn verify(&self, raw: Option<&Value>) -> Result<Option<Stored>, FailureReason>;
    /// True when `new` converts to a value equal to `stored`.
    fn same(&self, new: &Value, stored: &Stored) -> bool;
    /// Runs the update callback, if any, with the stored value.
    fn call_update(&self, stored: &Stored);
}

impl<T: ParamValue> ErasedParam for ParamSpec<T> {
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn required(&self) -> bool {
        self.required
    }
    fn overriding(&self) -> bool {
        self.overriding
    }
    fn default_value(&self) -> Option<Value> {
        self.default
            .as_ref()
            .and_then(|d| serde_json::to_value(d).ok())
    }
    fn verification_kind(&self) -> VerificationKind {
        match &self.verification {
            Verification::Any => VerificationKind::Any,
            Verification::OneOf(l) => VerificationKind::OneOf(
                l.iter()
                    .map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
                    .collect(),
            ),
            Verification::Custom(_) => VerificationKind::Custom,
        }
    }
    fn update_kind(&self) -> UpdateKind {
        match &self.update {
            Update::ReadOnly => UpdateKind::ReadOnly,
            Update::Accept => UpdateKind::Accept,
            Update::Callback(_) => UpdateKind::Callback,
        }
    }
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Verification::OneOf(l) = &self.verification {
            if l.is_empty() {
                out.push("empty one_of list".to_owned());
            }
            if l.iter().any(|v| serde_json::to_value(v).is_err()) {
                out.push("a one_of value is not representable as a value".to_owned());
            }
        }
        if let Some(d) = &self.default {
            match serde_json::to_value(d) {
                Ok(v) if serde_json::from_value::<T>(v.clone()).is_ok() => {}
                _ => out.push("default value is not representable as a value".to_owned()),
            }
        }
        out
    }
    fn verify(&self, raw: Option<&Value>) -> Result<Option<Stored>, FailureReason> {
        let Some(raw) = raw else {
            return match (&self.verification, self.required) {
                (_, true) => Err(FailureReason::Required),
                (Verification::OneOf(_), false) => Err(not_one_of(self)),
                _ => Ok(None),
            };
        };
        let value: T = serde_json::from_value(raw.clone())
            .map_err(|e| FailureReason::TypeMismatch(expected_in_words(&e.to_string())))?;
        let value = match &self.verification {
            Verification::Any => value,
            Verification::OneOf(l) if l.contains(&value) => value,
            Verification::OneOf(_) => return Err(not_one_of(self)),
            Verification::Custom(f) => match catch_unwind(AssertUnwindSafe(|| f(&value))) {
                Ok(Verdict::Accept) => value,
                Ok(Verdict::Reject) => return Err(FailureReason::Rejected),
                Ok(Verdict::RejectWith(r)) => return Err(FailureReason::RejectedWith(r)),
                Ok(Verdict::Replace(v)) => v,
                Err(p) => return Err(FailureReason::Panicked(panic_message(&*p))),
            },
        };
        let json = serde_json::to_value(&value)
            .map_err(|e| FailureReason::RejectedWith(format!("value is not representable: {e}")))?;
        Ok(Some(Stored {
            value: json,
            typed: Arc::new(value),
        }))
    }
    fn same(&self, new: &Value, stored: &Stored) -> bool {
        match (
            serde_json::from_value::<T>(new.clone()),
            stored.typed.downcast_ref::<T>(),
        ) {
            (Ok(n), Some(s)) => n == *s,
            _ => false,
        }
    }
    fn call_update(&self, stored: &Stored) {
        if let (Update::Callback(f), Some(v)) = (&self.update, stored.typed.downcast_ref::<T>()) {
            f(&self.name, v);
        }
    }
}

fn not_one_of<T: ParamValue>(spec: &ParamSpec<T>) -> FailureReason {
    match spec.verification_kind() {
        VerificationKind::OneOf(l) => FailureReason::NotOneOf(l),
        _ => FailureReason::NotOneOf(Vec::new()),
    }
}
