//! The event catalogue: every event amoc-rs emits, by name (SPEC 2.4 and 2.7).
//!
//! Every non-span `amoc` event carries `monotonic_time` in its metadata. Log-like events
//! carry a measurement named after their level (`debug`, `info`, `warning`, `error`) = 1,
//! and metadata `log_level` and `msg`.

#![allow(missing_docs)]

use super::{EventName, SpanName};
use crate::{event_name, span_name};

// Telemetry's own events.
/// `[telemetry, handler, failure]`: a handler was detached after it failed.
pub static HANDLER_FAILURE: EventName = event_name!(telemetry, handler, failure);
/// `[telemetry, handler, dropped]`: a handler's queue overflowed since the last report.
pub static HANDLER_DROPPED: EventName = event_name!(telemetry, handler, dropped);

// Scenario spans.
/// `[amoc, scenario, init, start | stop | exception]`.
pub static SCENARIO_INIT: SpanName = span_name!(amoc, scenario, init);
/// `[amoc, scenario, start, start | stop | exception]`: one user's `start`.
pub static SCENARIO_START: SpanName = span_name!(amoc, scenario, start);
/// `[amoc, scenario, terminate, start | stop | exception]`.
pub static SCENARIO_TERMINATE: SpanName = span_name!(amoc, scenario, terminate);

/// `[amoc, controller, users]`: users added or removed.
pub static CONTROLLER_USERS: EventName = event_name!(amoc, controller, users);

/// `[amoc, throttle, init]`.
pub static THROTTLE_INIT: EventName = event_name!(amoc, throttle, init);
/// `[amoc, throttle, rate]`.
pub static THROTTLE_RATE: EventName = event_name!(amoc, throttle, rate);
/// `[amoc, throttle, request]`.
pub static THROTTLE_REQUEST: EventName = event_name!(amoc, throttle, request);
/// `[amoc, throttle, execute]`.
pub static THROTTLE_EXECUTE: EventName = event_name!(amoc, throttle, execute);
/// `[amoc, throttle, process]`.
pub static THROTTLE_PROCESS: EventName = event_name!(amoc, throttle, process);

/// `[amoc, coordinator, start]`.
pub static COORDINATOR_START: EventName = event_name!(amoc, coordinator, start);
/// `[amoc, coordinator, stop]`.
pub static COORDINATOR_STOP: EventName = event_name!(amoc, coordinator, stop);
/// `[amoc, coordinator, add]`.
pub static COORDINATOR_ADD: EventName = event_name!(amoc, coordinator, add);
/// `[amoc, coordinator, reset]`.
pub static COORDINATOR_RESET: EventName = event_name!(amoc, coordinator, reset);
/// `[amoc, coordinator, timeout]`.
pub static COORDINATOR_TIMEOUT: EventName = event_name!(amoc, coordinator, timeout);
/// `[amoc, coordinator, execute]`.
pub static COORDINATOR_EXECUTE: EventName = event_name!(amoc, coordinator, execute);

/// `[amoc, config, get]`.
pub static CONFIG_GET: EventName = event_name!(amoc, config, get);
/// `[amoc, config, verify]`.
pub static CONFIG_VERIFY: EventName = event_name!(amoc, config, verify);
/// `[amoc, config, env]`.
pub static CONFIG_ENV: EventName = event_name!(amoc, config, env);
