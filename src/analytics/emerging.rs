//! Emerging hot spot analysis, after Esri's tool of that name: Gi* in every period (time slice),
//! the Mann–Kendall test on each unit's series of z-scores, and a pattern per unit.
//!
//! Esri's definitions (Emerging Hot Spot Analysis, "How it works", quoted from memory), with the
//! precise rules implemented here. `n` periods; a period is *hot* (*cold*) for a unit when its Gi*
//! is significant at [`EmergingOptions::alpha`] with z > 0 (z < 0); `H` is the number of hot
//! periods; "≥ 90 %" means `10·H ≥ 9·n`; the trend is Mann–Kendall on the z-scores at
//! [`EmergingOptions::trend_alpha`].
//!
//! | pattern | Esri | rule here (final period hot) |
//! |---|---|---|
//! | oscillating | hot in the final period, a cold spot in some earlier period, hot < 90 % | an earlier cold period and H < 90 % |
//! | new | hot in the final period, never hot before | H = 1 (or a single period that is hot) |
//! | consecutive | a single uninterrupted run of ≥ 2 hot periods at the end, never hot before the run, hot < 90 % | the hot periods are one run ending at the final period, H ≥ 2, H < 90 % |
//! | intensifying | hot ≥ 90 % including the final period, clustering increasing significantly | H ≥ 90 %, trend increasing |
//! | persistent | hot ≥ 90 %, no significant trend | H ≥ 90 %, no trend |
//! | diminishing | hot ≥ 90 % including the final period, clustering decreasing significantly | H ≥ 90 %, trend decreasing |
//! | sporadic | hot in the final period, on and off before, hot < 90 %, never cold | everything else with the final period hot |
//! | historical | not hot in the final period, hot in ≥ 90 % of the periods | final period not hot (and not cold), H ≥ 90 % |
//!
//! The rows are tried in that order: Esri's definitions overlap (cold, cold, hot is both "new" and
//! "oscillating"), and an earlier cold spot is the more telling history, so oscillating comes
//! first. Cold patterns mirror these with hot ↔ cold and increasing ↔ decreasing (an intensifying
//! cold spot's z-scores fall). A unit whose final period is cold is classified on the cold side.
//! Everything else is *no pattern*.
//!
//! Differences from Esri: Gi* here is per slice, with spatial neighbours only — Esri's cube also
//! counts the neighbours' bins in the preceding "neighbourhood time step" periods. The hot/cold
//! significance of a period uses the FDR-corrected p-values by default, as Esri's space-time hot
//! spots are (its documentation says the bins are FDR-corrected), at alpha 0.05.

use serde::Serialize;

use super::{
    AnalyticsError, GiStarOptions, MannKendall, PValue, SpatialWeights, Trend, gi_star, level,
    mann_kendall,
};

/// Settings for [`emerging_hot_spots`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EmergingOptions {
    /// Gi* per period (permutations 0 by default: analytical p-values).
    pub gi: GiStarOptions,
    /// Significance level for a period to be hot or cold.
    pub alpha: f64,
    /// Decide hot/cold on the Benjamini–Hochberg q-values of each period.
    pub fdr: bool,
    /// Significance level of the Mann–Kendall trend.
    pub trend_alpha: f64,
}

impl Default for EmergingOptions {
    fn default() -> Self {
        EmergingOptions {
            gi: GiStarOptions {
                permutations: 0,
                ..GiStarOptions::default()
            },
            alpha: 0.05,
            fdr: true,
            trend_alpha: 0.05,
        }
    }
}

/// Esri's emerging hot and cold spot patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    NoPattern,
    NewHotSpot,
    ConsecutiveHotSpot,
    IntensifyingHotSpot,
    PersistentHotSpot,
    DiminishingHotSpot,
    SporadicHotSpot,
    OscillatingHotSpot,
    HistoricalHotSpot,
    NewColdSpot,
    ConsecutiveColdSpot,
    IntensifyingColdSpot,
    PersistentColdSpot,
    DiminishingColdSpot,
    SporadicColdSpot,
    OscillatingColdSpot,
    HistoricalColdSpot,
}

impl Pattern {
    /// The serde name: `new_hot_spot`, …, `no_pattern`.
    pub fn as_str(self) -> &'static str {
        use Pattern::*;
        match self {
            NoPattern => "no_pattern",
            NewHotSpot => "new_hot_spot",
            ConsecutiveHotSpot => "consecutive_hot_spot",
            IntensifyingHotSpot => "intensifying_hot_spot",
            PersistentHotSpot => "persistent_hot_spot",
            DiminishingHotSpot => "diminishing_hot_spot",
            SporadicHotSpot => "sporadic_hot_spot",
            OscillatingHotSpot => "oscillating_hot_spot",
            HistoricalHotSpot => "historical_hot_spot",
            NewColdSpot => "new_cold_spot",
            ConsecutiveColdSpot => "consecutive_cold_spot",
            IntensifyingColdSpot => "intensifying_cold_spot",
            PersistentColdSpot => "persistent_cold_spot",
            DiminishingColdSpot => "diminishing_cold_spot",
            SporadicColdSpot => "sporadic_cold_spot",
            OscillatingColdSpot => "oscillating_cold_spot",
            HistoricalColdSpot => "historical_cold_spot",
        }
    }

    /// The label on the map.
    pub fn label_vi(self) -> &'static str {
        use Pattern::*;
        match self {
            NoPattern => "Không có xu hướng rõ",
            NewHotSpot => "Điểm nóng mới",
            ConsecutiveHotSpot => "Điểm nóng liên tiếp",
            IntensifyingHotSpot => "Điểm nóng gia tăng",
            PersistentHotSpot => "Điểm nóng dai dẳng",
            DiminishingHotSpot => "Điểm nóng suy giảm",
            SporadicHotSpot => "Điểm nóng rải rác",
            OscillatingHotSpot => "Điểm nóng dao động",
            HistoricalHotSpot => "Điểm nóng trước đây",
            NewColdSpot => "Điểm lạnh mới",
            ConsecutiveColdSpot => "Điểm lạnh liên tiếp",
            IntensifyingColdSpot => "Điểm lạnh gia tăng",
            PersistentColdSpot => "Điểm lạnh dai dẳng",
            DiminishingColdSpot => "Điểm lạnh suy giảm",
            SporadicColdSpot => "Điểm lạnh rải rác",
            OscillatingColdSpot => "Điểm lạnh dao động",
            HistoricalColdSpot => "Điểm lạnh trước đây",
        }
    }
}

/// One unit's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmergingUnit {
    pub pattern: Pattern,
    /// Gi* z-score per period.
    pub z: Vec<f64>,
    /// Per period: 1 hot, −1 cold, 0 neither.
    pub bins: Vec<i8>,
    /// Mann–Kendall on `z`.
    pub trend: MannKendall,
}

/// Emerging hot spot analysis: `periods[t][i]` is unit i's value (e.g. count of điểm reported) in
/// period t, oldest first; every period covers the units of `weights` in its order.
pub fn emerging_hot_spots(
    periods: &[Vec<f64>],
    weights: &SpatialWeights,
    opts: &EmergingOptions,
) -> Result<Vec<EmergingUnit>, AnalyticsError> {
    level("alpha", opts.alpha)?;
    level("trend_alpha", opts.trend_alpha)?;
    let n = weights.n();
    let mut z = vec![Vec::with_capacity(periods.len()); n];
    let mut bins = vec![Vec::with_capacity(periods.len()); n];
    for (t, values) in periods.iter().enumerate() {
        let gi_opts = GiStarOptions {
            seed: opts.gi.seed.wrapping_add(t as u64),
            ..opts.gi
        };
        let gi = gi_star(values, weights, &gi_opts)?;
        for (i, r) in gi.iter().enumerate() {
            let p = if opts.fdr {
                r.p_fdr
            } else {
                match opts.gi.decide_by {
                    PValue::Analytical => r.p_value,
                    PValue::Permutation => r.p_sim.unwrap_or(f64::NAN),
                }
            };
            let significant = r.neighbours > 0
                && if opts.fdr {
                    p <= opts.alpha
                } else {
                    p < opts.alpha
                };
            z[i].push(r.z);
            bins[i].push(match (significant, r.z > 0.0, r.z < 0.0) {
                (true, true, _) => 1,
                (true, _, true) => -1,
                _ => 0,
            });
        }
    }
    Ok(z.into_iter()
        .zip(bins)
        .map(|(z, bins)| {
            let trend = mann_kendall(&z, opts.trend_alpha);
            EmergingUnit {
                pattern: classify_pattern(&bins, trend.trend),
                z,
                bins,
                trend,
            }
        })
        .collect())
}

/// The pattern of one unit from its per-period bins (1 hot, −1 cold, 0 neither; oldest first) and
/// the Mann–Kendall trend of its z-scores. The rules are in the module docs.
///
/// ```
/// use vigil::analytics::{Pattern, Trend, classify_pattern};
/// assert_eq!(classify_pattern(&[0, 0, 0, 1], Trend::NoTrend), Pattern::NewHotSpot);
/// assert_eq!(classify_pattern(&[1; 10], Trend::Increasing), Pattern::IntensifyingHotSpot);
/// ```
pub fn classify_pattern(bins: &[i8], trend: Trend) -> Pattern {
    use Pattern::*;
    let Some(&last) = bins.last() else {
        return NoPattern;
    };
    let n = bins.len();
    let most = |side: i8| 10 * bins.iter().filter(|&&b| b == side).count() >= 9 * n;
    if last == 0 {
        return if most(1) {
            HistoricalHotSpot
        } else if most(-1) {
            HistoricalColdSpot
        } else {
            NoPattern
        };
    }
    let side = last;
    let hot = side == 1;
    let pick = |h: Pattern, c: Pattern| if hot { h } else { c };
    if n == 1 {
        // One period is all there is: new, whatever the share.
        return pick(NewHotSpot, NewColdSpot);
    }
    let count = bins.iter().filter(|&&b| b == side).count();
    let earlier_opposite = bins[..n - 1].iter().any(|&b| b == -side);
    let run = bins.iter().rev().take_while(|&&b| b == side).count();
    if most(side) {
        let (up, down) = if hot {
            (Trend::Increasing, Trend::Decreasing)
        } else {
            (Trend::Decreasing, Trend::Increasing)
        };
        return if trend == up {
            pick(IntensifyingHotSpot, IntensifyingColdSpot)
        } else if trend == down {
            pick(DiminishingHotSpot, DiminishingColdSpot)
        } else {
            pick(PersistentHotSpot, PersistentColdSpot)
        };
    }
    if earlier_opposite {
        pick(OscillatingHotSpot, OscillatingColdSpot)
    } else if count == 1 {
        pick(NewHotSpot, NewColdSpot)
    } else if run == count {
        pick(ConsecutiveHotSpot, ConsecutiveColdSpot)
    } else {
        pick(SporadicHotSpot, SporadicColdSpot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Pattern::*;
    use Trend::*;

    #[test]
    fn pattern_table() {
        let ten = |v: [i8; 10]| v.to_vec();
        let cases: Vec<(Vec<i8>, Trend, Pattern)> = vec![
            (vec![], NoTrend, NoPattern),
            (ten([0; 10]), Increasing, NoPattern),
            (ten([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), NoTrend, NewHotSpot),
            (vec![1], NoTrend, NewHotSpot),
            (
                ten([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]),
                Increasing,
                ConsecutiveHotSpot,
            ),
            (
                ten([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
                Increasing,
                IntensifyingHotSpot,
            ),
            (
                ten([0, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
                NoTrend,
                PersistentHotSpot,
            ),
            (
                ten([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
                Decreasing,
                DiminishingHotSpot,
            ),
            (
                ten([1, 0, 1, 0, 0, 1, 0, 0, 1, 1]),
                NoTrend,
                SporadicHotSpot,
            ),
            (
                ten([0, -1, 0, 0, 0, 1, 0, 0, 0, 1]),
                NoTrend,
                OscillatingHotSpot,
            ),
            (
                ten([-1, -1, 0, 0, 0, 0, 0, 0, 0, 1]),
                NoTrend,
                OscillatingHotSpot,
            ),
            (
                ten([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
                Decreasing,
                HistoricalHotSpot,
            ),
            (ten([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), Decreasing, NoPattern),
            // Cold side: an intensifying cold spot's z-scores fall.
            (ten([0, 0, 0, 0, 0, 0, 0, 0, 0, -1]), NoTrend, NewColdSpot),
            (ten([-1; 10]), Decreasing, IntensifyingColdSpot),
            (ten([-1; 10]), Increasing, DiminishingColdSpot),
            (ten([-1; 10]), NoTrend, PersistentColdSpot),
            (
                ten([0, 0, 0, 0, 0, 0, -1, -1, -1, -1]),
                NoTrend,
                ConsecutiveColdSpot,
            ),
            (
                ten([-1, 0, -1, 0, 0, 0, 0, 0, 0, -1]),
                NoTrend,
                SporadicColdSpot,
            ),
            (
                ten([1, 0, 0, 0, 0, 0, 0, 0, 0, -1]),
                NoTrend,
                OscillatingColdSpot,
            ),
            (
                ten([-1, -1, -1, -1, -1, -1, -1, -1, -1, 0]),
                NoTrend,
                HistoricalColdSpot,
            ),
            // Final period cold after a hot history: the cold side decides.
            (
                ten([1, 1, 1, 1, 1, 1, 1, 1, 1, -1]),
                NoTrend,
                OscillatingColdSpot,
            ),
        ];
        for (bins, trend, want) in cases {
            assert_eq!(classify_pattern(&bins, trend), want, "{bins:?} {trend:?}");
        }
    }

    #[test]
    fn planted_history_is_recognised() {
        // 12 units on a line; unit 2's neighbourhood is hot in every period and heating up;
        // unit 9's turns hot only in the last period.
        let w = SpatialWeights::from_neighbours(
            (0..12usize)
                .map(|i| {
                    [i.wrapping_sub(1), i + 1]
                        .into_iter()
                        .filter(|&j| j < 12)
                        .collect()
                })
                .collect(),
        )
        .unwrap();
        let periods: Vec<Vec<f64>> = (0..8)
            .map(|t| {
                (0..12)
                    .map(|i| match i {
                        1..=3 => 10.0 + 2.0 * f64::from(t),
                        8..=10 if t == 7 => 40.0,
                        _ => f64::from((i + t) % 2),
                    })
                    .collect()
            })
            .collect();
        let opts = EmergingOptions {
            fdr: false,
            alpha: 0.10,
            ..Default::default()
        };
        let r = emerging_hot_spots(&periods, &w, &opts).unwrap();
        assert_eq!(r[9].pattern, NewHotSpot, "{:?}", r[9]);
        assert!(r[2].bins[..7].iter().all(|&b| b == 1), "{:?}", r[2]);
        assert_eq!(r[2].z.len(), 8);
        // The quiet middle: nothing until the last period, when the new cluster lifts the mean
        // and its low neighbourhood turns into a (new) cold spot.
        assert_eq!(r[5].pattern, NewColdSpot, "{:?}", r[5]);
        assert!(r[5].bins[..7].iter().all(|&b| b == 0));
    }

    #[test]
    fn no_periods_and_bad_periods() {
        let w = SpatialWeights::from_neighbours(vec![vec![1], vec![0]]).unwrap();
        let r = emerging_hot_spots(&[], &w, &EmergingOptions::default()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].pattern, NoPattern);
        assert!(emerging_hot_spots(&[vec![1.0]], &w, &EmergingOptions::default()).is_err());
    }
}
