//! The load generator's own CPU use, from `/proc/self/stat` (user + system time of every
//! thread), and the saturation verdict: when amoc itself is near its cores' limit, the
//! figures describe the generator rather than the target.

use std::time::Instant;

use super::model::GeneratorReport;

/// A second counts as saturated at this share of every core.
const SATURATED: f64 = 0.9;
/// Clock ticks per second of `/proc/self/stat` times (USER_HZ, 100 on every Linux port).
const TICKS_PER_S: f64 = 100.0;

/// Measures CPU use between two calls.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    last: Option<(Instant, f64)>,
}

impl CpuMeter {
    /// Starts measuring now.
    pub(crate) fn new() -> Self {
        Self {
            last: process_cpu_seconds().map(|s| (Instant::now(), s)),
        }
    }

    /// CPU use since the last call, in percent of one core (0 where it cannot be read).
    pub(crate) fn sample(&mut self) -> f64 {
        let now = Instant::now();
        let Some(cpu) = process_cpu_seconds() else {
            return 0.0;
        };
        let percent = match self.last {
            Some((at, before)) => {
                let wall = now.duration_since(at).as_secs_f64();
                if wall > 0.0 {
                    100.0 * (cpu - before).max(0.0) / wall
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        self.last = Some((now, cpu));
        percent
    }
}

/// User + system CPU seconds of this process.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&stat)
}

/// Fields 14 and 15 (utime, stime) of a `/proc/PID/stat` line, in seconds. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_S)
}

/// Cores available to this process.
pub(crate) fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// The verdict over one CPU figure per second (percent of one core) on `cores` cores:
/// saturated when at least a fifth of the seconds used 90 % of every core.
pub(crate) fn verdict(cores: u64, per_second: &[f64]) -> GeneratorReport {
    let limit = SATURATED * 100.0 * cores.max(1) as f64;
    let saturated = per_second.iter().filter(|p| **p >= limit).count() as u64;
    let seconds = per_second.len() as u64;
    let peak = per_second.iter().copied().fold(0.0, f64::max);
    let warning = (saturated > 0 && saturated * 5 >= seconds).then(|| {
        format!(
            "the load generator used over 90% of its {cores} core(s) in {saturated} of {seconds} s: \
             the figures may describe amoc rather than the target (fewer users, more cores or more nodes)"
        )
    });
    GeneratorReport {
        cores,
        peak_cpu_percent: peak,
        saturated_seconds: saturated,
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let line = "42 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0";
        assert_eq!(parse_stat(line), Some(3.0));
        assert_eq!(parse_stat("garbage"), None);
        assert!(process_cpu_seconds().is_some());
    }

    #[test]
    fn saturation_needs_a_fifth_of_the_seconds_near_every_core() {
        let calm = verdict(2, &[50.0, 120.0, 100.0, 30.0, 10.0]);
        assert_eq!((calm.saturated_seconds, calm.warning.is_some()), (0, false));
        assert_eq!(calm.peak_cpu_percent, 120.0);
        let busy = verdict(2, &[185.0, 199.0, 100.0, 30.0, 10.0, 0.0]);
        assert_eq!(busy.saturated_seconds, 2);
        assert!(busy.warning.unwrap().contains("2 core(s) in 2 of 6 s"));
        let blip = verdict(1, &[95.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(blip.warning.is_none());
    }
}
