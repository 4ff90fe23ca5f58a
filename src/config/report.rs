//! Reporting bad-configuration conditions: the `[amoc, config, *]` events and log lines.

use super::env::EXPECTED_FORM;
use super::resolve::Notice;
use crate::telemetry::{monotonic_time, names, Telemetry};
use crate::{measurements, metadata, Value};

pub(crate) fn undeclared_get(telemetry: &Telemetry, name: &str) {
    tracing::error!(setting = name, "no scenario setting");
    telemetry.execute_with(&names::CONFIG_GET, || {
        (
            measurements! { "error" => 1u64 },
            metadata! {
                "monotonic_time" => monotonic_time(),
                "log_level" => "error",
                "msg" => "no scenario setting",
                "setting" => name,
            },
        )
    });
}

pub(crate) fn notice(telemetry: &Telemetry, notice: Notice) {
    match notice {
        Notice::EnvInvalid {
            setting,
            variable,
            error,
            default,
            failed,
        } => {
            if !failed {
                let outcome = match &default {
                    Some(d) => format!("using the default {d}"),
                    None => format!("leaving {setting} unset"),
                };
                tracing::warn!(
                    "cannot parse {variable}={:?} (expected {EXPECTED_FORM}): {outcome}",
                    error.text
                );
            }
            telemetry.execute_with(&names::CONFIG_ENV, move || {
                (
                    measurements! { "error" => 1u64 },
                    metadata! {
                        "monotonic_time" => monotonic_time(),
                        "log_level" => "error",
                        "msg" => "cannot parse environment variable, using default value",
                        "setting" => setting,
                        "error" => error.error,
                        "variable_name" => variable,
                        "variable_value" => error.text,
                        "default_value" => default.unwrap_or(Value::Null),
                    },
                )
            });
        }
        Notice::VerifyPanicked {
            setting,
            value,
            reason,
        } => {
            tracing::error!(setting = %setting, %reason, "verification function panicked");
            telemetry.execute_with(&names::CONFIG_VERIFY, move || {
                (
                    measurements! { "error" => 1u64 },
                    metadata! {
                        "monotonic_time" => monotonic_time(),
                        "log_level" => "error",
                        "msg" => "invalid verification method",
                        "setting" => setting,
                        "verification_method" => "custom",
                        "verification_arg" => value.unwrap_or(Value::Null),
                        "kind" => "panic",
                        "reason" => reason,
                        "stacktrace" => "",
                    },
                )
            });
        }
    }
}
