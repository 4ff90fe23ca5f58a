//! Dividing an amount into shares proportional to weights that sum exactly to it.

use super::sat_u64;

/// Splits `total` into shares proportional to `weights` that sum exactly to `total` (largest
/// remainder; ties go to the lower index). All-zero or empty weights: equal shares.
///
/// ```
/// use amoc::throttle::schedule::split;
/// assert_eq!(split(10, &[1, 1, 1]), vec![4, 3, 3]);
/// assert_eq!(split(7, &[0, 5, 0]), vec![0, 7, 0]);
/// assert_eq!(split(5, &[0, 0]), vec![3, 2]);
/// ```
pub fn split(total: u64, weights: &[u64]) -> Vec<u64> {
    split_from(total, weights, 0)
}

/// [`split`] with ties of the remainder going first to index `first`, then upwards
/// (cyclically): rotating `first` keeps a small amount from always favouring one share.
///
/// ```
/// use amoc::throttle::schedule::split_from;
/// assert_eq!(split_from(1, &[5, 5], 1), vec![0, 1]);
/// ```
pub fn split_from(total: u64, weights: &[u64], first: usize) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let equal;
    let (weights, sum) = if sum == 0 {
        equal = vec![1u64; weights.len()];
        (&equal[..], weights.len() as u128)
    } else {
        (weights, sum)
    };
    let t = u128::from(total);
    let mut shares: Vec<u64> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    let mut given: u128 = 0;
    for (i, &w) in weights.iter().enumerate() {
        let p = t * u128::from(w);
        let q = p / sum;
        given += q;
        shares.push(sat_u64(q));
        rems.push((p % sum, i));
    }
    let mut left = t - given;
    let n = weights.len();
    let order = |i: usize| (i + n - first % n) % n;
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(order(a.1).cmp(&order(b.1))));
    for &(rem, i) in &rems {
        // Σ rem / sum = left and every rem < sum, so the first `left` remainders are > 0.
        if left == 0 {
            break;
        }
        let _ = rem;
        shares[i] += 1;
        left -= 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sums() {
        assert_eq!(split(0, &[1, 2]), vec![0, 0]);
        assert_eq!(split(3, &[1, 1, 1, 1]), vec![1, 1, 1, 0]);
        assert_eq!(
            split(u64::MAX, &[u64::MAX, 1])
                .iter()
                .map(|&x| u128::from(x))
                .sum::<u128>(),
            u128::from(u64::MAX)
        );
        assert!(split(1, &[]).is_empty());
    }
}
