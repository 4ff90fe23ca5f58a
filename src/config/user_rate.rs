//! The controller's built-in `user_rate` parameter (SPEC 5.3).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::spec::{Param, ParamDecl};

/// Users started per minute: a non-negative integer, or unlimited (`"infinity"`).
///
/// As a value it is written `1200` or `"infinity"`:
///
/// ```
/// use amoc::config::UserRate;
/// let r: UserRate = serde_json::from_value(serde_json::json!("infinity")).unwrap();
/// assert_eq!(r, UserRate::Infinity);
/// assert_eq!(serde_json::to_value(UserRate::PerMinute(60)).unwrap(), serde_json::json!(60));
/// assert!(serde_json::from_value::<UserRate>(serde_json::json!(-1)).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRate {
    /// This many users per minute (0: no user starts until it is raised).
    PerMinute(u64),
    /// No limit.
    Infinity,
}

impl UserRate {
    /// Users per minute, `None` when unlimited.
    pub fn per_minute(self) -> Option<u64> {
        match self {
            UserRate::PerMinute(n) => Some(n),
            UserRate::Infinity => None,
        }
    }
}

impl fmt::Display for UserRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRate::PerMinute(n) => write!(f, "{n}"),
            UserRate::Infinity => f.write_str("infinity"),
        }
    }
}

impl Serialize for UserRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UserRate::PerMinute(n) => s.serialize_u64(*n),
            UserRate::Infinity => s.serialize_str("infinity"),
        }
    }
}

impl<'de> Deserialize<'de> for UserRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UserRateVisitor)
    }
}

struct UserRateVisitor;

impl Visitor<'_> for UserRateVisitor {
    type Value = UserRate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer or \"infinity\"")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<UserRate, E> {
        Ok(UserRate::PerMinute(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<UserRate, E> {
        u64::try_from(v)
            .map(UserRate::PerMinute)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<UserRate, E> {
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64 {
            Ok(UserRate::PerMinute(v as u64))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<UserRate, E> {
        match v {
            "infinity" => Ok(UserRate::Infinity),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

/// The handle to the built-in `user_rate` parameter.
pub const USER_RATE: Param<UserRate> = Param::new("user_rate");

/// The default `user_rate`: 1200 users per minute.
pub const DEFAULT_USER_RATE: UserRate = UserRate::PerMinute(1200);

/// The controller's `user_rate` declaration: default 1200, updatable at run time, with
/// `on_update` called (in its own task) with each new rate.
///
/// ```
/// use amoc::config::{user_rate_param, UpdateKind};
/// let decl = user_rate_param(|_name, rate| println!("new user rate: {rate}"));
/// assert_eq!(decl.name(), "user_rate");
/// assert_eq!(decl.default_value(), Some(1200.into()));
/// assert_eq!(decl.update_kind(), UpdateKind::Callback);
/// ```
pub fn user_rate_param(on_update: impl Fn(&str, &UserRate) + Send + Sync + 'static) -> ParamDecl {
    USER_RATE
        .spec("users started per minute: a non-negative integer or \"infinity\"")
        .default(DEFAULT_USER_RATE)
        .on_update(on_update)
        .decl()
}
