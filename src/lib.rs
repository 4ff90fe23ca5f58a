#![doc = include_str!("../README.md")]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

pub mod app;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod coordinator;
pub mod metrics;
pub mod prelude;
pub mod scenario;
pub mod supervisor;
mod sync;
pub mod task;
pub mod telemetry;
pub mod throttle;
pub mod user_rate;
pub mod users;

pub use serde_json::Value;
