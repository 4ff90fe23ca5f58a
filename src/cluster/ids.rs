//! Splitting an add (or a removal) over the workers: the pure rule of SPEC 9.
//!
//! Workers are taken in sorted name order; each gets `remaining ÷ remaining_workers` of what
//! is left, so the last ones get the remainder and a share of 0 means "skipped". Ids of an add
//! are one contiguous block per worker, above the run's highest id: never reused.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A block of user ids `first..=last` given to one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdBlock {
    /// First id.
    pub first: u64,
    /// Last id.
    pub last: u64,
}

impl IdBlock {
    /// How many ids the block holds.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: a block holds at least one id (present for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Why ids could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// There is no worker to give users to.
    #[error("no worker is up")]
    NoWorkers,
    /// The ids would pass `u64::MAX`.
    #[error("adding {count} users after id {highest} overflows the user ids")]
    Overflow {
        /// The run's highest id so far.
        highest: u64,
        /// The users asked for.
        count: u64,
    },
}

/// Splits `count` over `nodes` (sorted by name, duplicates ignored): each gets
/// `remaining ÷ remaining_nodes`, in order.
pub fn split_count<'a>(
    count: u64,
    nodes: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, u64)>, SplitError> {
    let sorted: BTreeSet<&str> = nodes.into_iter().collect();
    if sorted.is_empty() {
        return Err(SplitError::NoWorkers);
    }
    let mut remaining = count;
    let mut left = sorted.len() as u64;
    Ok(sorted
        .into_iter()
        .map(|node| {
            let n = remaining / left;
            remaining -= n;
            left -= 1;
            (node.to_owned(), n)
        })
        .collect())
}

/// Splits an add of `count` users after `highest` over `nodes`: one block each in sorted
/// name order, `None` for a node skipped (its share is 0).
pub fn split_add<'a>(
    highest: u64,
    count: u64,
    nodes: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, Option<IdBlock>)>, SplitError> {
    if highest.checked_add(count).is_none() {
        return Err(SplitError::Overflow { highest, count });
    }
    let mut next = highest + 1;
    Ok(split_count(count, nodes)?
        .into_iter()
        .map(|(node, n)| {
            if n == 0 {
                return (node, None);
            }
            let block = IdBlock {
                first: next,
                last: next + n - 1,
            };
            next += n;
            (node, Some(block))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(first: u64, last: u64) -> Option<IdBlock> {
        Some(IdBlock { first, last })
    }

    #[test]
    fn the_spec_example_with_two_workers() {
        let w = ["w2", "w1"];
        let add = split_add(0, 10, w).unwrap();
        assert_eq!(add, vec![("w1".into(), b(1, 5)), ("w2".into(), b(6, 10))]);
        let add = split_add(10, 5, w).unwrap();
        assert_eq!(
            add,
            vec![("w1".into(), b(11, 12)), ("w2".into(), b(13, 15))]
        );
        let add = split_add(15, 1, w).unwrap();
        assert_eq!(add, vec![("w1".into(), None), ("w2".into(), b(16, 16))]);
    }

    #[test]
    fn removal_splits_the_count_the_same_way() {
        let split = split_count(5, ["b", "a", "c"]).unwrap();
        assert_eq!(
            split,
            vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 2)]
        );
    }

    #[test]
    fn no_workers_and_overflow_are_refused() {
        assert_eq!(split_add(0, 1, []), Err(SplitError::NoWorkers));
        assert_eq!(
            split_add(u64::MAX - 1, 2, ["a"]),
            Err(SplitError::Overflow {
                highest: u64::MAX - 1,
                count: 2
            })
        );
    }

    proptest! {
        #[test]
        fn blocks_are_contiguous_in_order_and_cover_the_count(
            highest in 0u64..1_000_000,
            count in 0u64..100_000,
            n in 1usize..12,
        ) {
            let names: Vec<String> = (0..n).map(|i| format!("w{i:02}")).collect();
            let split = split_add(highest, count, names.iter().map(String::as_str)).unwrap();
            prop_assert_eq!(split.len(), n);
            let mut next = highest + 1;
            let sizes: Vec<u64> = split.iter().map(|(_, b)| b.map_or(0, |b| b.len())).collect();
            for (_, block) in &split {
                if let Some(block) = block {
                    prop_assert_eq!(block.first, next);
                    next = block.last + 1;
                }
            }
            prop_assert_eq!(next - highest - 1, count);
            // Shares differ by at most one, the larger ones last.
            prop_assert!(sizes.windows(2).all(|w| w[0] <= w[1] && w[1] - w[0] <= 1));
        }
    }
}
