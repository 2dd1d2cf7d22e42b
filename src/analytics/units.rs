//! Areal units for Gi*: communes come from `boundaries`, or a grid of hexagons generated over a
//! bbox; and points counted per unit.

use geo::{BoundingRect, Centroid, Coord, Intersects, LineString, MultiPolygon, Point, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{AnalyticsError, EARTH_RADIUS_M, check_bbox, check_lon_lat, positive, threads_for};

/// Most hexagons [`hex_grid`] makes (Vietnam at 1 km is about 400,000).
pub const MAX_HEXAGONS: u64 = 2_000_000;

/// An areal unit: a commune or a generated cell, with the id the caller knows it by.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: String,
    /// EPSG:4326 lon/lat.
    pub geometry: MultiPolygon<f64>,
}

impl Unit {
    /// The area-weighted centroid in lon/lat (a unit without area gives its first vertex, or 0,0).
    pub fn centroid(&self) -> [f64; 2] {
        if let Some(c) = self.geometry.centroid() {
            return [c.x(), c.y()];
        }
        self.geometry
            .0
            .first()
            .and_then(|p| p.exterior().0.first())
            .map_or([0.0, 0.0], |c| [c.x, c.y])
    }
}

/// Pointy-top hexagons covering `bbox` (`[west, south, east, north]`, degrees), `cell_m` metres
/// between the centres of neighbouring cells (the width across flats), laid out in a local
/// equirectangular plane at the bbox's middle latitude — so cells are regular in metres there and
/// stretch east–west by `cos(middle)/cos(lat)` elsewhere (under 1 % across a province).
///
/// Vertices come from one integer lattice, so neighbouring cells share bit-identical vertices and
/// [`super::SpatialWeights::contiguity`] finds them. Ids are `hex-{row}-{col}`, rows counted from
/// the south; every cell that overlaps the bbox is kept, in row then column order.
///
/// ```
/// use vigil::analytics::hex_grid;
/// let cells = hex_grid([105.0, 21.0, 105.1, 21.1], 2000.0).unwrap();
/// assert!(cells.len() > 25 && cells.len() < 60);
/// ```
pub fn hex_grid(bbox: [f64; 4], cell_m: f64) -> Result<Vec<Unit>, AnalyticsError> {
    let [west, south, east, north] = check_bbox(bbox)?;
    positive("cell_m", cell_m)?;
    let mid = ((south + north) / 2.0).to_radians();
    let m_per_deg_lat = EARTH_RADIUS_M.to_radians();
    let m_per_deg_lon = m_per_deg_lat * mid.cos();
    let width_m = (east - west) * m_per_deg_lon;
    let height_m = (north - south) * m_per_deg_lat;
    let side = cell_m / 3f64.sqrt();
    let row_step = 1.5 * side;
    let rows = (height_m / row_step).ceil() as i64 + 2;
    let cols = (width_m / cell_m).ceil() as i64 + 2;
    let cells = (rows as u64 + 1) * (cols as u64 + 1);
    if cells > MAX_HEXAGONS {
        return Err(AnalyticsError::TooManyCells {
            cells,
            limit: MAX_HEXAGONS,
        });
    }
    // Lattice (ix, iy): x = ix * cell/2, y = iy * side/2, from the bbox's south-west corner.
    let vertex = |ix: i64, iy: i64| {
        let x = ix as f64 * cell_m / 2.0;
        let y = iy as f64 * side / 2.0;
        Coord {
            x: west + x / m_per_deg_lon,
            y: south + y / m_per_deg_lat,
        }
    };
    let mut out = Vec::new();
    for row in -1..rows {
        for col in -1..cols {
            let ix = 2 * col + (row & 1);
            let iy = 3 * row;
            let ring = [
                (ix, iy + 2),
                (ix - 1, iy + 1),
                (ix - 1, iy - 1),
                (ix, iy - 2),
                (ix + 1, iy - 1),
                (ix + 1, iy + 1),
                (ix, iy + 2),
            ];
            let coords: Vec<Coord<f64>> = ring.iter().map(|&(x, y)| vertex(x, y)).collect();
            let (min_x, max_x) = (coords[1].x, coords[4].x);
            let (min_y, max_y) = (coords[3].y, coords[0].y);
            if max_x <= west || min_x >= east || max_y <= south || min_y >= north {
                continue;
            }
            out.push(Unit {
                id: format!("hex-{row}-{col}"),
                geometry: MultiPolygon(vec![Polygon::new(LineString(coords), vec![])]),
            });
        }
    }
    Ok(out)
}

type Envelope = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// How many of `points` (lon/lat) fall in each unit. A point on a boundary shared by two units
/// counts once, for the unit listed first; points outside every unit are not counted.
pub fn counts_per_unit(units: &[Unit], points: &[[f64; 2]]) -> Result<Vec<f64>, AnalyticsError> {
    let mut total = vec![0.0; units.len()];
    for i in unit_of_points(units, points)?.into_iter().flatten() {
        total[i as usize] += 1.0;
    }
    Ok(total)
}

/// The unit each of `points` (lon/lat) falls in, by index into `units`: on a boundary shared by
/// two units, the one listed first; `None` outside every unit.
pub fn unit_of_points(
    units: &[Unit],
    points: &[[f64; 2]],
) -> Result<Vec<Option<u32>>, AnalyticsError> {
    check_lon_lat("point", points.iter().copied())?;
    let tree = RTree::bulk_load(
        units
            .iter()
            .enumerate()
            .filter_map(|(i, u)| {
                let r = u.geometry.bounding_rect()?;
                Some(Envelope::new(
                    Rectangle::from_aabb(AABB::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    )),
                    i,
                ))
            })
            .collect(),
    );
    let threads = threads_for(points.len(), 16_384);
    let chunk = points.len().div_ceil(threads).max(1);
    let mut out = vec![None; points.len()];
    std::thread::scope(|s| {
        for (part, dest) in points.chunks(chunk).zip(out.chunks_mut(chunk)) {
            let tree = &tree;
            s.spawn(move || {
                for (&[lon, lat], slot) in part.iter().zip(dest) {
                    let p = Point::new(lon, lat);
                    *slot = tree
                        .locate_all_at_point(&[lon, lat])
                        .map(|e| e.data)
                        .filter(|&i| units[i].geometry.intersects(&p))
                        .min()
                        .map(|i| i as u32);
                }
            });
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::haversine_m;
    use geo::{Area, Contains};

    #[test]
    fn hexagons_cover_the_bbox_and_have_the_asked_spacing() {
        let bbox = [105.0, 21.0, 105.2, 21.15];
        let cells = hex_grid(bbox, 1500.0).unwrap();
        // Every point of the bbox lies in some cell.
        for i in 0..=20 {
            for j in 0..=20 {
                let p = Point::new(
                    105.0 + 0.2 * f64::from(i) / 20.0,
                    21.0 + 0.15 * f64::from(j) / 20.0,
                );
                assert!(
                    cells.iter().any(|c| c.geometry.intersects(&p)),
                    "{p:?} is in no cell"
                );
            }
        }
        // Neighbouring centres are 1500 m apart, east–west and diagonally.
        let c = |id: &str| {
            cells
                .iter()
                .find(|u| u.id == id)
                .unwrap_or_else(|| panic!("no {id}"))
                .centroid()
        };
        let d_east = haversine_m(c("hex-2-2"), c("hex-2-3"));
        let d_diag = haversine_m(c("hex-2-2"), c("hex-3-2"));
        assert!((d_east - 1500.0).abs() < 2.0, "{d_east}");
        assert!((d_diag - 1500.0).abs() < 2.0, "{d_diag}");
        // Counter-clockwise exteriors (positive signed area).
        assert!(cells[0].geometry.0[0].signed_area() > 0.0);
    }

    #[test]
    fn too_fine_a_grid_is_refused() {
        assert!(matches!(
            hex_grid([102.0, 8.0, 110.0, 24.0], 10.0),
            Err(AnalyticsError::TooManyCells { .. })
        ));
        assert!(hex_grid([105.0, 21.0, 105.1, 21.1], 0.0).is_err());
    }

    #[test]
    fn points_are_counted_once_in_their_cell() {
        let cells = hex_grid([105.0, 21.0, 105.1, 21.1], 3000.0).unwrap();
        let centre = cells[5].centroid();
        let points = vec![centre, centre, [105.05, 21.05], [110.0, 10.0]];
        let counts = counts_per_unit(&cells, &points).unwrap();
        assert_eq!(counts[5], 2.0);
        assert_eq!(counts.iter().sum::<f64>(), 3.0);
        let k = cells
            .iter()
            .position(|c| c.geometry.contains(&Point::new(105.05, 21.05)))
            .unwrap();
        assert!(counts[k] >= 1.0);
        assert!(
            counts_per_unit(&cells, &[])
                .unwrap()
                .iter()
                .all(|&c| c == 0.0)
        );
        assert!(counts_per_unit(&[], &points).unwrap().is_empty());
    }
}
