//! Kernel density of điểm, as ArcGIS's Kernel Density tool: every point spreads its weight over a
//! disc of radius `bandwidth_m` with the quartic kernel (Silverman 1986, eq. 4.5), and a cell's
//! value is the sum at its centre, per km²:
//!
//! ```text
//! quartic:       D = 1e6 / h² · Σ_{d_i < h} 3/π · w_i · (1 − (d_i/h)²)²
//! Epanechnikov:  D = 1e6 / h² · Σ_{d_i < h} 2/π · w_i · (1 − (d_i/h)²)
//! ```
//!
//! (both integrate to `w_i` over the disc, so the surface integrates to the number of điểm).
//!
//! **Distance.** `d` is measured in a local equirectangular plane per pair of positions:
//! `dx = R·Δλ·cos((φ₁+φ₂)/2)`, `dy = R·Δφ` on the sphere of [`super::EARTH_RADIUS_M`]. For
//! bandwidths up to tens of kilometres this is within 1e-6 (relative) of the great-circle distance,
//! and the cosine comes from the row's and the point's half-angles, computed once each.
//!
//! **Grid.** Cells are `cell_m` metres square at the bbox's middle latitude (in degrees: `cell_m`
//! of latitude, `cell_m / cos(middle)` of longitude), starting at the bbox's north-west corner,
//! row 0 at the north. The surface is computed by spreading each point over the cells within
//! reach, in horizontal bands of rows, one band per core.
//!
//! Hand-written: no crate on crates.io computes ArcGIS's kernel on a geographic grid.

use serde::Serialize;

use super::{AnalyticsError, EARTH_RADIUS_M, check_bbox, check_lon_lat, positive, threads_for};
use crate::grid::{TILE_SIZE, Tile, mercator_to_lon_lat};

/// Most cells [`kernel_density`] makes (100 MB of `f32`).
pub const MAX_GRID_CELLS: u64 = 25_000_000;

/// The kernel's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// ArcGIS Kernel Density's kernel: `3/π (1 − u²)²`.
    Quartic,
    /// `2/π (1 − u²)`.
    Epanechnikov,
}

impl Kernel {
    /// The kernel at squared relative distance `u2 < 1`, normalised on the unit disc.
    fn at(self, u2: f64) -> f64 {
        let t = 1.0 - u2;
        match self {
            Kernel::Quartic => t * t,
            Kernel::Epanechnikov => t,
        }
    }

    fn norm(self) -> f64 {
        match self {
            Kernel::Quartic => 3.0 / std::f64::consts::PI,
            Kernel::Epanechnikov => 2.0 / std::f64::consts::PI,
        }
    }

    /// The factor from a sum of `at` values to a density per km² for bandwidth `h` metres.
    fn per_km2(self, h: f64) -> f64 {
        self.norm() / (h * h) * 1e6
    }
}

/// Settings for [`kernel_density`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KdeParams {
    pub kernel: Kernel,
    /// Search radius in metres (ArcGIS "search radius").
    pub bandwidth_m: f64,
    /// Cell size in metres.
    pub cell_m: f64,
}

/// A density surface: `rows × cols` cells from the north-west corner `(west, north)`, row-major,
/// row 0 at the north, values in điểm per km².
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DensityGrid {
    pub west: f64,
    pub north: f64,
    /// Cell width in degrees of longitude.
    pub cell_lon: f64,
    /// Cell height in degrees of latitude.
    pub cell_lat: f64,
    /// The cell size in metres asked for (exact at the middle latitude).
    pub cell_m: f64,
    pub rows: usize,
    pub cols: usize,
    pub kernel: Kernel,
    pub bandwidth_m: f64,
    pub values: Vec<f32>,
}

impl DensityGrid {
    /// The value of a cell.
    pub fn value(&self, row: usize, col: usize) -> f32 {
        self.values[row * self.cols + col]
    }

    /// A cell's centre, `[lon, lat]`.
    pub fn cell_center(&self, row: usize, col: usize) -> [f64; 2] {
        [
            self.west + (col as f64 + 0.5) * self.cell_lon,
            self.north - (row as f64 + 0.5) * self.cell_lat,
        ]
    }

    /// A cell's `[west, south, east, north]`.
    pub fn cell_bounds(&self, row: usize, col: usize) -> [f64; 4] {
        let w = self.west + col as f64 * self.cell_lon;
        let n = self.north - row as f64 * self.cell_lat;
        [w, n - self.cell_lat, w + self.cell_lon, n]
    }

    /// The largest value (0 for an empty grid).
    pub fn max(&self) -> f32 {
        self.values.iter().copied().fold(0.0, f32::max)
    }
}

fn check_points(points: &[[f64; 2]], weights: Option<&[f64]>) -> Result<(), AnalyticsError> {
    check_lon_lat("point", points.iter().copied())?;
    if let Some(w) = weights {
        if w.len() != points.len() {
            return Err(AnalyticsError::LengthMismatch {
                what: "weights",
                expected: points.len(),
                got: w.len(),
            });
        }
        if let Some(index) = w.iter().position(|v| !v.is_finite()) {
            return Err(AnalyticsError::NonFinite {
                what: "weight",
                index,
            });
        }
    }
    Ok(())
}

const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// The density surface of `points` (lon/lat) over `bbox` (`[west, south, east, north]`), each
/// point weighted 1 or by `weights` (ArcGIS's population field). Points outside the bbox but within
/// the bandwidth of it count.
///
/// ```
/// use vigil::analytics::{KdeParams, Kernel, kernel_density};
/// let params = KdeParams { kernel: Kernel::Quartic, bandwidth_m: 1000.0, cell_m: 100.0 };
/// let grid = kernel_density(&[[105.85, 21.03]], None, [105.83, 21.01, 105.87, 21.05], &params).unwrap();
/// // One điểm: the peak is 3/(π h²) per m², ≈ 0.955 per km², at the cell nearest the point.
/// assert!((grid.max() - 0.955).abs() < 0.01);
/// ```
pub fn kernel_density(
    points: &[[f64; 2]],
    weights: Option<&[f64]>,
    bbox: [f64; 4],
    params: &KdeParams,
) -> Result<DensityGrid, AnalyticsError> {
    let [west, south, east, north] = check_bbox(bbox)?;
    let h = positive("bandwidth_m", params.bandwidth_m)?;
    let cell_m = positive("cell_m", params.cell_m)?;
    check_points(points, weights)?;
    let mid = ((south + north) / 2.0).to_radians();
    let cell_lat = cell_m / M_PER_DEG;
    let cell_lon = cell_m / (M_PER_DEG * mid.cos());
    let rows = ((north - south) / cell_lat).ceil().max(1.0);
    let cols = ((east - west) / cell_lon).ceil().max(1.0);
    let cells = rows * cols;
    if cells > MAX_GRID_CELLS as f64 {
        return Err(AnalyticsError::TooManyCells {
            cells: cells as u64,
            limit: MAX_GRID_CELLS,
        });
    }
    let (rows, cols) = (rows as usize, cols as usize);
    let mut values = vec![0f32; rows * cols];
    let threads = threads_for(rows * cols, 4096).min(rows);
    let band = rows.div_ceil(threads);
    let kernel = params.kernel;
    let scale = kernel.per_km2(h);
    let h2 = h * h;
    let inv_h2 = 1.0 / h2;
    let h_lat = h / M_PER_DEG;
    // Points bucketed by the row they fall in (a counting sort; points beyond the bandwidth of the
    // grid are left out), so each band reads only the points that reach it, in row order, and
    // its accumulator is touched a few rows at a time (2× faster than input order on 1M points).
    let reach = (h_lat / cell_lat).ceil() as i64 + 1;
    let buckets = rows + 2 * reach as usize;
    let bucket = |lat: f64| {
        let r = ((north - lat) / cell_lat).floor();
        (r >= -(reach as f64) && r < (rows as i64 + reach) as f64)
            .then(|| (r as i64 + reach) as usize)
    };
    let mut starts = vec![0usize; buckets + 1];
    for p in points {
        if let Some(b) = bucket(p[1]) {
            starts[b + 1] += 1;
        }
    }
    for b in 0..buckets {
        starts[b + 1] += starts[b];
    }
    let mut sorted = vec![0u32; starts[buckets]];
    let mut next = starts.clone();
    for (k, p) in points.iter().enumerate() {
        if let Some(b) = bucket(p[1]) {
            sorted[next[b]] = k as u32;
            next[b] += 1;
        }
    }
    let half_angles: Vec<(f64, f64)> = (0..rows)
        .map(|r| {
            ((north - (r as f64 + 0.5) * cell_lat) / 2.0)
                .to_radians()
                .sin_cos()
        })
        .collect();
    let rows_kernel = RowKernel {
        west,
        step: cell_lon,
        h2,
        inv_h2,
        kernel,
    };
    let (sorted, starts, half_angles, rows_kernel) = (&sorted, &starts, &half_angles, &rows_kernel);
    std::thread::scope(|s| {
        for (b, out) in values.chunks_mut(band * cols).enumerate() {
            s.spawn(move || {
                let r0 = b * band;
                let r1 = r0 + out.len() / cols; // exclusive
                let mut acc = vec![0f64; out.len()];
                // Buckets of rows r0 − reach ..< r1 + reach.
                let mine = &sorted[starts[r0]..starts[(r1 + 2 * reach as usize).min(buckets)]];
                for &k in mine {
                    let k = k as usize;
                    let [lon, lat] = points[k];
                    let w = weights.map_or(1.0, |w| w[k]);
                    // Rows whose centre latitude is within h of the point.
                    let first = ((north - lat - h_lat) / cell_lat - 0.5)
                        .ceil()
                        .max(r0 as f64);
                    let last = ((north - lat + h_lat) / cell_lat - 0.5)
                        .floor()
                        .min(r1 as f64 - 1.0);
                    if first > last {
                        continue;
                    }
                    let (sp, cp) = (lat / 2.0).to_radians().sin_cos();
                    for r in first as usize..=last as usize {
                        rows_kernel.add(
                            &mut acc[(r - r0) * cols..(r - r0 + 1) * cols],
                            north - (r as f64 + 0.5) * cell_lat,
                            half_angles[r],
                            [lon, lat],
                            (sp, cp),
                            w,
                        );
                    }
                }
                for (o, a) in out.iter_mut().zip(acc) {
                    *o = (a * scale) as f32;
                }
            });
        }
    });
    Ok(DensityGrid {
        west,
        north,
        cell_lon,
        cell_lat,
        cell_m,
        rows,
        cols,
        kernel,
        bandwidth_m: h,
        values,
    })
}

/// Adds a point's kernel to rows of cells `step` degrees wide from `west` (a grid's rows or a
/// tile's pixel rows): the part of [`kernel_density`] and [`density_tile`] that is the same.
struct RowKernel {
    west: f64,
    step: f64,
    h2: f64,
    inv_h2: f64,
    kernel: Kernel,
}

impl RowKernel {
    /// Adds the point `[lon, lat]` (weight `w`, `(sin, cos)` of half its latitude `half_point`)
    /// to `row`, the cells of the row centred on latitude `clat` (half-angle `half_row`); nothing
    /// when the row is beyond the bandwidth.
    #[inline]
    fn add(
        &self,
        row: &mut [f64],
        clat: f64,
        half_row: (f64, f64),
        [lon, lat]: [f64; 2],
        half_point: (f64, f64),
        w: f64,
    ) {
        let dy = (clat - lat) * M_PER_DEG;
        let rest = self.h2 - dy * dy;
        if rest <= 0.0 {
            return;
        }
        // cos((clat + lat)/2) from the row's and the point's half-angles.
        let ((sr, cr), (sp, cp)) = (half_row, half_point);
        let m_lon = M_PER_DEG * (cr * cp - sr * sp);
        let half = rest.sqrt() / m_lon;
        let c0 = ((lon - half - self.west) / self.step - 0.5).ceil().max(0.0);
        let c1 = ((lon + half - self.west) / self.step - 0.5)
            .floor()
            .min(row.len() as f64 - 1.0);
        if c0 > c1 {
            return;
        }
        let (c0, c1) = (c0 as usize, c1 as usize);
        spread_row(
            &mut row[c0..=c1],
            (self.west + (c0 as f64 + 0.5) * self.step - lon) * m_lon,
            self.step * m_lon,
            dy * dy * self.inv_h2,
            self.inv_h2,
            w,
            self.kernel,
        );
    }
}

/// Adds one point's kernel to a run of cells in a row: `dx0` is the east offset in metres of the
/// first cell's centre, `step` the cell width in metres, `dy2` the row's `(dy/h)²`. Written without
/// branches (the kernel is clamped at 0 past the bandwidth) so the loop vectorises.
#[allow(clippy::too_many_arguments)]
fn spread_row(
    cells: &mut [f64],
    dx0: f64,
    step: f64,
    dy2: f64,
    inv_h2: f64,
    w: f64,
    kernel: Kernel,
) {
    match kernel {
        Kernel::Quartic => {
            for (i, cell) in cells.iter_mut().enumerate() {
                let dx = dx0 + i as f64 * step;
                let t = (1.0 - (dx * dx * inv_h2 + dy2)).max(0.0);
                *cell += w * t * t;
            }
        }
        Kernel::Epanechnikov => {
            for (i, cell) in cells.iter_mut().enumerate() {
                let dx = dx0 + i as f64 * step;
                *cell += w * (1.0 - (dx * dx * inv_h2 + dy2)).max(0.0);
            }
        }
    }
}

/// The density per km² at one position, summed point by point: the slow, obvious twin of
/// [`kernel_density`] (and the value for a single place, e.g. under a clicked điểm).
pub fn density_at(
    points: &[[f64; 2]],
    weights: Option<&[f64]>,
    at: [f64; 2],
    kernel: Kernel,
    bandwidth_m: f64,
) -> Result<f64, AnalyticsError> {
    let h = positive("bandwidth_m", bandwidth_m)?;
    check_points(points, weights)?;
    let mut sum = 0.0;
    for (k, &[lon, lat]) in points.iter().enumerate() {
        let dy = (at[1] - lat) * M_PER_DEG;
        let dx = (at[0] - lon) * M_PER_DEG * ((at[1] + lat) / 2.0).to_radians().cos();
        let u2 = (dx * dx + dy * dy) / (h * h);
        if u2 < 1.0 {
            sum += weights.map_or(1.0, |w| w[k]) * kernel.at(u2);
        }
    }
    Ok(sum * kernel.per_km2(h))
}

/// The density per km² at the centres of the 256 × 256 pixels of an XYZ tile (WebMercatorQuad,
/// row-major from the top). Pixel centres sample the surface: at zooms whose pixels are wider than
/// about a quarter of the bandwidth the tile misses detail — serve those zooms from
/// [`kernel_density`] cells instead.
pub fn density_tile(
    points: &[[f64; 2]],
    weights: Option<&[f64]>,
    tile: Tile,
    kernel: Kernel,
    bandwidth_m: f64,
) -> Result<Vec<f32>, AnalyticsError> {
    let h = positive("bandwidth_m", bandwidth_m)?;
    check_points(points, weights)?;
    let size = TILE_SIZE as usize;
    let [x0, y0, x1, y1] = tile.bounds_mercator();
    let res = (x1 - x0) / size as f64;
    // Longitude is linear in Mercator x; latitude is not, so keep each row's centre latitude.
    let [west, _] = mercator_to_lon_lat(x0, y1);
    let [east, _] = mercator_to_lon_lat(x1, y1);
    let lon_step = (east - west) / size as f64;
    let lats: Vec<f64> = (0..size)
        .map(|r| mercator_to_lon_lat(x0, y1 - (r as f64 + 0.5) * res)[1])
        .collect();
    let half_angles: Vec<(f64, f64)> = lats
        .iter()
        .map(|l| (l / 2.0).to_radians().sin_cos())
        .collect();
    let (south, north) = (
        mercator_to_lon_lat(x0, y0)[1],
        mercator_to_lon_lat(x0, y1)[1],
    );
    let h_lat = h / M_PER_DEG;
    let widest = (north.abs().max(south.abs()) + h_lat)
        .min(89.9)
        .to_radians()
        .cos();
    let h_lon = h / (M_PER_DEG * widest);
    let h2 = h * h;
    let inv_h2 = 1.0 / h2;
    let rows_kernel = RowKernel {
        west,
        step: lon_step,
        h2,
        inv_h2,
        kernel,
    };
    let mut acc = vec![0f64; size * size];
    for (k, &[lon, lat]) in points.iter().enumerate() {
        if lat < south - h_lat || lat > north + h_lat || lon < west - h_lon || lon > east + h_lon {
            continue;
        }
        let w = weights.map_or(1.0, |w| w[k]);
        // Rows run north to south: lats is decreasing.
        let r0 = lats.partition_point(|&l| l > lat + h_lat);
        let r1 = lats.partition_point(|&l| l >= lat - h_lat);
        let (sp, cp) = (lat / 2.0).to_radians().sin_cos();
        for (r, &clat) in lats.iter().enumerate().take(r1).skip(r0) {
            rows_kernel.add(
                &mut acc[r * size..(r + 1) * size],
                clat,
                half_angles[r],
                [lon, lat],
                (sp, cp),
                w,
            );
        }
    }
    let scale = kernel.per_km2(h);
    Ok(acc.into_iter().map(|a| (a * scale) as f32).collect())
}

/// How [`colour_tile`] colours a density.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ramp {
    /// Black to white, opaque.
    Gray,
    /// ColorBrewer YlOrRd, pale yellow to dark red, more opaque as it gets denser (for drawing over a
    /// basemap).
    Heat,
}

/// RGBA pixels for density values: `max` (e.g. the grid's [`DensityGrid::max`], the same for every
/// tile) takes the top of the ramp, larger values are clamped, zero and negative values are
/// transparent. Encode with `tiling::image_ops::encode`.
pub fn colour_tile(values: &[f32], max: f32, ramp: Ramp) -> Vec<u8> {
    const HEAT: [[f32; 3]; 5] = [
        [255.0, 255.0, 178.0],
        [254.0, 204.0, 92.0],
        [253.0, 141.0, 60.0],
        [240.0, 59.0, 32.0],
        [189.0, 0.0, 38.0],
    ];
    let mut out = vec![0u8; values.len() * 4];
    if !(max.is_finite() && max > 0.0) {
        return out;
    }
    for (px, &v) in out.chunks_exact_mut(4).zip(values) {
        if v.is_nan() || v <= 0.0 {
            continue;
        }
        let t = (v / max).min(1.0);
        match ramp {
            Ramp::Gray => {
                let g = (t * 255.0).round() as u8;
                px.copy_from_slice(&[g, g, g, 255]);
            }
            Ramp::Heat => {
                let x = t * (HEAT.len() - 1) as f32;
                let i = (x.floor() as usize).min(HEAT.len() - 2);
                let f = x - i as f32;
                for ch in 0..3 {
                    px[ch] = (HEAT[i][ch] + (HEAT[i + 1][ch] - HEAT[i][ch]) * f).round() as u8;
                }
                px[3] = (96.0 + 159.0 * t).round() as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::tile_for_lon_lat;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random_points(n: usize, bbox: [f64; 4], seed: u64) -> Vec<[f64; 2]> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                [
                    rng.random_range(bbox[0]..bbox[2]),
                    rng.random_range(bbox[1]..bbox[3]),
                ]
            })
            .collect()
    }

    #[test]
    fn grid_equals_the_direct_sum_at_every_cell() {
        let bbox = [105.80, 21.00, 105.86, 21.05];
        let pts = random_points(300, [105.79, 20.99, 105.87, 21.06], 3);
        let wts: Vec<f64> = (0..pts.len()).map(|i| 1.0 + (i % 3) as f64).collect();
        for kernel in [Kernel::Quartic, Kernel::Epanechnikov] {
            let params = KdeParams {
                kernel,
                bandwidth_m: 900.0,
                cell_m: 250.0,
            };
            let grid = kernel_density(&pts, Some(&wts), bbox, &params).unwrap();
            assert!(grid.rows > 10 && grid.cols > 10);
            for r in 0..grid.rows {
                for c in 0..grid.cols {
                    let want = density_at(&pts, Some(&wts), grid.cell_center(r, c), kernel, 900.0)
                        .unwrap();
                    let got = f64::from(grid.value(r, c));
                    assert!(
                        (got - want).abs() <= 1e-6 * want.max(1.0),
                        "{r},{c}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn surface_integrates_to_the_number_of_points() {
        // Points far from the edges: the sum of cells × cell area ≈ the count.
        let pts = random_points(50, [105.84, 21.02, 105.86, 21.04], 5);
        let params = KdeParams {
            kernel: Kernel::Quartic,
            bandwidth_m: 800.0,
            cell_m: 20.0,
        };
        let g = kernel_density(&pts, None, [105.80, 20.98, 105.90, 21.08], &params).unwrap();
        let cell_km2 =
            (g.cell_lon * M_PER_DEG * 21.03f64.to_radians().cos()) * (g.cell_lat * M_PER_DEG) / 1e6;
        let total: f64 = g.values.iter().map(|&v| f64::from(v) * cell_km2).sum();
        assert!((total - 50.0).abs() < 0.5, "{total}");
    }

    #[test]
    fn empty_points_give_a_zero_grid_and_limits_hold() {
        let params = KdeParams {
            kernel: Kernel::Quartic,
            bandwidth_m: 500.0,
            cell_m: 100.0,
        };
        let g = kernel_density(&[], None, [105.0, 21.0, 105.01, 21.01], &params).unwrap();
        assert_eq!(g.max(), 0.0);
        let fine = KdeParams {
            cell_m: 1.0,
            ..params
        };
        assert!(matches!(
            kernel_density(&[], None, [102.0, 8.0, 110.0, 24.0], &fine),
            Err(AnalyticsError::TooManyCells { .. })
        ));
        assert!(
            kernel_density(
                &[[105.0, 21.0]],
                Some(&[]),
                [105.0, 21.0, 105.01, 21.01],
                &params
            )
            .is_err()
        );
    }

    #[test]
    fn tile_pixels_equal_the_direct_sum() {
        let pts = random_points(200, [105.83, 21.01, 105.87, 21.05], 8);
        let tile = tile_for_lon_lat(105.85, 21.03, 14);
        let values = density_tile(&pts, None, tile, Kernel::Quartic, 700.0).unwrap();
        assert_eq!(values.len(), 256 * 256);
        let [x0, _, x1, y1] = tile.bounds_mercator();
        let res = (x1 - x0) / 256.0;
        for (r, c) in [(0, 0), (17, 200), (128, 128), (255, 3), (90, 255)] {
            let [lon, lat] =
                mercator_to_lon_lat(x0 + (c as f64 + 0.5) * res, y1 - (r as f64 + 0.5) * res);
            let want = density_at(&pts, None, [lon, lat], Kernel::Quartic, 700.0).unwrap();
            let got = f64::from(values[r * 256 + c]);
            assert!(
                (got - want).abs() <= 1e-5 * want.max(1.0),
                "{r},{c}: {got} vs {want}"
            );
        }
        assert!(values.iter().any(|&v| v > 0.0));
    }

    #[test]
    fn colours_are_clamped_and_zero_is_transparent() {
        let rgba = colour_tile(&[0.0, 5.0, 10.0, 20.0], 10.0, Ramp::Gray);
        assert_eq!(&rgba[0..4], &[0, 0, 0, 0]);
        assert_eq!(&rgba[4..8], &[128, 128, 128, 255]);
        assert_eq!(&rgba[8..12], &[255, 255, 255, 255]);
        assert_eq!(&rgba[12..16], &[255, 255, 255, 255]);
        let heat = colour_tile(&[10.0, 0.001], 10.0, Ramp::Heat);
        assert_eq!(&heat[0..4], &[189, 0, 38, 255]);
        assert_eq!(&heat[4..7], &[255, 255, 178]);
        assert!(colour_tile(&[1.0], 0.0, Ramp::Heat).iter().all(|&b| b == 0));
    }
}
