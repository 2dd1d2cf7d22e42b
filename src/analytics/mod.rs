//! Hotspot statistics that police analysts know from Esri and PySAL, done in Vigil: pure functions
//! over points (EPSG:4326 lon/lat) and areal units, no store and no HTTP.
//!
//! | file | operation | checked against (tests/analytics.rs) |
//! |---|---|---|
//! | `dbscan.rs` | DBSCAN of điểm into suggested tụ điểm (eps in metres), cluster hulls and radii | scikit-learn `DBSCAN(metric="haversine")` |
//! | `kde.rs` | kernel density (quartic like ArcGIS, or Epanechnikov) on a grid and on XYZ tiles | numpy, the same kernel summed directly |
//! | `units.rs` | areal units: hexagon grids over a bbox, points counted per unit | — (unit tests) |
//! | `weights.rs` | spatial weights: queen/rook contiguity, distance band, k nearest neighbours | libpysal `Queen`, `KNN`, `DistanceBand` |
//! | `gistar.rs` | Getis-Ord Gi* z-scores, analytical and conditional-permutation p-values, FDR, hot/cold bins | esda `G_Local(star=True)`, `esda.fdr`, statsmodels |
//! | `fdr.rs` | Benjamini–Hochberg adjusted p-values and esda's FDR cut-off | statsmodels `multipletests`, `esda.fdr` |
//! | `mann_kendall.rs` | the Mann–Kendall trend test with the tie correction | `pymannkendall.original_test` |
//! | `emerging.rs` | Esri-style emerging hot spot patterns from Gi* per period + Mann–Kendall | — (table of patterns) |
//! | `geojson.rs` | GeoJSON FeatureCollections of all of the above | — |
//!
//! Distances are great-circle distances on the sphere of the mean Earth radius
//! ([`EARTH_RADIUS_M`], the haversine formula scikit-learn and libpysal's arc distances use): within
//! Vietnam the sphere is off the WGS 84 ellipsoid by at most about 0.5 %, far below what matters
//! for a clustering radius or a kernel bandwidth, and it keeps the results identical to PySAL's
//! and scikit-learn's. Neighbour searches use rstar trees: for weights, over unit vectors in 3-D,
//! where the straight (chord) distance grows with the great-circle distance, so a radius or a
//! k-nearest query is exact on the sphere; for DBSCAN, over lon/lat with a box around each eps
//! circle (faster to query) and the haversine distance deciding.
//!
//! ```
//! use vigil::analytics::{GiStarOptions, SpatialWeights, gi_star};
//!
//! // Five units in a row, each the neighbour of the next; the high values sit at one end.
//! let w = SpatialWeights::from_neighbours(vec![vec![1], vec![0, 2], vec![1, 3], vec![2, 4], vec![3]]).unwrap();
//! let gi = gi_star(&[9.0, 8.0, 1.0, 0.0, 1.0], &w, &GiStarOptions::default()).unwrap();
//! assert!(gi[0].z > 1.0 && gi[4].z < 0.0);
//! ```

mod dbscan;
mod emerging;
mod fdr;
pub mod geojson;
mod gistar;
mod kde;
mod mann_kendall;
mod units;
mod weights;

pub use dbscan::{Cluster, Clustering, IdPoint, dbscan};
pub use emerging::{EmergingOptions, EmergingUnit, Pattern, classify_pattern, emerging_hot_spots};
pub use fdr::{benjamini_hochberg, fdr_threshold};
pub use gistar::{GiStar, GiStarOptions, HotCold, PValue, Transform, gi_star};
pub use kde::{
    DensityGrid, KdeParams, Kernel, MAX_GRID_CELLS, Ramp, colour_tile, density_at, density_tile,
    kernel_density,
};
pub use mann_kendall::{MannKendall, Trend, mann_kendall};
pub use units::{Unit, counts_per_unit, hex_grid, unit_of_points};
pub use weights::{Contiguity, SpatialWeights};

/// Mean Earth radius (IUGG R1), metres: the sphere every distance in this module is measured on.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Why an analysis refused its input. Nothing is computed when one of these is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{what} has {got} entries but {expected} were expected")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{what} #{index} is not a finite number")]
    NonFinite { what: &'static str, index: usize },
    #[error("{what} #{index} is outside lon -180..180, lat -90..90")]
    OutOfRange { what: &'static str, index: usize },
    #[error("{name} = {value} is invalid: {rule}")]
    Parameter {
        name: &'static str,
        value: f64,
        rule: &'static str,
    },
    #[error("neighbour {neighbour} of unit {unit} is not a unit (there are {n})")]
    NeighbourIndex {
        unit: usize,
        neighbour: usize,
        n: usize,
    },
    #[error(
        "the grid would have {cells} cells; the limit is {limit} (use a larger cell or a smaller bbox)"
    )]
    TooManyCells { cells: u64, limit: u64 },
}

/// Checks a parameter that must be a finite number greater than zero.
fn positive(name: &'static str, value: f64) -> Result<f64, AnalyticsError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(AnalyticsError::Parameter {
            name,
            value,
            rule: "must be a finite number greater than 0",
        })
    }
}

/// Checks a significance level: 0 < alpha < 1.
fn level(name: &'static str, value: f64) -> Result<f64, AnalyticsError> {
    if value.is_finite() && value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(AnalyticsError::Parameter {
            name,
            value,
            rule: "must be between 0 and 1",
        })
    }
}

/// Checks a `[west, south, east, north]` box in degrees.
fn check_bbox(bbox: [f64; 4]) -> Result<[f64; 4], AnalyticsError> {
    let [w, s, e, n] = bbox;
    let ok = bbox.iter().all(|v| v.is_finite())
        && (-180.0..=180.0).contains(&w)
        && (-180.0..=180.0).contains(&e)
        && (-90.0..=90.0).contains(&s)
        && (-90.0..=90.0).contains(&n);
    if !ok {
        return Err(AnalyticsError::Parameter {
            name: "bbox",
            value: f64::NAN,
            rule: "must be finite [west, south, east, north] degrees within lon -180..180, lat -90..90",
        });
    }
    if w >= e || s >= n {
        return Err(AnalyticsError::Parameter {
            name: "bbox",
            value: if w >= e { e - w } else { n - s },
            rule: "west must be less than east and south less than north",
        });
    }
    Ok(bbox)
}

/// Checks lon/lat points: finite and within the globe.
fn check_lon_lat(
    what: &'static str,
    points: impl Iterator<Item = [f64; 2]>,
) -> Result<(), AnalyticsError> {
    for (index, [lon, lat]) in points.enumerate() {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(AnalyticsError::NonFinite { what, index });
        }
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(AnalyticsError::OutOfRange { what, index });
        }
    }
    Ok(())
}

/// Great-circle distance in metres between two lon/lat points (the haversine formula, written as
/// scikit-learn's `haversine_distances` writes it, so borderline pairs compare the same way).
pub fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    haversine_rad(a, b) * EARTH_RADIUS_M
}

/// Central angle in radians between two lon/lat points.
fn haversine_rad(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat1, lat2) = (a[1].to_radians(), b[1].to_radians());
    let dlat = lat2 - lat1;
    let dlon = b[0].to_radians() - a[0].to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * h.sqrt().min(1.0).asin()
}

/// The point on the unit sphere for a lon/lat position.
fn unit_vector(lon: f64, lat: f64) -> [f64; 3] {
    let (lon, lat) = (lon.to_radians(), lat.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// The chord on the unit sphere that spans a great-circle distance of `metres` (capped at the
/// diameter).
fn chord_for(metres: f64) -> f64 {
    let angle = (metres / EARTH_RADIUS_M).min(std::f64::consts::PI);
    2.0 * (angle / 2.0).sin()
}

/// How many worker threads to use for `work_items` items: every core, but no more threads than
/// there are chunks of `min_chunk` items.
fn threads_for(work_items: usize, min_chunk: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(work_items.div_ceil(min_chunk.max(1))).max(1)
}

/// Survival function of the standard normal distribution, `P(Z > z)`, via `erfc` (no cancellation
/// in the tails, unlike `1 - cdf`).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_distances() {
        // One degree of latitude on the mean-radius sphere.
        let d = haversine_m([105.0, 21.0], [105.0, 22.0]);
        assert!((d - EARTH_RADIUS_M.to_radians() * 1.0).abs() < 1e-6, "{d}");
        assert_eq!(haversine_m([105.8, 21.0], [105.8, 21.0]), 0.0);
    }

    #[test]
    fn chord_is_monotone_in_distance_and_exact() {
        let a = [105.85, 21.03];
        let b = [105.86, 21.04];
        let [x1, y1, z1] = unit_vector(a[0], a[1]);
        let [x2, y2, z2] = unit_vector(b[0], b[1]);
        let chord = ((x1 - x2).powi(2) + (y1 - y2).powi(2) + (z1 - z2).powi(2)).sqrt();
        assert!((chord - chord_for(haversine_m(a, b))).abs() < 1e-15);
    }

    #[test]
    fn normal_tail_matches_tables() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-16);
        assert!((normal_sf(1.959_963_984_540_054) - 0.025).abs() < 1e-15);
        assert!((normal_sf(-2.575_829_303_548_901) - 0.995).abs() < 1e-15);
        assert!(normal_sf(10.0) > 0.0 && normal_sf(10.0) < 1e-22);
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let e = positive("eps_m", -1.0).unwrap_err();
        assert!(e.to_string().contains("eps_m"), "{e}");
        assert!(check_bbox([106.0, 21.0, 105.0, 22.0]).is_err());
        assert!(check_bbox([105.0, 21.0, 106.0, 22.0]).is_ok());
        assert!(level("alpha", 1.0).is_err());
    }
}
