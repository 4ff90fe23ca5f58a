//! Helpers shared by the coordinator tests: actions that log their calls, and the checks of
//! SPEC 7.4 over those logs.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amoc::coordinator::{Action, CoordinationEvent, Coordinators, EventKind};
use amoc::telemetry::Telemetry;

pub type Calls = Arc<Mutex<Vec<(String, EventKind, usize, Vec<u32>)>>>;

pub fn users(label: &str, calls: &Calls) -> Action<u32> {
    let (label, calls) = (label.to_owned(), calls.clone());
    Action::users(move |e: CoordinationEvent, group: &[Arc<u32>]| {
        let ids = group.iter().map(|u| **u).collect();
        calls
            .lock()
            .unwrap()
            .push((label.clone(), e.kind, e.count, ids));
    })
}

pub fn pairs(label: &str, calls: &Calls) -> Action<u32> {
    let (label, calls) = (label.to_owned(), calls.clone());
    Action::pairs(move |e, a: Option<&u32>, b: Option<&u32>| {
        let ids = a.into_iter().chain(b).copied().collect();
        calls
            .lock()
            .unwrap()
            .push((label.clone(), e.kind, e.count, ids));
    })
}

pub fn group(label: &str, calls: &Calls) -> Action<u32> {
    let (label, calls) = (label.to_owned(), calls.clone());
    Action::group(move |e| {
        calls
            .lock()
            .unwrap()
            .push((label.clone(), e.kind, e.count, vec![]))
    })
}

pub fn calls_of(calls: &Calls, label: &str) -> Vec<(EventKind, usize, Vec<u32>)> {
    calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.0 == label)
        .map(|c| (c.1, c.2, c.3.clone()))
        .collect()
}

pub fn labels(calls: &Calls) -> Vec<String> {
    calls.lock().unwrap().iter().map(|c| c.0.clone()).collect()
}

/// "Check" of SPEC 7.4 for a `users` action on an item of size n after k adds (users 1..=k).
pub fn check(calls: &Calls, label: &str, n: usize, k: usize, e: EventKind, base: u32) {
    let got = calls_of(calls, label);
    let mut want = Vec::new();
    for b in 0..k / n {
        let ids = (0..n as u32)
            .map(|i| base + (b * n) as u32 + i + 1)
            .collect();
        want.push((EventKind::Coordinate, n, ids));
    }
    let rest = ((k / n * n) as u32 + 1..=k as u32)
        .map(|i| base + i)
        .collect();
    want.push((e, k % n, rest));
    assert_eq!(got, want, "item {label}");
}

/// Lets `d` go by on the test's paused clock (it jumps ahead once every task is idle), so
/// coordinator timeouts of seconds take no real time.
pub async fn elapse(d: Duration) {
    tokio::time::sleep(d).await;
}

pub async fn setup() -> (Coordinators, Calls, Telemetry) {
    let t = Telemetry::new();
    t.start();
    (
        Coordinators::new(t.clone()),
        Arc::new(Mutex::new(Vec::new())),
        t,
    )
}
