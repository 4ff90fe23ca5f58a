//! The runner: the `amoc` command line for your own scenarios, and load tests run from code.
//!
//! [`Runner`] gives a program the whole CLI for the scenarios it registers: `run`, `list`,
//! `serve`, `worker`, live progress, the summary, `--users`, `--duration`, `--user-rate`,
//! `--set`, `--events`, `--report`, `--threshold`, `run --cluster URL` (this process the
//! master of the workers' run, see `docs/cluster.md`), Ctrl-C / SIGTERM and the exit codes
//! documented in [`crate::cli`]. The `amoc`
//! binary is such a program, with the built-in `http` scenario and `demo`.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use amoc::prelude::*;
//!
//! struct Shopper;
//!
//! impl SimpleScenario for Shopper {
//!     const NAME: &'static str = "shopper";
//!     type State = ();
//!     type Message = ();
//!
//!     async fn start(&self, _user: UserContext<Self>) -> Result<(), ScenarioError> {
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> ExitCode {
//!     amoc_actors::Runner::new().scenario(Shopper).main()
//! }
//! ```
//!
//! [`LoadTest`] runs one test from code, with the same progress and summary, and returns the
//! [`Outcome`].
//!
//! Guarantees: the summary (and the `--report` file) is made whenever the users were added,
//! also after Ctrl-C, SIGTERM (a second one exits at once) or a failing events file; a test ends when its
//! duration has passed or every user has ended, whichever comes first.

mod cluster_drive;
mod drive;
mod load_test;
mod progress;
mod registry;
mod signal;
mod source;

use std::ffi::OsString;
use std::process::ExitCode;

use amoc::scenario::Scenario;

pub use load_test::{LoadTest, Outcome, RunError, DEFAULT_JOIN_TIMEOUT};
pub use progress::Progress;
pub(crate) use registry::Registry;
pub(crate) use signal::stop_signal;
pub use signal::StopSignal;
pub(crate) use source::RunSource;

use crate::scenarios::HttpScenario;

/// A command line for the scenarios you register; see the [module docs](self).
#[derive(Debug, Default)]
pub struct Runner {
    registry: Registry,
    demo: bool,
    about: Option<String>,
}

impl Runner {
    /// A runner with no scenario yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `scenario` under its `NAME` (`run NAME`, listed by `list`, startable through
    /// `serve`). When only one is registered, `run` needs no name.
    pub fn scenario<S: Scenario>(mut self, scenario: S) -> Self {
        self.registry.add(scenario);
        self
    }

    /// The one-line description `--help` shows.
    pub fn about(mut self, text: impl Into<String>) -> Self {
        self.about = Some(text.into());
        self
    }

    /// Adds the `demo` command: the built-in `http` scenario (registered if it is not yet)
    /// against an embedded target on 127.0.0.1, 6000 users per minute unless told otherwise.
    pub fn http_demo(mut self) -> Self {
        if !self.registry.contains(<HttpScenario as Scenario>::NAME) {
            self.registry.add(HttpScenario);
        }
        self.demo = true;
        self
    }

    /// Parses the process arguments, runs the command and returns the exit code (see
    /// [`crate::cli`]); `fn main() -> ExitCode` returns it.
    pub fn main(self) -> ExitCode {
        self.main_from(std::env::args_os())
    }

    /// As [`Runner::main`], with the arguments given (the program name first).
    pub fn main_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args = args.into_iter().map(Into::into).collect();
        crate::cli::main(self.registry, self.demo, self.about.as_deref(), args)
    }
}
