//! Getis-Ord Gi* (Getis & Ord 1992; Ord & Getis 1995) on areal units, computed as esda's
//! `G_Local(y, w, star=True)` computes it, with ArcGIS's hot/cold confidence bins.
//!
//! For unit i with neighbours N(i), self-weight `w_ii` and `W_i = Σ_j w_ij` (self included):
//!
//! ```text
//! G*_i = Σ_j w_ij y_j / Σ_j y_j
//! z_i  = (Σ_j w_ij y_j − W_i ȳ) / (s · √(W_i (n − W_i) / (n − 1)))      s² = Σ (y_j − ȳ)² / n
//! ```
//!
//! which is esda's `(G − W/n) / √Var` rearranged so that it needs no division by `Σ y`.
//!
//! **Weights, and esda's defaults.** `G_Local`'s default is `transform="R"`. Given binary weights
//! without a diagonal and `star=True`, esda then sets each self-weight to the row maximum (1) and
//! row-standardises, so every weight is `1/(k_i + 1)` and `W_i = 1`; its variance formula, written
//! for binary weights, then gives `z_i = (mean of the neighbourhood − ȳ)/s`, smaller than the
//! textbook Gi* by about `√(k_i + 1)`. ArcGIS's Hot Spot Analysis and the Getis–Ord papers use
//! binary weights with the unit itself weighted 1 — esda's `transform="B"`. [`Transform::Binary`]
//! is that, and is the default here; [`Transform::Row`] reproduces esda's default for comparison.
//!
//! **Permutation p-values** are esda's conditional randomisation: the unit keeps its own value and
//! its k neighbours' values are replaced by k values drawn without replacement from the other
//! n − 1 units. As in esda, each permutation is one draw of `max k` indices shared by every unit
//! (drawn once up front, so the per-unit loop only gathers and adds). `p_sim` is esda's
//! "directed" (folded) pseudo p-value: with `larger` the number of permutations whose statistic is
//! `>=` the observed one, `larger = min(larger, P − larger)` and `p_sim = (larger + 1)/(P + 1)`.
//! The random stream is `StdRng` seeded with [`GiStarOptions::seed`], not numpy's, so p_sim agrees
//! with esda's in distribution, not digit for digit.
//!
//! **Undefined cases.** When every value is equal (s = 0, the all-zero map included), with fewer
//! than two units, or when a unit's neighbourhood is every unit (`W_i = n`), Gi* has no variance:
//! such a unit gets `z = 0`, `p_norm = 0.5`, `p_value = 1`, `p_sim = 1` and is not significant
//! (esda would answer NaN, and a p_sim of `1/(P+1)`). A unit without neighbours (an *island*) has no
//! neighbourhood to be a hot spot in: its `z` is esda's (its own standardised value, with binary
//! weights), but it gets no `p_sim`, stays out of the FDR family (`p_fdr` NaN) and is never
//! significant. esda instead gives islands `p_sim = 1/(P+1)`, because its randomisation zeroes
//! their self-weight.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use super::{AnalyticsError, SpatialWeights, benjamini_hochberg, level, normal_sf, threads_for};

/// How the binary neighbour structure is weighted (the unit itself always counts, weight 1
/// before standardising).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Transform {
    /// esda `transform="B"`, ArcGIS: every weight 1.
    Binary,
    /// esda `transform="R"` (its default): every weight `1/(k_i + 1)`.
    Row,
}

/// Which p-value decides significance and the hot/cold bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PValue {
    /// The two-sided normal p-value of z, as ArcGIS's Hot Spot Analysis.
    Analytical,
    /// esda's permutation `p_sim` (directed, so about half a two-sided p-value), as PySAL users
    /// classify with `p_sim < 0.05`. Needs `permutations > 0`.
    Permutation,
}

/// Settings for [`gi_star`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GiStarOptions {
    pub transform: Transform,
    /// Conditional permutations for `p_sim`; 0 computes analytical results only. esda's default
    /// is 999.
    pub permutations: usize,
    /// Seed of the permutation draws: the same seed gives the same p_sim.
    pub seed: u64,
    /// The FDR level for [`GiStar::fdr_significant`].
    pub alpha: f64,
    pub decide_by: PValue,
}

impl Default for GiStarOptions {
    fn default() -> Self {
        GiStarOptions {
            transform: Transform::Binary,
            permutations: 999,
            seed: 12345,
            alpha: 0.05,
            decide_by: PValue::Analytical,
        }
    }
}

/// ArcGIS's `Gi_Bin`: hot or cold at 90, 95 or 99 % confidence (p < 0.10, 0.05, 0.01, by the sign
/// of z), or not significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HotCold {
    Cold99,
    Cold95,
    Cold90,
    NotSignificant,
    Hot90,
    Hot95,
    Hot99,
}

impl HotCold {
    /// The bin for a z-score and the p-value that decides: confidence 99 % for p < 0.01, 95 % for
    /// p < 0.05, 90 % for p < 0.10. NaN p is not significant.
    pub fn from_z_p(z: f64, p: f64) -> HotCold {
        let level = if p < 0.01 {
            3
        } else if p < 0.05 {
            2
        } else if p < 0.10 {
            1
        } else {
            0
        };
        match (level, z > 0.0, z < 0.0) {
            (3, true, _) => HotCold::Hot99,
            (2, true, _) => HotCold::Hot95,
            (1, true, _) => HotCold::Hot90,
            (3, _, true) => HotCold::Cold99,
            (2, _, true) => HotCold::Cold95,
            (1, _, true) => HotCold::Cold90,
            _ => HotCold::NotSignificant,
        }
    }

    /// ArcGIS's `Gi_Bin` number: −3 … 3.
    pub fn bin(self) -> i8 {
        self as i8 - 3
    }

    /// `hot_99`, …, `not_significant`, …, `cold_99` (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            HotCold::Cold99 => "cold_99",
            HotCold::Cold95 => "cold_95",
            HotCold::Cold90 => "cold_90",
            HotCold::NotSignificant => "not_significant",
            HotCold::Hot90 => "hot_90",
            HotCold::Hot95 => "hot_95",
            HotCold::Hot99 => "hot_99",
        }
    }

    /// The label on the map.
    pub fn label_vi(self) -> &'static str {
        match self {
            HotCold::Cold99 => "Điểm lạnh – độ tin cậy 99%",
            HotCold::Cold95 => "Điểm lạnh – độ tin cậy 95%",
            HotCold::Cold90 => "Điểm lạnh – độ tin cậy 90%",
            HotCold::NotSignificant => "Không có ý nghĩa thống kê",
            HotCold::Hot90 => "Điểm nóng – độ tin cậy 90%",
            HotCold::Hot95 => "Điểm nóng – độ tin cậy 95%",
            HotCold::Hot99 => "Điểm nóng – độ tin cậy 99%",
        }
    }
}

/// Gi* of one unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GiStar {
    /// `G*_i = Σ_j w_ij y_j / Σ_j y_j` (esda `Gs`); NaN when the values sum to 0.
    pub g: f64,
    /// The z-score (esda `Zs`).
    pub z: f64,
    /// One-sided normal p-value `P(Z > |z|)` (esda `p_norm`).
    pub p_norm: f64,
    /// Two-sided normal p-value, `2 p_norm` (ArcGIS `GiPValue`).
    pub p_value: f64,
    /// Conditional-permutation pseudo p-value (esda `p_sim`); `None` without permutations and for
    /// islands.
    pub p_sim: Option<f64>,
    /// Benjamini–Hochberg q-value of the deciding p-value over all units that are not islands.
    pub p_fdr: f64,
    /// `p_fdr <= alpha`.
    pub fdr_significant: bool,
    /// Bin from the deciding p-value, uncorrected.
    pub class: HotCold,
    /// Bin from `p_fdr` (ArcGIS with "Apply False Discovery Rate Correction"): q <= 0.01, 0.05,
    /// 0.10.
    pub class_fdr: HotCold,
    /// Neighbours, the unit itself not counted (0 for an island).
    pub neighbours: usize,
}

impl GiStar {
    fn undefined(g: f64, neighbours: usize, p_sim: Option<f64>) -> GiStar {
        GiStar {
            g,
            z: 0.0,
            p_norm: 0.5,
            p_value: 1.0,
            p_sim,
            p_fdr: 1.0,
            fdr_significant: false,
            class: HotCold::NotSignificant,
            class_fdr: HotCold::NotSignificant,
            neighbours,
        }
    }
}

/// Gi* for each unit of `weights` with `values` in the same order (e.g. hotspot counts per
/// commune). See the module docs for the conventions.
pub fn gi_star(
    values: &[f64],
    weights: &SpatialWeights,
    opts: &GiStarOptions,
) -> Result<Vec<GiStar>, AnalyticsError> {
    let n = values.len();
    if weights.n() != n {
        return Err(AnalyticsError::LengthMismatch {
            what: "values",
            expected: weights.n(),
            got: n,
        });
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(AnalyticsError::NonFinite {
            what: "value",
            index,
        });
    }
    level("alpha", opts.alpha)?;
    if opts.decide_by == PValue::Permutation && opts.permutations == 0 {
        return Err(AnalyticsError::Parameter {
            name: "permutations",
            value: 0.0,
            rule: "must be at least 1 when significance is decided by permutation",
        });
    }
    if n == 0 {
        return Ok(Vec::new());
    }

    let nf = n as f64;
    let sum: f64 = values.iter().sum();
    let mean = sum / nf;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nf;
    let sd = var.sqrt();
    // Equal values up to rounding (a mean that is not exact leaves a variance of ~1e-34).
    let degenerate = n < 2 || var <= 1e-24 * mean * mean;

    // Observed neighbourhood sums (self excluded) and the analytical part.
    let nb_sum: Vec<f64> = (0..n)
        .map(|i| {
            weights
                .neighbours(i)
                .iter()
                .map(|&j| values[j as usize])
                .sum()
        })
        .collect();
    let mut out: Vec<GiStar> = (0..n)
        .map(|i| {
            let k = weights.cardinality(i);
            let (num, w) = match opts.transform {
                Transform::Binary => (values[i] + nb_sum[i], (k + 1) as f64),
                Transform::Row => ((values[i] + nb_sum[i]) / (k + 1) as f64, 1.0),
            };
            let g = if sum != 0.0 { num / sum } else { f64::NAN };
            let spread = w * (nf - w) / (nf - 1.0);
            if degenerate || spread <= 0.0 {
                let p_sim = (opts.permutations > 0 && k > 0).then_some(1.0);
                return GiStar::undefined(g, k, p_sim);
            }
            let z = (num - w * mean) / (sd * spread.sqrt());
            let p_norm = normal_sf(z.abs());
            GiStar {
                g,
                z,
                p_norm,
                p_value: (2.0 * p_norm).min(1.0),
                p_sim: None,
                p_fdr: f64::NAN,
                fdr_significant: false,
                class: HotCold::NotSignificant,
                class_fdr: HotCold::NotSignificant,
                neighbours: k,
            }
        })
        .collect();

    if opts.permutations > 0 && !degenerate {
        let p_sim = permutation_p(values, weights, &nb_sum, opts.permutations, opts.seed);
        for (r, p) in out.iter_mut().zip(p_sim) {
            if r.neighbours > 0 && r.p_sim.is_none() {
                r.p_sim = Some(p);
            }
        }
    }

    // The deciding p-value; islands are not tested.
    let deciding: Vec<f64> = out
        .iter()
        .map(|r| match (r.neighbours, opts.decide_by) {
            (0, _) => f64::NAN,
            (_, PValue::Analytical) => r.p_value,
            (_, PValue::Permutation) => r.p_sim.unwrap_or(1.0),
        })
        .collect();
    let q = benjamini_hochberg(&deciding);
    for ((r, p), q) in out.iter_mut().zip(deciding).zip(q) {
        r.p_fdr = q;
        r.fdr_significant = q <= opts.alpha;
        r.class = HotCold::from_z_p(r.z, p);
        r.class_fdr = if q <= 0.01 {
            HotCold::from_z_p(r.z, 0.0)
        } else if q <= 0.05 {
            HotCold::from_z_p(r.z, 0.02)
        } else if q <= 0.10 {
            HotCold::from_z_p(r.z, 0.07)
        } else {
            HotCold::NotSignificant
        };
    }
    Ok(out)
}

/// esda's conditional randomisation for Gi*: per unit, the pseudo p-value of its neighbourhood sum
/// against `permutations` sums of as many values drawn from the other units.
fn permutation_p(
    values: &[f64],
    weights: &SpatialWeights,
    observed: &[f64],
    permutations: usize,
    seed: u64,
) -> Vec<f64> {
    let n = values.len();
    let k_max = weights.max_cardinality();
    let mut p = vec![1.0; n];
    if k_max == 0 {
        return p;
    }
    // Draw p: k_max distinct indices into "the other n − 1 units" (index j stands for unit j, or
    // j + 1 at and past the unit being tested), as esda's vec_permutations.
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draws: Vec<u32> = Vec::with_capacity(permutations * k_max);
    for _ in 0..permutations {
        draws.extend(
            rand::seq::index::sample(&mut rng, n - 1, k_max)
                .into_iter()
                .map(|j| j as u32),
        );
    }
    // Comparing neighbourhood sums is comparing G*: the self term and the scaling are the same on
    // both sides (and for row weights so is the 1/(k+1)).
    let threads = threads_for(n * permutations, 1 << 20);
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (c, out) in p.chunks_mut(chunk).enumerate() {
            let draws = &draws;
            s.spawn(move || {
                for (off, slot) in out.iter_mut().enumerate() {
                    let i = c * chunk + off;
                    let k = weights.cardinality(i);
                    if k == 0 {
                        continue;
                    }
                    let obs = observed[i];
                    let mut larger = 0usize;
                    for row in draws.chunks_exact(k_max) {
                        let mut s = 0.0;
                        for &d in &row[..k] {
                            let j = d as usize;
                            s += values[j + usize::from(j >= i)];
                        }
                        larger += usize::from(s >= obs);
                    }
                    let folded = larger.min(permutations - larger);
                    *slot = (folded + 1) as f64 / (permutations + 1) as f64;
                }
            });
        }
    });
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> SpatialWeights {
        SpatialWeights::from_neighbours(
            (0..n)
                .map(|i| {
                    let mut v = Vec::new();
                    if i > 0 {
                        v.push(i - 1);
                    }
                    if i + 1 < n {
                        v.push(i + 1);
                    }
                    v
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn empty_input_is_empty_output() {
        let w = SpatialWeights::from_neighbours(vec![]).unwrap();
        assert!(
            gi_star(&[], &w, &GiStarOptions::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn one_unit_is_undefined_not_nan() {
        let w = SpatialWeights::from_neighbours(vec![vec![]]).unwrap();
        let r = gi_star(&[5.0], &w, &GiStarOptions::default()).unwrap();
        assert_eq!(r[0].z, 0.0);
        assert_eq!(r[0].p_value, 1.0);
        assert_eq!(r[0].class, HotCold::NotSignificant);
        assert_eq!(r[0].p_sim, None);
        assert_eq!(r[0].g, 1.0);
    }

    #[test]
    fn all_equal_values_are_undefined_and_not_significant() {
        for v in [0.0, 3.0, 0.1] {
            let r = gi_star(&[v; 6], &line(6), &GiStarOptions::default()).unwrap();
            for u in &r {
                assert_eq!((u.z, u.p_norm, u.p_sim), (0.0, 0.5, Some(1.0)));
                assert_eq!(u.class_fdr, HotCold::NotSignificant);
                assert!(!u.fdr_significant);
            }
            assert_eq!(r[0].g.is_nan(), v == 0.0);
        }
    }

    #[test]
    fn islands_have_a_z_but_are_never_significant() {
        // Unit 3 has no neighbours and by far the largest value.
        let w =
            SpatialWeights::from_neighbours(vec![vec![1], vec![0, 2], vec![1], vec![]]).unwrap();
        let values = [1.0, 2.0, 1.0, 40.0];
        let r = gi_star(&values, &w, &GiStarOptions::default()).unwrap();
        let mean = 11.0;
        let sd = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 4.0).sqrt();
        assert!((r[3].z - (40.0 - mean) / sd).abs() < 1e-12);
        assert_eq!(r[3].p_sim, None);
        assert!(r[3].p_fdr.is_nan());
        assert_eq!(r[3].class, HotCold::NotSignificant);
        assert!(r[0].p_sim.is_some());
    }

    #[test]
    fn textbook_formula_on_a_line() {
        // Binary weights with self: unit 0 sees {0, 1}, W = 2.
        let y = [10.0, 8.0, 2.0, 1.0, 0.0, 3.0];
        let r = gi_star(
            &y,
            &line(6),
            &GiStarOptions {
                permutations: 0,
                ..Default::default()
            },
        )
        .unwrap();
        let n = 6.0;
        let mean = y.iter().sum::<f64>() / n;
        let s = (y.iter().map(|v| v * v).sum::<f64>() / n - mean * mean).sqrt();
        let z0 = (18.0 - 2.0 * mean) / (s * ((n * 2.0 - 4.0) / (n - 1.0)).sqrt());
        assert!((r[0].z - z0).abs() < 1e-12, "{} {z0}", r[0].z);
        assert_eq!(r[0].p_sim, None);
        // Row standardisation: z = (neighbourhood mean − ȳ) / s.
        let r = gi_star(
            &y,
            &line(6),
            &GiStarOptions {
                permutations: 0,
                transform: Transform::Row,
                ..Default::default()
            },
        )
        .unwrap();
        assert!((r[0].z - (9.0 - mean) / s).abs() < 1e-12);
    }

    #[test]
    fn same_seed_same_p_sim_and_strong_clusters_are_found() {
        let n = 40;
        let y: Vec<f64> = (0..n)
            .map(|i| {
                if (5..8).contains(&i) {
                    20.0
                } else {
                    (i % 3) as f64
                }
            })
            .collect();
        let opts = GiStarOptions {
            decide_by: PValue::Permutation,
            ..Default::default()
        };
        let a = gi_star(&y, &line(n), &opts).unwrap();
        let b = gi_star(&y, &line(n), &opts).unwrap();
        assert_eq!(a, b);
        // Two of the 39 other units hold 20: a draw matches the observed 40 with probability 1/741.
        assert!(a[6].p_sim.unwrap() < 0.005, "{:?}", a[6].p_sim);
        assert_eq!(a[6].class, HotCold::Hot99);
        assert!(a[6].z > 3.0);
        assert!(a[30].p_sim.unwrap() > 0.01);
    }

    #[test]
    fn bins_follow_arcgis() {
        assert_eq!(HotCold::from_z_p(3.0, 0.002), HotCold::Hot99);
        assert_eq!(HotCold::from_z_p(-2.0, 0.045), HotCold::Cold95);
        assert_eq!(HotCold::from_z_p(1.7, 0.09), HotCold::Hot90);
        assert_eq!(HotCold::from_z_p(1.0, 0.3), HotCold::NotSignificant);
        assert_eq!(HotCold::from_z_p(2.0, f64::NAN), HotCold::NotSignificant);
        assert_eq!(HotCold::Hot99.bin(), 3);
        assert_eq!(HotCold::Cold90.bin(), -1);
        assert_eq!(HotCold::NotSignificant.bin(), 0);
    }

    #[test]
    fn bad_input_is_refused() {
        let w = line(3);
        assert!(matches!(
            gi_star(&[1.0, 2.0], &w, &GiStarOptions::default()),
            Err(AnalyticsError::LengthMismatch {
                expected: 3,
                got: 2,
                ..
            })
        ));
        assert!(matches!(
            gi_star(&[1.0, f64::NAN, 2.0], &w, &GiStarOptions::default()),
            Err(AnalyticsError::NonFinite { index: 1, .. })
        ));
        let no_perm = GiStarOptions {
            permutations: 0,
            decide_by: PValue::Permutation,
            ..Default::default()
        };
        assert!(gi_star(&[1.0, 2.0, 3.0], &w, &no_perm).is_err());
    }
}
