//! The names a scenario needs, in one import: `use amoc::prelude::*;`.
//!
//! ```
//! use amoc::prelude::*;
//!
//! const PAUSE_MS: Param<u64> = Param::new("pause_ms");
//!
//! struct Nap;
//!
//! impl SimpleScenario for Nap {
//!     const NAME: &'static str = "nap";
//!     type State = ();
//!     type Message = ();
//!
//!     fn params(&self) -> Vec<ParamDecl> {
//!         vec![PAUSE_MS.spec("how long each user naps, in ms").default(100).into()]
//!     }
//!
//!     async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
//!         let pause = Duration::from_millis(PAUSE_MS.get(user.config())?);
//!         match user.recv_timeout(pause).await {
//!             Received::StopRequested => Ok(()),
//!             _ => Ok(()),
//!         }
//!     }
//! }
//! # let _ = Nap;
//! ```

pub use std::time::Duration;

pub use crate::app::App;
pub use crate::config::{Param, ParamDecl, Verdict};
pub use crate::scenario::{RunContext, Scenario, ScenarioError, SimpleScenario, UserContext};
pub use crate::throttle::ThrottleConfig;
pub use crate::users::Received;
pub use crate::Value;
