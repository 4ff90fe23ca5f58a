//! The user rate: how fast the users of a run start (SPEC 5.3). Its one home.
//!
//! Everything about it lives here: the `user_rate` parameter (users per minute or
//! `"infinity"`, default 1200, updatable while a run goes on), the reserved throttle of the
//! same name that paces user start-up, and the [`Gate`] a user passes before `start` runs.
//! The configuration and the throttles know nothing of it: the controller declares the
//! parameter with each run ([`Pacer::declaration`]), starts the throttle when the run starts
//! and stops it when the run finishes; users only see the gate.
//!
//! Guarantees:
//! * While the rate is `infinity` a user starts without touching the throttle (one atomic
//!   read); otherwise it waits for a permit of the `user_rate` throttle.
//! * An accepted update changes the throttle's rate and the gate's shortcut together (the
//!   parameter's update callback).
//! * The throttle's name is reserved while a run holds it: nobody else starts or stops it.
//!
//! Set it like any setting, or typed:
//!
//! ```
//! use amoc::user_rate::UserRate;
//! let settings = vec![UserRate::Infinity.setting(), UserRate::PerMinute(600).setting()];
//! assert_eq!(settings[0], ("user_rate".to_owned(), amoc::Value::from("infinity")));
//! assert_eq!(settings[1].1, amoc::Value::from(600));
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::config::{ConfigView, Param, ParamDecl};
use crate::throttle::{Reservation, ThrottleConfig, ThrottleError, Throttles};
use crate::Value;

/// The name of the parameter and of the throttle that paces user start-up.
pub const THROTTLE: &str = "user_rate";

/// Users started per minute: a non-negative integer, or unlimited (`"infinity"`).
///
/// As a value it is written `1200` or `"infinity"`:
///
/// ```
/// use amoc::user_rate::UserRate;
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

    /// This rate as a run setting, for `start_scenario` and `run`.
    pub fn setting(self) -> (String, Value) {
        let value = match self {
            UserRate::PerMinute(n) => Value::from(n),
            UserRate::Infinity => Value::from("infinity"),
        };
        (THROTTLE.to_owned(), value)
    }

    /// The configuration of the throttle that paces user start-up at this rate.
    fn throttle_config(self) -> ThrottleConfig {
        match self {
            UserRate::PerMinute(n) => ThrottleConfig::rate(n),
            UserRate::Infinity => ThrottleConfig::unlimited(),
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

/// The handle to the `user_rate` parameter.
pub const USER_RATE: Param<UserRate> = Param::new(THROTTLE);

/// The default `user_rate`: 1200 users per minute.
pub const DEFAULT_USER_RATE: UserRate = UserRate::PerMinute(1200);

/// The `user_rate` declaration: default 1200, updatable at run time, with `on_update` called
/// (in its own task) with each new rate. The controller declares it with every run.
///
/// ```
/// use amoc::config::UpdateKind;
/// let decl = amoc::user_rate::declaration(|_name, rate| println!("new user rate: {rate}"));
/// assert_eq!(decl.name(), "user_rate");
/// assert_eq!(decl.default_value(), Some(1200.into()));
/// assert_eq!(decl.update_kind(), UpdateKind::Callback);
/// ```
pub fn declaration(on_update: impl Fn(&str, &UserRate) + Send + Sync + 'static) -> ParamDecl {
    USER_RATE
        .spec("users started per minute: a non-negative integer or \"infinity\"")
        .default(DEFAULT_USER_RATE)
        .on_update(on_update)
        .decl()
}

/// Permission for a user to start: free while the rate is unlimited, else a permit of the
/// `user_rate` throttle. Cheap to clone (two `Arc`s).
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    /// True while the rate is unlimited (kept up to date by the update callback).
    unlimited: Arc<AtomicBool>,
    throttles: Throttles,
}

impl Gate {
    /// True when a user may start without asking the throttle.
    pub(crate) fn open(&self) -> bool {
        self.unlimited.load(Ordering::Acquire)
    }

    /// Waits for a permit; `Err` (the throttle stopped) cancels the user.
    pub(crate) async fn wait(&self) -> Result<(), ThrottleError> {
        self.throttles.wait(THROTTLE).await.map(drop)
    }
}

/// The controller's side for one run: the declaration, then the throttle.
#[derive(Debug)]
pub(crate) struct Pacer {
    gate: Gate,
}

impl Pacer {
    pub(crate) fn new(throttles: Throttles) -> Self {
        Self {
            gate: Gate {
                unlimited: Arc::new(AtomicBool::new(false)),
                throttles,
            },
        }
    }

    /// The parameter for this run: an accepted update moves the gate and the throttle.
    pub(crate) fn declaration(&self) -> ParamDecl {
        let gate = self.gate.clone();
        declaration(move |_, rate: &UserRate| {
            gate.unlimited
                .store(*rate == UserRate::Infinity, Ordering::Release);
            let (throttles, config) = (gate.throttles.clone(), rate.throttle_config());
            actix_rt::spawn(async move {
                if let Err(e) = throttles.change_rate(THROTTLE, config).await {
                    tracing::warn!(error = %e, "cannot apply the new user_rate");
                }
            });
        })
    }

    /// Reserves and starts the throttle at the rate `view` holds (the default if none).
    pub(crate) async fn start(self, view: &ConfigView) -> Result<Paced, ThrottleError> {
        let rate = USER_RATE.get_or(view, DEFAULT_USER_RATE);
        self.gate
            .unlimited
            .store(rate == UserRate::Infinity, Ordering::Release);
        let throttles = &self.gate.throttles;
        let reservation = throttles.reserve(THROTTLE)?;
        if let Err(e) = throttles
            .start_reserved(&reservation, rate.throttle_config())
            .await
        {
            throttles.release(reservation);
            return Err(e);
        }
        Ok(Paced {
            gate: self.gate,
            reservation,
        })
    }
}

/// A run's started `user_rate` throttle; [`Paced::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Paced {
    gate: Gate,
    reservation: Reservation,
}

impl Paced {
    /// The gate of this run's users.
    pub(crate) fn gate(&self) -> Gate {
        self.gate.clone()
    }

    /// Stops the throttle (waiting users are cancelled) and gives up the name.
    pub(crate) async fn stop(self) {
        let throttles = &self.gate.throttles;
        let _ = throttles.stop_reserved(&self.reservation).await;
        throttles.release(self.reservation);
    }
}
