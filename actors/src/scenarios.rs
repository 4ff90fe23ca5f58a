//! Built-in scenarios.

mod http;

pub use http::{HttpScenario, HttpState, REQUEST_THROTTLE};
