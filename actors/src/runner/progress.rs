//! Progress that fits where it runs: one status line redrawn in place on a terminal, plain
//! timestamped lines when the output is a file or a pipe (logs, CI), or nothing.

use std::io::IsTerminal;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// The chosen display for one test.
#[derive(Debug)]
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

/// `2026-12-01T20:31:05Z`: the UTC time, to the second.
pub(crate) fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Year, month, day of the `days`-th day after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        utc_timestamp(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn timestamps_are_utc_calendar_times() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_208_000 + 3_723), "2024-02-29T13:02:03Z");
        assert_eq!(at(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
    }
}
