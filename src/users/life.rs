//! A user's lifecycle as a state machine: [`Life`] and its pure transition function
//! [`Life::step`], which returns the counter changes ([`Delta`]) the shard applies.
//!
//! ```text
//!            Register                 Exit(Completed)      → ended   (crashed if Fail came first)
//! Waiting ───────────▶ Running ─────┬ Exit(Panicked)       → crashed
//!    │                (Ask, Force,  └ Exit(Cancelled)      → killed
//!    │                 Fail: flags)
//!    └── Exit(any) ─▶ Ended, counted cancelled (it never ran)
//! ```
//!
//! Guarantees, property-tested below: `Ended` is final and changes nothing; every user that
//! ends adds exactly one to exactly one of `ended`, `crashed`, `killed`, `cancelled`; no
//! counter ever goes below zero; `stopping` counts running users that were asked, once each.

use crate::task::TaskExit;

/// Where one user stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    /// Spawned, waiting for its user-rate permit. `asked`: a stop request came already.
    Waiting { asked: bool },
    /// Registered and running `start`.
    Running {
        /// A stop request was queued.
        asked: bool,
        /// Under forced removal: aborted after the grace if still running.
        forced: bool,
        /// `start` returned an error or panicked (its task still has to end).
        failed: bool,
    },
    /// Ended, for whatever reason (a tombstone until the shard compacts its queues).
    Ended,
}

/// What happens to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// It got its permit and runs `start`.
    Register,
    /// A stop request was queued for it.
    Ask,
    /// It is under forced removal.
    Force,
    /// `start` returned an error or panicked.
    Fail,
    /// Its task ended.
    Exit(TaskExit),
}

/// Counter changes of one transition (each −1, 0 or +1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    pub(crate) waiting: i8,
    pub(crate) running: i8,
    pub(crate) stopping: i8,
    pub(crate) ended: i8,
    pub(crate) crashed: i8,
    pub(crate) killed: i8,
    pub(crate) cancelled: i8,
}

impl Delta {
    /// A user accepted by an add: counted waiting until it registers or ends.
    pub(crate) const ACCEPTED: Delta = Delta {
        waiting: 1,
        ..Delta::NONE
    };

    /// A waiting user that ends without running (also one never spawned).
    pub(crate) const CANCELLED: Delta = Delta {
        waiting: -1,
        cancelled: 1,
        ..Delta::NONE
    };

    /// No change.
    pub(crate) const NONE: Delta = Delta {
        waiting: 0,
        running: 0,
        stopping: 0,
        ended: 0,
        crashed: 0,
        killed: 0,
        cancelled: 0,
    };

    pub(crate) fn is_none(&self) -> bool {
        *self == Delta::NONE
    }
}

impl Life {
    /// A user just spawned.
    pub(crate) const NEW: Life = Life::Waiting { asked: false };

    /// The state after `event`, and the counter changes it makes.
    pub(crate) fn step(self, event: &Event) -> (Life, Delta) {
        let none = Delta::NONE;
        match (self, event) {
            (Life::Ended, _) => (Life::Ended, none),
            (Life::Waiting { asked }, Event::Register) => (
                Life::Running {
                    asked,
                    forced: false,
                    failed: false,
                },
                Delta {
                    waiting: -1,
                    running: 1,
                    stopping: i8::from(asked),
                    ..none
                },
            ),
            (Life::Waiting { .. }, Event::Ask) => (Life::Waiting { asked: true }, none),
            (Life::Waiting { .. }, Event::Force | Event::Fail) => (self, none),
            (Life::Waiting { .. }, Event::Exit(_)) => (Life::Ended, Delta::CANCELLED),
            (Life::Running { .. }, Event::Register) => (self, none),
            (
                Life::Running {
                    asked,
                    forced,
                    failed,
                },
                Event::Ask,
            ) => (
                Life::Running {
                    asked: true,
                    forced,
                    failed,
                },
                Delta {
                    stopping: i8::from(!asked),
                    ..none
                },
            ),
            (Life::Running { asked, failed, .. }, Event::Force) => (
                Life::Running {
                    asked,
                    forced: true,
                    failed,
                },
                none,
            ),
            (Life::Running { asked, forced, .. }, Event::Fail) => (
                Life::Running {
                    asked,
                    forced,
                    failed: true,
                },
                none,
            ),
            (Life::Running { asked, failed, .. }, Event::Exit(exit)) => {
                let mut delta = Delta {
                    running: -1,
                    stopping: -i8::from(asked),
                    ..none
                };
                match exit {
                    TaskExit::Cancelled => delta.killed = 1,
                    TaskExit::Panicked(_) => delta.crashed = 1,
                    TaskExit::Completed if failed => delta.crashed = 1,
                    TaskExit::Completed => delta.ended = 1,
                }
                (Life::Ended, delta)
            }
        }
    }

    pub(crate) fn is_running(self) -> bool {
        matches!(self, Life::Running { .. })
    }

    pub(crate) fn is_ended(self) -> bool {
        self == Life::Ended
    }

    /// A stop request was queued (waiting or running).
    pub(crate) fn is_asked(self) -> bool {
        matches!(
            self,
            Life::Waiting { asked: true } | Life::Running { asked: true, .. }
        )
    }

    /// Running and under forced removal.
    pub(crate) fn is_forced(self) -> bool {
        matches!(self, Life::Running { forced: true, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(Event::Register),
            Just(Event::Ask),
            Just(Event::Force),
            Just(Event::Fail),
            Just(Event::Exit(TaskExit::Completed)),
            Just(Event::Exit(TaskExit::Cancelled)),
            Just(Event::Exit(TaskExit::Panicked("boom".into()))),
        ]
    }

    /// Counters as the shard keeps them, with every change checked against underflow.
    #[derive(Debug, Default)]
    struct Counts([i64; 7]);

    impl Counts {
        fn apply(&mut self, d: Delta) {
            let ds = [
                d.waiting,
                d.running,
                d.stopping,
                d.ended,
                d.crashed,
                d.killed,
                d.cancelled,
            ];
            for (c, d) in self.0.iter_mut().zip(ds) {
                *c += i64::from(d);
                assert!(*c >= 0, "a counter went below zero: {self:?}");
            }
        }
    }

    #[test]
    fn a_soft_stop_ends_as_ended_and_a_late_abort_as_killed() {
        let (l, _) = Life::NEW.step(&Event::Register);
        let (l, d) = l.step(&Event::Ask);
        assert_eq!(d.stopping, 1);
        let (l, d) = l.step(&Event::Ask);
        assert!(d.is_none(), "asked once");
        let (l, d) = l.step(&Event::Exit(TaskExit::Completed));
        assert_eq!(
            (l, d.ended, d.stopping, d.running),
            (Life::Ended, 1, -1, -1)
        );
        let (_, d) = Life::NEW
            .step(&Event::Register)
            .0
            .step(&Event::Exit(TaskExit::Cancelled));
        assert_eq!(d.killed, 1);
    }

    #[test]
    fn a_failed_start_is_a_crash_even_when_it_completes() {
        let (l, _) = Life::NEW.step(&Event::Register);
        let (l, _) = l.step(&Event::Fail);
        assert_eq!(l.step(&Event::Exit(TaskExit::Completed)).1.crashed, 1);
    }

    proptest! {
        /// Many users, each through a random history, in random interleaving.
        #[test]
        fn counters_stay_consistent(
            histories in proptest::collection::vec(proptest::collection::vec(event(), 0..8), 1..20),
        ) {
            let mut counts = Counts::default();
            let mut ends = 0i64;
            for history in &histories {
                counts.apply(Delta::ACCEPTED);
                let mut life = Life::NEW;
                let mut ended = false;
                for e in history {
                    let (next, delta) = life.step(e);
                    if life.is_ended() {
                        prop_assert!(delta.is_none() && next.is_ended(), "Ended is final");
                    }
                    let terminal = delta.ended + delta.crashed + delta.killed + delta.cancelled;
                    prop_assert_eq!(terminal, i8::from(next.is_ended() && !life.is_ended()));
                    if matches!(e, Event::Exit(_)) {
                        prop_assert!(next.is_ended());
                    }
                    counts.apply(delta);
                    ended |= next.is_ended();
                    life = next;
                }
                ends += i64::from(ended);
            }
            let [waiting, running, stopping, ended, crashed, killed, cancelled] = counts.0;
            prop_assert_eq!(waiting + running + ends, histories.len() as i64);
            prop_assert_eq!(ended + crashed + killed + cancelled, ends);
            prop_assert!(stopping <= running);
        }
    }
}
