//! What a run collects while it goes: one point per second (users, requests, latencies, the
//! generator's CPU) and the last reading of each throttle.

use std::time::Duration;

use amoc::metrics::Snapshot;
use amoc::throttle::{Rate, ThrottleInfo};

use super::cpu::CpuMeter;
use super::model::{per_second, SecondReport, ThrottleReport};

/// The per-second series of a run and its throttles' last readings.
#[derive(Debug)]
pub struct Collector {
    points: Vec<SecondReport>,
    cpu: CpuMeter,
    throttles: Vec<(String, Reading)>,
}

/// What a report needs of a throttle's reading.
#[derive(Debug, Clone, Copy)]
struct Reading {
    rate: Rate,
    interval: Duration,
    granted: u64,
    missed: u64,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector {
    /// Starts collecting (the CPU meter starts now).
    pub fn new() -> Self {
        Self {
            points: Vec::new(),
            cpu: CpuMeter::new(),
            throttles: Vec::new(),
        }
    }

    /// Adds the point of the second ending `t` after the start: `window` is what was recorded
    /// in it (over `span`), `users` the users running.
    pub fn second(&mut self, t: Duration, span: Duration, users: u64, window: &Snapshot) {
        let w = window.total();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let secs = span.as_secs_f64();
        self.points.push(SecondReport {
            t_s: t.as_secs_f64(),
            users,
            ok_per_s: per_second(w.successes(), secs),
            failed_per_s: per_second(w.errors(), secs),
            service_p50_ms: ms(w.latency_at(0.5)),
            service_p95_ms: ms(w.latency_at(0.95)),
            service_p99_ms: ms(w.latency_at(0.99)),
            corrected_p50_ms: ms(w.corrected_at(0.5)),
            corrected_p95_ms: ms(w.corrected_at(0.95)),
            corrected_p99_ms: ms(w.corrected_at(0.99)),
            cpu_percent: self.cpu.sample(),
        });
    }

    /// The latest reading of throttle `name` (kept when it is gone later). The throttle that
    /// paces user starts ([`amoc::user_rate::THROTTLE`]) is left out: it paces no request.
    pub fn throttle(&mut self, name: &str, info: ThrottleInfo) {
        self.throttle_reading(name, info.rate, info.interval, info.granted, info.missed);
    }

    /// As [`Collector::throttle`], from the figures alone: `rate` per `interval`, permits
    /// `granted` and allowance `missed` since the throttle started (a cluster master sums
    /// its workers' reports).
    pub fn throttle_reading(
        &mut self,
        name: &str,
        rate: Rate,
        interval: Duration,
        granted: u64,
        missed: u64,
    ) {
        if name == amoc::user_rate::THROTTLE {
            return;
        }
        let reading = Reading {
            rate,
            interval,
            granted,
            missed,
        };
        match self.throttles.iter_mut().find(|(n, _)| n == name) {
            Some((_, r)) => *r = reading,
            None => self.throttles.push((name.to_owned(), reading)),
        }
    }

    /// The points so far.
    pub fn points(&self) -> &[SecondReport] {
        &self.points
    }

    /// Each throttle's asked and achieved rates over `elapsed`, with a hint when allowance
    /// was missed while `users` users ran.
    pub fn throttle_reports(&self, elapsed: Duration, users: u64) -> Vec<ThrottleReport> {
        let mut out: Vec<_> = self
            .throttles
            .iter()
            .map(|(name, info)| {
                let asked = match info.rate {
                    Rate::Finite(r) if !info.interval.is_zero() => {
                        Some(r as f64 / info.interval.as_secs_f64())
                    }
                    _ => None,
                };
                ThrottleReport {
                    name: name.clone(),
                    asked_per_s: asked,
                    achieved_per_s: per_second(info.granted, elapsed.as_secs_f64()),
                    granted: info.granted,
                    missed: info.missed,
                    hint: missed_hint(info.missed, users),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// "missed 1,969 requests: all 50 users busy; add users or lower the rate".
pub(crate) fn missed_hint(missed: u64, users: u64) -> Option<String> {
    (missed > 0).then(|| {
        format!(
            "missed {} requests: all {} users busy; add users or lower the rate",
            thousands(missed),
            thousands(users)
        )
    })
}

/// `1969` → `1,969`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_group_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1969), "1,969");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(
            missed_hint(1969, 50).as_deref(),
            Some("missed 1,969 requests: all 50 users busy; add users or lower the rate")
        );
        assert_eq!(missed_hint(0, 50), None);
    }
}
