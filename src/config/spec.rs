//! Declaring parameters: the typed [`ParamSpec`], its type-erased form [`ParamDecl`] and the
//! typed read handle [`Param`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::erased::ErasedParam;
use super::error::GetError;
use super::view::ConfigView;
use crate::Value;

/// What a parameter value must be: serde-convertible, comparable, printable, shareable.
pub trait ParamValue:
    Serialize + DeserializeOwned + Clone + PartialEq + fmt::Debug + Send + Sync + 'static
{
}
impl<T> ParamValue for T where
    T: Serialize + DeserializeOwned + Clone + PartialEq + fmt::Debug + Send + Sync + 'static
{
}

/// The answer of a custom verification function.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<T> {
    /// The value is fine as it is.
    Accept,
    /// The value is refused (reason [`FailureReason::Rejected`](super::FailureReason::Rejected)).
    Reject,
    /// The value is refused with a reason ([`FailureReason::RejectedWith`](super::FailureReason::RejectedWith)).
    RejectWith(String),
    /// The value is accepted and this (preprocessed) value is stored instead.
    Replace(T),
}

/// A custom verification function.
pub type VerifyFn<T> = Arc<dyn Fn(&T) -> Verdict<T> + Send + Sync>;
/// A runtime-update callback: called with the parameter name and its new value.
pub type UpdateFn<T> = Arc<dyn Fn(&str, &T) + Send + Sync>;

/// How a value is verified (defaults included).
#[derive(Clone)]
pub enum Verification<T> {
    /// Any value of the type is accepted; unset is accepted unless required.
    Any,
    /// The value must equal one of these (non-empty); unset fails.
    OneOf(Vec<T>),
    /// A function decides; it is not called for an unset value. A panic is a failure.
    Custom(VerifyFn<T>),
}

impl<T: fmt::Debug> fmt::Debug for Verification<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verification::Any => f.write_str("Any"),
            Verification::OneOf(l) => f.debug_tuple("OneOf").field(l).finish(),
            Verification::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Whether (and how) a parameter may change while a run goes on.
#[derive(Clone)]
pub enum Update<T> {
    /// Runtime changes are refused with `ReadOnlyParameters`.
    ReadOnly,
    /// Runtime changes are stored; nobody is told.
    Accept,
    /// Runtime changes are stored, then the callback runs in its own task.
    Callback(UpdateFn<T>),
}

impl<T> fmt::Debug for Update<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Update::ReadOnly => "ReadOnly",
            Update::Accept => "Accept",
            Update::Callback(_) => "Callback(..)",
        })
    }
}

/// The kind of a declaration's verification, without its type (for listing).
#[derive(Debug, Clone, PartialEq)]
pub enum VerificationKind {
    /// [`Verification::Any`].
    Any,
    /// [`Verification::OneOf`], its values as JSON.
    OneOf(Vec<Value>),
    /// [`Verification::Custom`].
    Custom,
}

/// The kind of a declaration's update rule, without its type (for listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// [`Update::ReadOnly`].
    ReadOnly,
    /// [`Update::Accept`].
    Accept,
    /// [`Update::Callback`].
    Callback,
}

/// A typed parameter declaration (SPEC 8.1). Build it with [`ParamSpec::new`] and the builder
/// methods, then turn it into a [`ParamDecl`] with [`ParamSpec::decl`] (or `.into()`).
///
/// ```
/// use amoc::config::{ParamSpec, Verdict};
/// let decl = ParamSpec::<u64>::new("interval_ms", "pause between requests, in ms")
///     .default(250)
///     .verify(|v| if *v > 0 { Verdict::Accept } else { Verdict::RejectWith("must be > 0".into()) })
///     .decl();
/// assert_eq!(decl.name(), "interval_ms");
/// assert_eq!(decl.default_value(), Some(amoc::Value::from(250)));
/// ```
#[derive(Debug, Clone)]
pub struct ParamSpec<T> {
    /// `[a-z][a-z0-9_]{0,63}`.
    pub name: String,
    /// Non-empty UTF-8 text.
    pub description: String,
    /// The default value; `None` = unset unless given.
    pub default: Option<T>,
    /// An unset value fails verification with [`FailureReason::Required`](super::FailureReason::Required).
    pub required: bool,
    /// How values are verified.
    pub verification: Verification<T>,
    /// Whether the value may change at run time.
    pub update: Update<T>,
    /// This declaration replaces another component's declaration of the same name.
    pub overriding: bool,
}

impl<T: ParamValue> ParamSpec<T> {
    /// A declaration with no default, not required, `Any`, `ReadOnly`, not overriding.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            default: None,
            required: false,
            verification: Verification::Any,
            update: Update::ReadOnly,
            overriding: false,
        }
    }
    /// Sets the default value.
    pub fn default(mut self, value: T) -> Self {
        self.default = Some(value);
        self
    }
    /// Makes an unset value a verification failure.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Only these values are allowed.
    pub fn one_of(mut self, values: Vec<T>) -> Self {
        self.verification = Verification::OneOf(values);
        self
    }
    /// A custom verification function.
    pub fn verify(mut self, f: impl Fn(&T) -> Verdict<T> + Send + Sync + 'static) -> Self {
        self.verification = Verification::Custom(Arc::new(f));
        self
    }
    /// Runtime changes are stored without a callback.
    pub fn updatable(mut self) -> Self {
        self.update = Update::Accept;
        self
    }
    /// Runtime changes are stored, then `f(name, new_value)` runs in its own task.
    pub fn on_update(mut self, f: impl Fn(&str, &T) + Send + Sync + 'static) -> Self {
        self.update = Update::Callback(Arc::new(f));
        self
    }
    /// This declaration replaces an earlier one of the same name.
    pub fn overriding(mut self) -> Self {
        self.overriding = true;
        self
    }
    /// The type-erased declaration.
    pub fn decl(self) -> ParamDecl {
        ParamDecl(Arc::new(self))
    }
}

impl<T: ParamValue> From<ParamSpec<T>> for ParamDecl {
    fn from(spec: ParamSpec<T>) -> Self {
        spec.decl()
    }
}

/// A declaration of any value type, as a scenario's or component's `params()` returns them.
///
/// ```
/// use amoc::config::{ParamDecl, ParamSpec, UpdateKind, VerificationKind};
/// let params: Vec<ParamDecl> = vec![
///     ParamSpec::<String>::new("host", "target host").default("localhost".into()).into(),
///     ParamSpec::<u16>::new("port", "target port").one_of(vec![80, 443]).default(80).into(),
/// ];
/// assert_eq!(params[1].verification_kind(), VerificationKind::OneOf(vec![80.into(), 443.into()]));
/// assert_eq!(params[0].update_kind(), UpdateKind::ReadOnly);
/// ```
#[derive(Clone)]
pub struct ParamDecl(pub(crate) Arc<dyn ErasedParam>);

impl ParamDecl {
    /// The parameter name.
    pub fn name(&self) -> &str {
        self.0.name()
    }
    /// Its description.
    pub fn description(&self) -> &str {
        self.0.description()
    }
    /// Whether an unset value fails verification.
    pub fn required(&self) -> bool {
        self.0.required()
    }
    /// Whether it overrides an earlier declaration of the same name.
    pub fn overriding(&self) -> bool {
        self.0.overriding()
    }
    /// The default value as JSON (`None` when there is none).
    pub fn default_value(&self) -> Option<Value> {
        self.0.default_value()
    }
    /// The kind of its verification.
    pub fn verification_kind(&self) -> VerificationKind {
        self.0.verification_kind()
    }
    /// The kind of its update rule.
    pub fn update_kind(&self) -> UpdateKind {
        self.0.update_kind()
    }
}

impl fmt::Debug for ParamDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamDecl")
            .field("name", &self.name())
            .field("description", &self.description())
            .field("default", &self.default_value())
            .field("required", &self.required())
            .field("verification", &self.verification_kind())
            .field("update", &self.update_kind())
            .field("overriding", &self.overriding())
            .finish()
    }
}

/// A typed handle to a parameter, declared once as a constant and read from any thread.
///
/// ```
/// use amoc::config::{Param, Verdict};
/// const INTERVAL_MS: Param<u64> = Param::new("interval_ms");
/// let decl = INTERVAL_MS.spec("pause between requests, in ms").default(250).decl();
/// assert_eq!(decl.name(), "interval_ms");
/// // In scenario code: `let interval = INTERVAL_MS.get(&view)?;`
/// ```
pub struct Param<T> {
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> Param<T> {
    /// A handle to the parameter `name`.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _type: PhantomData,
        }
    }
    /// The parameter name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<T: ParamValue> Param<T> {
    /// Starts a declaration of this parameter.
    pub fn spec(&self, description: impl Into<String>) -> ParamSpec<T> {
        ParamSpec::new(self.name, description)
    }
    /// Reads the value (see [`ConfigView::get`]).
    pub fn get(&self, view: &ConfigView) -> Result<T, GetError> {
        view.get(self.name)
    }
    /// Reads the value, or `fallback` when it is not set (see [`ConfigView::get_or`]).
    pub fn get_or(&self, view: &ConfigView, fallback: T) -> T {
        view.get_or(self.name, fallback)
    }
}

impl<T> Clone for Param<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Param<T> {}

impl<T> fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Param<{}>({:?})", std::any::type_name::<T>(), self.name)
    }
}
