//! Built-in scenarios.

mod http;

pub use http::{
    HttpScenario, HttpState, ERROR_BACKOFF_MS_TOTAL, ERROR_BACKOFF_PAUSES, REQUEST_THROTTLE,
};
