//! The users' policies as plain functions: which shard owns an id (striping), which ids an
//! add allocates, whether it is admitted under `max_users`, and which running users a
//! removal picks (oldest started first). The shards and the controller only apply them.

use std::collections::BTreeMap;

/// The shard that owns user `id` among `shards` shards: `(id − 1) mod shards` (id 0, never
/// allocated, maps to shard 0). The only place the striping formula is written.
///
/// ```
/// use amoc::users::shard_of;
/// assert_eq!(shard_of(1, 4), 0);
/// assert_eq!(shard_of(6, 4), 1);
/// assert_eq!(shard_of(8, 4), 3);
/// ```
pub fn shard_of(id: u64, shards: usize) -> usize {
    let n = shards.max(1) as u64;
    // The remainder is below `shards`, so it fits a usize.
    ((id.max(1) - 1) % n) as usize
}

/// The ids of `first..=last` that shard `index` of `shards` owns: `(first id, step)`, or
/// `None` if it owns none of them.
pub(crate) fn stripe(first: u64, last: u64, index: usize, shards: usize) -> Option<(u64, u64)> {
    let n = shards.max(1) as u64;
    let index = index as u64;
    let offset = (index + n - first.checked_sub(1)? % n) % n;
    let start = first.checked_add(offset).filter(|s| *s <= last)?;
    Some((start, n))
}

/// Why an add was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddRefused {
    /// A count of 0, or one past the id space.
    Count,
    /// An explicit range that is empty or does not start above `highest`.
    Range,
    /// More live users than allowed: `(adding, live)`.
    TooMany(u64, u64),
}

/// The ids an add allocates after `highest`: the explicit `range`, or the next `count`.
pub(crate) fn allocate(
    highest: u64,
    range: Option<(u64, u64)>,
    count: u64,
) -> Result<(u64, u64), AddRefused> {
    match range {
        Some((first, last)) if first > last || first <= highest => Err(AddRefused::Range),
        Some(range) => Ok(range),
        None if count == 0 => Err(AddRefused::Count),
        None => {
            let first = highest.checked_add(1).ok_or(AddRefused::Count)?;
            let last = highest.checked_add(count).ok_or(AddRefused::Count)?;
            Ok((first, last))
        }
    }
}

/// Admits `first..=last` when `live` users (waiting or running) plus them stay within `max`.
pub(crate) fn admit(live: u64, first: u64, last: u64, max: u64) -> Result<(), AddRefused> {
    let adding = last - first + 1;
    if live.saturating_add(adding) > max {
        return Err(AddRefused::TooMany(adding, live));
    }
    Ok(())
}

/// Picks the `count` oldest among each shard's candidates `(start sequence, id)` and groups
/// their ids by shard index.
pub(crate) fn oldest_first(
    candidates: Vec<Vec<(u64, u64)>>,
    count: u64,
) -> BTreeMap<usize, Vec<u64>> {
    let mut all: Vec<(u64, usize, u64)> = candidates
        .into_iter()
        .enumerate()
        .flat_map(|(shard, list)| list.into_iter().map(move |(seq, id)| (seq, shard, id)))
        .collect();
    all.sort_unstable();
    all.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    let mut by_shard: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for (_, shard, id) in all {
        by_shard.entry(shard).or_default().push(id);
    }
    by_shard
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allocation_continues_after_the_highest_id() {
        assert_eq!(allocate(0, None, 10), Ok((1, 10)));
        assert_eq!(allocate(10, None, 5), Ok((11, 15)));
        assert_eq!(allocate(10, None, 0), Err(AddRefused::Count));
        assert_eq!(allocate(u64::MAX, None, 1), Err(AddRefused::Count));
        assert_eq!(allocate(10, Some((11, 20)), 0), Ok((11, 20)));
        assert_eq!(allocate(10, Some((10, 20)), 0), Err(AddRefused::Range));
        assert_eq!(allocate(10, Some((21, 20)), 0), Err(AddRefused::Range));
    }

    #[test]
    fn admission_counts_live_users_only() {
        assert_eq!(admit(5, 11, 15, 10), Ok(()));
        assert_eq!(admit(6, 11, 15, 10), Err(AddRefused::TooMany(5, 6)));
        assert_eq!(
            admit(u64::MAX, 1, 1, u64::MAX),
            Ok(()),
            "saturates, never wraps"
        );
        assert_eq!(
            admit(u64::MAX, 1, 1, u64::MAX - 1),
            Err(AddRefused::TooMany(1, u64::MAX))
        );
    }

    #[test]
    fn the_oldest_are_picked_across_shards() {
        let picked = oldest_first(vec![vec![(1, 1), (4, 3)], vec![(2, 2), (3, 4)]], 3);
        assert_eq!(picked, BTreeMap::from([(0, vec![1]), (1, vec![2, 4])]));
    }

    proptest! {
        #[test]
        fn stripes_partition_any_range(first in 1u64..1000, len in 0u64..200, shards in 1usize..9) {
            let last = first + len;
            let mut seen = Vec::new();
            for index in 0..shards {
                if let Some((start, step)) = stripe(first, last, index, shards) {
                    let mut id = start;
                    while id <= last {
                        prop_assert_eq!(shard_of(id, shards), index);
                        seen.push(id);
                        id += step;
                    }
                }
            }
            seen.sort_unstable();
            prop_assert_eq!(seen, (first..=last).collect::<Vec<_>>());
        }

        #[test]
        fn oldest_first_matches_a_sort(
            seqs in proptest::collection::vec(proptest::collection::vec(0u64..1000, 0..20), 1..5),
            count in 0u64..40,
        ) {
            let lists: Vec<Vec<(u64, u64)>> = seqs
                .iter()
                .enumerate()
                .map(|(s, l)| l.iter().enumerate().map(|(i, q)| (*q, (s * 100 + i) as u64)).collect())
                .collect();
            let mut naive: Vec<(u64, u64)> = lists.iter().flatten().copied().collect();
            naive.sort_unstable();
            naive.truncate(count as usize);
            let picked = oldest_first(lists, count);
            let mut got: Vec<u64> = picked.values().flatten().copied().collect();
            let mut want: Vec<u64> = naive.into_iter().map(|(_, id)| id).collect();
            got.sort_unstable();
            want.sort_unstable();
            prop_assert_eq!(got, want);
        }
    }
}
