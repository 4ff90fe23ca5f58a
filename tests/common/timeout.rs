//! The one bound on every real-time wait of the integration tests: generous, so a busy
//! 2-core CI machine does not flake; a test that passes never waits for it.

use std::time::Duration;

/// How long any awaited condition, event or reply may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);
