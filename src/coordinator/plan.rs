//! Plans: what a coordinator does with each group (pure data and validation).

use std::fmt;
use std::sync::Arc;

use super::CoordinatorError;

/// What happened to hand a group over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A group reached its planned size.
    Coordinate,
    /// No add arrived within the timeout.
    Timeout,
    /// `reset` was called.
    Reset,
    /// `stop` was called.
    Stop,
}

impl EventKind {
    /// The name used in telemetry metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Coordinate => "coordinate",
            EventKind::Timeout => "timeout",
            EventKind::Reset => "reset",
            EventKind::Stop => "stop",
        }
    }
}

/// The event an action is called with: why, and how many users the group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoordinationEvent {
    /// Why the group is handed over.
    pub kind: EventKind,
    /// Users in the group.
    pub count: usize,
}

/// The size of an item's groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Exactly n users (n ≥ 1).
    Exactly(usize),
    /// A size drawn uniformly from `min..=max` for each group (both ends possible).
    Range {
        /// Smallest size, ≥ 1.
        min: usize,
        /// Largest size, ≥ `min`.
        max: usize,
    },
    /// Every user added since the previous flush; handed over only on timeout, reset, stop.
    All,
}

type GroupFn = dyn Fn(CoordinationEvent) + Send + Sync;
type UsersFn<D> = dyn Fn(CoordinationEvent, &[Arc<D>]) + Send + Sync;
type PairsFn<D> = dyn Fn(CoordinationEvent, Option<&D>, Option<&D>) + Send + Sync;
type EachFn<D> = dyn Fn(CoordinationEvent, &D) + Send + Sync;

/// An action run on a group. Actions run on the coordinator one at a time: keep them quick
/// (message users, spawn longer work). A panicking action is caught and logged.
pub enum Action<D> {
    /// `f(event)`.
    Group(Arc<GroupFn>),
    /// `f(event, group)`, the group in add order.
    Users(Arc<UsersFn<D>>),
    /// `f(event, a, b)` once per distinct unordered pair in add order; `[a]` → `(a, None)`,
    /// `[]` → `(None, None)`. Not allowed with [`Size::All`].
    Pairs(Arc<PairsFn<D>>),
    /// `f(event, user)` once per member in add order; not called for an empty group.
    EachUser(Arc<EachFn<D>>),
}

impl<D> Clone for Action<D> {
    fn clone(&self) -> Self {
        match self {
            Action::Group(f) => Action::Group(f.clone()),
            Action::Users(f) => Action::Users(f.clone()),
            Action::Pairs(f) => Action::Pairs(f.clone()),
            Action::EachUser(f) => Action::EachUser(f.clone()),
        }
    }
}

impl<D> fmt::Debug for Action<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Group(_) => "Action::Group",
            Action::Users(_) => "Action::Users",
            Action::Pairs(_) => "Action::Pairs",
            Action::EachUser(_) => "Action::EachUser",
        })
    }
}

impl<D> Action<D> {
    /// An action called with the event only.
    pub fn group(f: impl Fn(CoordinationEvent) + Send + Sync + 'static) -> Self {
        Action::Group(Arc::new(f))
    }
    /// An action called with the event and the whole group.
    pub fn users(f: impl Fn(CoordinationEvent, &[Arc<D>]) + Send + Sync + 'static) -> Self {
        Action::Users(Arc::new(f))
    }
    /// An action called once per distinct pair of the group.
    pub fn pairs(
        f: impl Fn(CoordinationEvent, Option<&D>, Option<&D>) + Send + Sync + 'static,
    ) -> Self {
        Action::Pairs(Arc::new(f))
    }
    /// An action called once per member of the group.
    pub fn each_user(f: impl Fn(CoordinationEvent, &D) + Send + Sync + 'static) -> Self {
        Action::EachUser(Arc::new(f))
    }

    pub(crate) fn needs_data(&self) -> bool {
        !matches!(self, Action::Group(_))
    }
}

/// One item of a plan: a group size and the actions run on each group.
#[derive(Debug)]
pub struct PlanItem<D> {
    /// The group size.
    pub size: Size,
    /// The actions, run in this order.
    pub actions: Vec<Action<D>>,
}

impl<D> Clone for PlanItem<D> {
    fn clone(&self) -> Self {
        Self {
            size: self.size,
            actions: self.actions.clone(),
        }
    }
}

impl<D> PlanItem<D> {
    /// An item with one action.
    pub fn new(size: Size, action: Action<D>) -> Self {
        Self {
            size,
            actions: vec![action],
        }
    }
    /// An item with several actions.
    pub fn with_actions(size: Size, actions: Vec<Action<D>>) -> Self {
        Self { size, actions }
    }
}

/// A coordination plan: one or more items. Build from one item, or a list of them.
///
/// ```
/// use amoc::coordinator::{Action, Plan, PlanItem, Size};
/// let plan: Plan<u64> = Plan::from(vec![
///     PlanItem::new(Size::Exactly(2), Action::pairs(|_, a, b| println!("{a:?} meets {b:?}"))),
///     PlanItem::new(Size::All, Action::group(|e| println!("{} users in all", e.count))),
/// ]);
/// assert_eq!(plan.normalise().unwrap().len(), 2);
/// ```
#[derive(Debug)]
pub struct Plan<D> {
    items: Vec<PlanItem<D>>,
}

impl<D> Clone for Plan<D> {
    fn clone(&self) -> Self {
        Self {
            items: self.items.clone(),
        }
    }
}

impl<D> From<PlanItem<D>> for Plan<D> {
    fn from(item: PlanItem<D>) -> Self {
        Self { items: vec![item] }
    }
}

impl<D> From<Vec<PlanItem<D>>> for Plan<D> {
    fn from(items: Vec<PlanItem<D>>) -> Self {
        Self { items }
    }
}

impl<D> Plan<D> {
    /// Validates the plan and puts it in execution order: every non-`All` item in
    /// declaration order, then every `All` item in declaration order.
    pub fn normalise(&self) -> Result<Vec<PlanItem<D>>, CoordinatorError> {
        if self.items.is_empty() {
            return Err(CoordinatorError::InvalidPlan("empty plan".into()));
        }
        for (i, item) in self.items.iter().enumerate() {
            let bad = |why: &str| Err(CoordinatorError::InvalidPlan(format!("item {i}: {why}")));
            if item.actions.is_empty() {
                return bad("no actions");
            }
            match item.size {
                Size::Exactly(0) => return bad("group size 0"),
                Size::Range { min, max } if min == 0 || max < min => {
                    return bad("range needs 1 <= min <= max")
                }
                Size::All if item.actions.iter().any(|a| matches!(a, Action::Pairs(_))) => {
                    return bad("pairs actions cannot be used with `all`")
                }
                _ => {}
            }
        }
        let (sized, all): (Vec<_>, Vec<_>) = self
            .items
            .iter()
            .cloned()
            .partition(|i| i.size != Size::All);
        Ok(sized.into_iter().chain(all).collect())
    }
}
