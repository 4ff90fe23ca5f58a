//! Progress that fits where it runs: one status line redrawn in place on a terminal, plain
//! timestamped lines when the output is a file or a pipe (logs, CI), or nothing.

use std::io::IsTerminal;
use std::time::SystemTime;

use crate::report::utc_timestamp;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How a test shows its progress on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A live status line when stdout is a terminal, else [`Progress::Lines`].
    #[default]
    Auto,
    /// One line per second, each starting with the UTC time (`2026-12-01T20:31:05Z`).
    Lines,
    /// Nothing: no progress, no summary (the [`Outcome`](super::Outcome) has the numbers).
    Off,
}

/// The chosen display for one test (a clone draws on the same line).
#[derive(Debug, Clone)]
pub(crate) enum View {
    Live(ProgressBar),
    Lines,
    Off,
}

impl View {
    pub(crate) fn new(mode: Progress) -> Self {
        let terminal = std::io::stdout().is_terminal()
            && std::env::var_os("TERM").map_or(true, |t| t != "dumb");
        match mode {
            Progress::Auto if terminal => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                    bar.set_style(style);
                }
                View::Live(bar)
            }
            Progress::Auto | Progress::Lines => View::Lines,
            Progress::Off => View::Off,
        }
    }

    /// A line of its own (what the test does, why it stops), above a live status line.
    pub(crate) fn note(&self, text: &str) {
        match self {
            View::Live(bar) => bar.println(text),
            View::Lines => println!("{text}"),
            View::Off => {}
        }
    }

    /// A warning, on stderr, whatever the mode.
    pub(crate) fn warn(&self, text: &str) {
        match self {
            View::Live(bar) => bar.suspend(|| eprintln!("{text}")),
            View::Lines | View::Off => eprintln!("{text}"),
        }
    }

    /// The current status: redrawn in place, or printed as a timestamped line.
    pub(crate) fn status(&self, text: &str) {
        match self {
            View::Live(bar) => {
                bar.set_message(text.to_owned());
                bar.tick();
            }
            View::Lines => println!("{} {text}", utc_timestamp(SystemTime::now())),
            View::Off => {}
        }
    }

    /// Ends the live line (left in place, so its last figures stay readable), then prints
    /// `summary`.
    pub(crate) fn finish(&self, summary: &str) {
        if let View::Live(bar) = self {
            bar.abandon();
        }
        if !matches!(self, View::Off) {
            print!("{summary}");
        }
    }
}
