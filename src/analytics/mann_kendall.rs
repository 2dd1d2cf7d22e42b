//! The Mann–Kendall trend test (Mann 1945, Kendall 1975, Gilbert 1987), as
//! `pymannkendall.original_test` computes it: S, its variance with the correction for ties, the
//! continuity-corrected Z and the two-sided p-value.

use serde::Serialize;

use super::normal_sf;

/// Direction of a significant trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Increasing,
    Decreasing,
    NoTrend,
}

/// The result of [`mann_kendall`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannKendall {
    /// `S = Σ_{k<j} sign(x_j − x_k)`.
    pub s: i64,
    /// `Var(S) = (n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)) / 18`, `t` the size of each group of ties.
    pub var_s: f64,
    /// `(S − 1)/√Var(S)` for S > 0, `(S + 1)/√Var(S)` for S < 0, 0 for S = 0 (or no variance).
    pub z: f64,
    /// Two-sided p-value of `z` under the standard normal.
    pub p: f64,
    /// Kendall's tau, `S / (n(n−1)/2)` (0 for fewer than two values).
    pub tau: f64,
    /// `Increasing`/`Decreasing` when `p < alpha` (pymannkendall's `|z| > z_{1−alpha/2}`).
    pub trend: Trend,
}

/// Tests `series` (in time order) for a monotonic trend at significance `alpha`. Fewer than two
/// values, or all values tied, give S = 0, z = 0, p = 1 and no trend. Values are compared exactly,
/// so ties are equal floats; NaN is not expected (callers check their input).
///
/// ```
/// use vigil::analytics::{Trend, mann_kendall};
/// let mk = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.05);
/// assert_eq!((mk.s, mk.trend), (15, Trend::Increasing));
/// ```
pub fn mann_kendall(series: &[f64], alpha: f64) -> MannKendall {
    let n = series.len();
    let mut s: i64 = 0;
    for k in 0..n {
        for j in k + 1..n {
            s += match series[j].partial_cmp(&series[k]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let mut sorted = series.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && sorted[end] == sorted[start] {
            end += 1;
        }
        let t = (end - start) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        start = end;
    }
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var_s <= 0.0 || s == 0 {
        0.0
    } else if s > 0 {
        (s - 1) as f64 / var_s.sqrt()
    } else {
        (s + 1) as f64 / var_s.sqrt()
    };
    let p = (2.0 * normal_sf(z.abs())).min(1.0);
    let trend = if p < alpha && z > 0.0 {
        Trend::Increasing
    } else if p < alpha && z < 0.0 {
        Trend::Decreasing
    } else {
        Trend::NoTrend
    };
    let pairs = nf * (nf - 1.0) / 2.0;
    MannKendall {
        s,
        var_s,
        z,
        p,
        tau: if pairs > 0.0 { s as f64 / pairs } else { 0.0 },
        trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_with_ties() {
        // x = 1 2 2 3: pairs (1,2)+ (1,2)+ (1,3)+ (2,2)0 (2,3)+ (2,3)+ → S = 5.
        // Var = (4·3·13 − 2·1·9)/18 = (156 − 18)/18 = 7.666…
        let mk = mann_kendall(&[1.0, 2.0, 2.0, 3.0], 0.05);
        assert_eq!(mk.s, 5);
        assert!((mk.var_s - 138.0 / 18.0).abs() < 1e-12);
        assert!((mk.z - 4.0 / (138.0f64 / 18.0).sqrt()).abs() < 1e-12);
        assert_eq!(mk.trend, Trend::NoTrend);
        assert!((mk.tau - 5.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_series() {
        for x in [&[][..], &[3.0][..], &[2.0, 2.0, 2.0][..]] {
            let mk = mann_kendall(x, 0.05);
            assert_eq!(
                (mk.s, mk.z, mk.p, mk.trend),
                (0, 0.0, 1.0, Trend::NoTrend),
                "{x:?}"
            );
        }
    }

    #[test]
    fn decreasing_series_is_significant() {
        let x: Vec<f64> = (0..12).map(|i| 10.0 - f64::from(i)).collect();
        let mk = mann_kendall(&x, 0.05);
        assert_eq!(mk.s, -66);
        assert_eq!(mk.trend, Trend::Decreasing);
        assert!(mk.p < 1e-4);
    }
}
