#![doc = include_str!("../README.md")]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

pub mod supervisor;
pub mod task;
// pub mod telemetry;

pub use serde_json::Value;
