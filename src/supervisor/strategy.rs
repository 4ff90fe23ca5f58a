//! Restart policy as pure functions (SPEC 3.3, 3.4, 3.6, 3.7): what an exit leads to, and
//! which children a strategy stops and starts, in which order.

use super::{AutoShutdown, ExitReason, Restart, Shutdown, Strategy};

/// What happens to a child that exited on its own (SPEC 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitAction {
    /// Restart it (counts toward intensity).
    Restart,
    /// Keep the spec, not running.
    Keep,
    /// Remove the spec.
    Remove,
}

pub(crate) fn exit_action(restart: Restart, reason: &ExitReason) -> ExitAction {
    match restart {
        Restart::Permanent => ExitAction::Restart,
        Restart::Transient if reason.is_normal() => ExitAction::Keep,
        Restart::Transient => ExitAction::Restart,
        Restart::Temporary => ExitAction::Remove,
    }
}

/// The view of one child a strategy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildView {
    pub(crate) restart: Restart,
    pub(crate) running: bool,
}

/// A group restart: indices (into the start-ordered child list) to stop, in order; to
/// remove (temporary bystanders); to start, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) stop: Vec<usize>,
    pub(crate) remove: Vec<usize>,
    pub(crate) start: Vec<usize>,
}

/// The plan for restarting child `failed` (already not running) under `strategy`.
pub(crate) fn restart_plan(strategy: Strategy, children: &[ChildView], failed: usize) -> Plan {
    let group: Vec<usize> = match strategy {
        Strategy::OneForOne => vec![failed],
        Strategy::OneForAll => (0..children.len()).collect(),
        Strategy::RestForOne => (failed..children.len()).collect(),
    };
    let mut plan = Plan::default();
    for &i in group.iter().rev() {
        if i != failed && children[i].running {
            plan.stop.push(i);
        }
    }
    for &i in &group {
        if i != failed && children[i].restart == Restart::Temporary {
            plan.remove.push(i);
        } else {
            plan.start.push(i);
        }
    }
    plan
}

/// Whether `reason` is an expected result of stopping a child (else `shutdown_error`).
pub(crate) fn expected_shutdown_reason(
    restart: Restart,
    shutdown: Shutdown,
    reason: &ExitReason,
) -> bool {
    match reason {
        ExitReason::Shutdown => true,
        ExitReason::Killed => shutdown == Shutdown::BrutalKill,
        ExitReason::Normal | ExitReason::ShutdownWith(_) => restart != Restart::Permanent,
        _ => false,
    }
}

/// Whether a significant child ending (and not being restarted) shuts the supervisor down;
/// `significant_left` is whether another significant child still runs or restarts.
pub(crate) fn auto_shutdown(auto: AutoShutdown, significant: bool, significant_left: bool) -> bool {
    significant
        && match auto {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => !significant_left,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views(running: &[bool], restart: &[Restart]) -> Vec<ChildView> {
        running
            .iter()
            .zip(restart)
            .map(|(&running, &restart)| ChildView { restart, running })
            .collect()
    }

    const P: Restart = Restart::Permanent;
    const T: Restart = Restart::Temporary;

    #[test]
    fn exit_table() {
        let tr = Restart::Transient;
        let abnormal = ExitReason::Error("x".into());
        assert_eq!(exit_action(P, &ExitReason::Normal), ExitAction::Restart);
        assert_eq!(exit_action(tr, &ExitReason::Shutdown), ExitAction::Keep);
        assert_eq!(exit_action(tr, &ExitReason::Killed), ExitAction::Restart);
        assert_eq!(exit_action(tr, &abnormal), ExitAction::Restart);
        assert_eq!(exit_action(T, &abnormal), ExitAction::Remove);
    }

    #[test]
    fn one_for_one_touches_only_the_failed_child() {
        let c = views(&[true, false, true], &[P, P, P]);
        let plan = restart_plan(Strategy::OneForOne, &c, 1);
        assert_eq!(
            plan,
            Plan {
                stop: vec![],
                remove: vec![],
                start: vec![1]
            }
        );
    }

    #[test]
    fn one_for_all_stops_newest_first_and_removes_temporaries() {
        let c = views(&[true, false, true, true], &[P, P, T, P]);
        let plan = restart_plan(Strategy::OneForAll, &c, 1);
        assert_eq!(plan.stop, vec![3, 2, 0]);
        assert_eq!(plan.remove, vec![2]);
        assert_eq!(plan.start, vec![0, 1, 3]);
    }

    #[test]
    fn one_for_all_restarts_terminated_specs_too() {
        let c = views(&[false, false, true], &[P, P, P]);
        let plan = restart_plan(Strategy::OneForAll, &c, 2);
        assert_eq!(plan.stop, Vec::<usize>::new());
        assert_eq!(plan.start, vec![0, 1, 2]);
    }

    #[test]
    fn rest_for_one_leaves_older_siblings() {
        let c = views(&[true, true, false, true, true], &[P, P, P, P, P]);
        let plan = restart_plan(Strategy::RestForOne, &c, 2);
        assert_eq!(plan.stop, vec![4, 3]);
        assert_eq!(plan.start, vec![2, 3, 4]);
    }

    #[test]
    fn expected_reasons() {
        let t = Shutdown::Timeout(std::time::Duration::from_secs(1));
        assert!(expected_shutdown_reason(P, t, &ExitReason::Shutdown));
        assert!(!expected_shutdown_reason(P, t, &ExitReason::Killed));
        assert!(expected_shutdown_reason(
            P,
            Shutdown::BrutalKill,
            &ExitReason::Killed
        ));
        assert!(!expected_shutdown_reason(P, t, &ExitReason::Normal));
        assert!(expected_shutdown_reason(T, t, &ExitReason::Normal));
        assert!(!expected_shutdown_reason(
            T,
            t,
            &ExitReason::Panicked("x".into())
        ));
    }

    #[test]
    fn auto_shutdown_rules() {
        assert!(!auto_shutdown(AutoShutdown::Never, true, false));
        assert!(!auto_shutdown(AutoShutdown::AnySignificant, false, false));
        assert!(auto_shutdown(AutoShutdown::AnySignificant, true, true));
        assert!(!auto_shutdown(AutoShutdown::AllSignificant, true, true));
        assert!(auto_shutdown(AutoShutdown::AllSignificant, true, false));
    }
}
