//! The grouping state machine (pure): which groups an add or a flush hands over.

use std::sync::Arc;

use super::plan::{CoordinationEvent, EventKind, PlanItem, Size};

/// A group handed over to item `item`'s actions.
#[derive(Debug)]
pub(crate) struct Fired<D> {
    pub(crate) item: usize,
    pub(crate) event: CoordinationEvent,
    /// The drawn size, or `None` for `All`.
    pub(crate) configured: Option<usize>,
    /// The members, in add order (empty for items that only keep a count).
    pub(crate) group: Vec<Arc<D>>,
}

#[derive(Debug)]
struct ItemState<D> {
    size: Size,
    target: usize,
    count: usize,
    keep_data: bool,
    pending: Vec<Arc<D>>,
}

/// Pending groups of every item of a normalised plan.
#[derive(Debug)]
pub(crate) struct Grouping<D> {
    items: Vec<ItemState<D>>,
    rng: u64,
    /// Emptied group vectors, reused for the next pending groups (no allocation per group).
    spare: Vec<Vec<Arc<D>>>,
}

impl<D> Grouping<D> {
    pub(crate) fn new(plan: &[PlanItem<D>], seed: u64) -> Self {
        let mut g = Self {
            items: Vec::with_capacity(plan.len()),
            rng: seed | 1,
            spare: Vec::new(),
        };
        for item in plan {
            let mut state = ItemState {
                size: item.size,
                target: 0,
                count: 0,
                keep_data: item.actions.iter().any(|a| a.needs_data()),
                pending: Vec::new(),
            };
            state.target = g.draw(item.size);
            g.items.push(state);
        }
        g
    }

    /// xorshift64*: sizes need uniformity, not cryptographic strength.
    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn draw(&mut self, size: Size) -> usize {
        match size {
            Size::Exactly(n) => n,
            Size::Range { min, max } => {
                let span = (max - min) as u64 + 1;
                min + (self.next_random() % span) as usize
            }
            Size::All => usize::MAX,
        }
    }

    /// Adds one user; every item whose group is now complete is handed over, in plan order.
    pub(crate) fn add(&mut self, data: &Arc<D>, out: &mut Vec<Fired<D>>) {
        for i in 0..self.items.len() {
            let item = &mut self.items[i];
            item.count += 1;
            if item.keep_data {
                item.pending.push(data.clone());
            }
            if item.size != Size::All && item.count == item.target {
                let fired = self.take(i, EventKind::Coordinate);
                out.push(fired);
            }
        }
    }

    /// Hands every item's pending group over (possibly empty), in plan order.
    pub(crate) fn flush(&mut self, kind: EventKind, out: &mut Vec<Fired<D>>) {
        for i in 0..self.items.len() {
            let fired = self.take(i, kind);
            out.push(fired);
        }
    }

    /// Takes back a handed-over group's vector (its members are dropped here) for reuse.
    pub(crate) fn recycle(&mut self, mut group: Vec<Arc<D>>) {
        group.clear();
        if group.capacity() > 0 && self.spare.len() < self.items.len() {
            self.spare.push(group);
        }
    }

    fn take(&mut self, i: usize, kind: EventKind) -> Fired<D> {
        let size = self.items[i].size;
        let next = self.draw(size);
        let fresh = if self.items[i].keep_data {
            self.spare.pop().unwrap_or_default()
        } else {
            Vec::new()
        };
        let item = &mut self.items[i];
        let fired = Fired {
            item: i,
            event: CoordinationEvent {
                kind,
                count: item.count,
            },
            configured: (size != Size::All).then_some(item.target),
            group: std::mem::replace(&mut item.pending, fresh),
        };
        item.count = 0;
        item.target = next;
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::plan::{Action, Plan};

    fn plan(items: Vec<(Size, bool)>) -> Vec<PlanItem<u32>> {
        let items = items
            .into_iter()
            .map(|(size, data)| {
                let action = if data {
                    Action::users(|_, _| {})
                } else {
                    Action::group(|_| {})
                };
                PlanItem::new(size, action)
            })
            .collect::<Vec<_>>();
        Plan::from(items).normalise().unwrap()
    }

    #[test]
    fn groups_fire_when_complete_and_flush_leftovers() {
        let mut g = Grouping::new(&plan(vec![(Size::Exactly(2), true), (Size::All, true)]), 7);
        let mut out = Vec::new();
        for u in 1..=5 {
            g.add(&Arc::new(u), &mut out);
        }
        let groups: Vec<Vec<u32>> = out
            .iter()
            .map(|f| f.group.iter().map(|d| **d).collect())
            .collect();
        assert_eq!(groups, vec![vec![1, 2], vec![3, 4]]);
        out.clear();
        g.flush(EventKind::Stop, &mut out);
        assert_eq!(
            out[0].event,
            CoordinationEvent {
                kind: EventKind::Stop,
                count: 1
            }
        );
        assert_eq!(out[1].event.count, 5);
        assert_eq!(out[1].configured, None);
    }

    #[test]
    fn count_only_items_keep_no_data() {
        let mut g = Grouping::new(&plan(vec![(Size::Exactly(3), false)]), 1);
        let mut out = Vec::new();
        for u in 0..3 {
            g.add(&Arc::new(u), &mut out);
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].group.is_empty());
        assert_eq!(out[0].event.count, 3);
    }

    #[test]
    fn range_sizes_cover_both_ends() {
        let mut g = Grouping::new(&plan(vec![(Size::Range { min: 2, max: 4 }, false)]), 42);
        let mut out = Vec::new();
        let mut seen = [false; 5];
        for u in 0..10_000 {
            g.add(&Arc::new(u), &mut out);
        }
        for f in &out {
            seen[f.event.count] = true;
        }
        assert_eq!(&seen[2..], &[true, true, true]);
        assert!(!seen[0] && !seen[1]);
    }
}
