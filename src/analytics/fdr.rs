//! False discovery rate (Benjamini & Hochberg 1995) for the many tests of a hot spot map: with
//! thousands of communes some pass p < 0.05 by chance, and the FDR keeps the expected share of
//! false hot spots among those marked below alpha.

/// Benjamini–Hochberg adjusted p-values (q-values), in input order: `q_(i) = min_{j >= i}
/// min(1, n p_(j) / j)` over the p-values sorted ascending — statsmodels'
/// `multipletests(method="fdr_bh")[1]`. A test is significant at FDR level alpha when its q-value
/// is `<= alpha`. NaN p-values are not part of the family and stay NaN.
///
/// ```
/// use vigil::analytics::benjamini_hochberg;
/// let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.5]);
/// assert_eq!(q, vec![0.04, 0.04 * 4.0 / 3.0, 0.04 * 4.0 / 3.0, 0.5]);
/// ```
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let n = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * n / (rank + 1) as f64).min(1.0);
        q[i] = running;
    }
    q
}

/// esda's `fdr(pvalues, alpha)`: the p-value cut-off `k·alpha/n` for the largest `k` with
/// `p_(k) < k·alpha/n` (p sorted ascending), or `alpha/n` (Bonferroni) when there is none. Units
/// with `p < cut-off` are significant. NaN p-values are left out of the family.
pub fn fdr_threshold(p: &[f64], alpha: f64) -> f64 {
    let mut sorted: Vec<f64> = p.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .rev()
        .map(|(k, &v)| (v, (k + 1) as f64 * alpha / n))
        .find(|&(v, cut)| v < cut)
        .map_or(alpha / n, |(_, cut)| cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // n = 5, alpha = 0.05: thresholds 0.01 0.02 0.03 0.04 0.05.
        let p = [0.005, 0.035, 0.011, 0.2, 0.041];
        // sorted: 0.005 0.011 0.035 0.041 0.2 → n p / rank: 0.025 0.0275 0.0583 0.05125 0.2
        // running minimum from the top: 0.025 0.0275 0.05125 0.05125 0.2
        let q = benjamini_hochberg(&p);
        let want = [0.025, 0.05125, 0.0275, 0.2, 0.05125];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{q:?}");
        }
        // Largest k with p_(k) < k α/n: k = 2 (0.011 < 0.02; 0.035, 0.041, 0.2 are above theirs).
        assert!((fdr_threshold(&p, 0.05) - 0.02).abs() < 1e-15);
    }

    #[test]
    fn monotone_and_capped() {
        let q = benjamini_hochberg(&[0.9, 0.8, 0.99, 0.2]);
        let want = [0.99, 0.99, 0.99, 0.8];
        assert!(
            q.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-15),
            "{q:?}"
        );
        assert_eq!(benjamini_hochberg(&[0.7, 0.9]), vec![0.9, 0.9]);
        assert_eq!(benjamini_hochberg(&[]), Vec::<f64>::new());
        // Nothing passes: esda answers the Bonferroni bound.
        assert!((fdr_threshold(&[0.5, 0.6], 0.05) - 0.025).abs() < 1e-15);
    }

    #[test]
    fn nan_is_outside_the_family() {
        let q = benjamini_hochberg(&[0.01, f64::NAN, 0.02]);
        assert!(q[1].is_nan());
        assert_eq!(q[0], 0.02);
        assert_eq!(q[2], 0.02);
    }
}
