//! Spatial weights: who is whose neighbour. Binary (every neighbour counts 1) and without the unit
//! itself; [`super::gi_star`] adds the self-weight and applies the row standardisation if asked,
//! as esda does with a binary `W`.
//!
//! Written here rather than with a crate: there is no maintained Rust port of libpysal's weights,
//! and what they need — shared vertices, and radius and nearest-neighbour queries on the sphere —
//! is a hash map and the rstar tree.

use std::collections::HashMap;

use geo::{CoordsIter, MultiPolygon};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::{
    AnalyticsError, EARTH_RADIUS_M, check_lon_lat, chord_for, haversine_rad, positive, unit_vector,
};

/// Which shared boundary makes two polygons neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contiguity {
    /// A shared vertex is enough (libpysal `Queen`).
    Queen,
    /// A shared edge — two consecutive vertices — is needed (libpysal `Rook`).
    Rook,
}

/// Binary spatial weights in compressed rows: `neighbours(i)` lists the units next to unit `i`,
/// sorted, without `i` itself. Lists need not be symmetric (k nearest neighbours are not).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpatialWeights {
    offsets: Vec<usize>,
    neighbours: Vec<u32>,
}

impl SpatialWeights {
    /// Weights from neighbour lists, one per unit. Self-references and repeats are dropped;
    /// an index that is not a unit is refused.
    pub fn from_neighbours(lists: Vec<Vec<usize>>) -> Result<SpatialWeights, AnalyticsError> {
        let n = lists.len();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut neighbours = Vec::new();
        offsets.push(0);
        for (unit, mut list) in lists.into_iter().enumerate() {
            if let Some(&bad) = list.iter().find(|&&j| j >= n) {
                return Err(AnalyticsError::NeighbourIndex {
                    unit,
                    neighbour: bad,
                    n,
                });
            }
            list.sort_unstable();
            list.dedup();
            neighbours.extend(list.into_iter().filter(|&j| j != unit).map(|j| j as u32));
            offsets.push(neighbours.len());
        }
        Ok(SpatialWeights {
            offsets,
            neighbours,
        })
    }

    /// Contiguity weights of polygons (lon/lat): units are neighbours when they share a vertex
    /// (queen) or an edge (rook). Like libpysal, vertices must match exactly (bit for bit): layers
    /// whose neighbours were digitised separately need snapping first. [`super::hex_grid`]'s cells
    /// share exact vertices.
    pub fn contiguity(units: &[MultiPolygon<f64>], rule: Contiguity) -> SpatialWeights {
        // Bits of a coordinate, with -0.0 and 0.0 the same vertex.
        let key = |c: geo::Coord<f64>| ((c.x + 0.0).to_bits(), (c.y + 0.0).to_bits());
        let mut lists: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
        match rule {
            Contiguity::Queen => {
                let mut at: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
                for (i, u) in units.iter().enumerate() {
                    for c in u.coords_iter() {
                        let v = at.entry(key(c)).or_default();
                        if v.last() != Some(&i) {
                            v.push(i);
                        }
                    }
                }
                link_groups(at.into_values(), &mut lists);
            }
            Contiguity::Rook => {
                let mut at: HashMap<[(u64, u64); 2], Vec<usize>> = HashMap::new();
                for (i, u) in units.iter().enumerate() {
                    for poly in &u.0 {
                        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                            for line in ring.lines() {
                                let (a, b) = (key(line.start), key(line.end));
                                if a == b {
                                    continue;
                                }
                                let v = at.entry([a.min(b), a.max(b)]).or_default();
                                if v.last() != Some(&i) {
                                    v.push(i);
                                }
                            }
                        }
                    }
                }
                link_groups(at.into_values(), &mut lists);
            }
        }
        SpatialWeights::from_neighbours(lists).expect("indices come from the units")
    }

    /// Distance-band weights on points (lon/lat, e.g. unit centroids): every other point within
    /// `threshold_m` metres great-circle (inclusive) is a neighbour (libpysal
    /// `DistanceBand(binary=True)` with arc distances). Points with none are islands.
    pub fn distance_band(
        points: &[[f64; 2]],
        threshold_m: f64,
    ) -> Result<SpatialWeights, AnalyticsError> {
        positive("threshold_m", threshold_m)?;
        check_lon_lat("point", points.iter().copied())?;
        let tree = sphere_tree(points);
        let chord = chord_for(threshold_m) * (1.0 + 1e-9);
        let limit = threshold_m / EARTH_RADIUS_M;
        let lists = points
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                tree.locate_within_distance(unit_vector(p[0], p[1]), chord * chord)
                    .map(|nb| nb.data as usize)
                    .filter(|&j| j != i && haversine_rad(p, points[j]) <= limit)
                    .collect()
            })
            .collect();
        SpatialWeights::from_neighbours(lists)
    }

    /// The `k` nearest other points of each point (lon/lat), great-circle (libpysal `KNN` with arc
    /// distances). Not symmetric. Ties at the k-th distance are broken arbitrarily.
    pub fn knn(points: &[[f64; 2]], k: usize) -> Result<SpatialWeights, AnalyticsError> {
        check_lon_lat("point", points.iter().copied())?;
        if k == 0 || (k >= points.len() && !points.is_empty()) {
            return Err(AnalyticsError::Parameter {
                name: "k",
                value: k as f64,
                rule: "must be at least 1 and less than the number of points",
            });
        }
        let tree = sphere_tree(points);
        let lists = points
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                tree.nearest_neighbor_iter(&unit_vector(p[0], p[1]))
                    .map(|nb| nb.data as usize)
                    .filter(|&j| j != i)
                    .take(k)
                    .collect()
            })
            .collect();
        SpatialWeights::from_neighbours(lists)
    }

    /// The number of units.
    pub fn n(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The neighbours of unit `i` (sorted, never `i`).
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.neighbours[self.offsets[i]..self.offsets[i + 1]]
    }

    /// How many neighbours unit `i` has.
    pub fn cardinality(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    /// The largest number of neighbours of any unit.
    pub fn max_cardinality(&self) -> usize {
        (0..self.n())
            .map(|i| self.cardinality(i))
            .max()
            .unwrap_or(0)
    }

    /// Units without neighbours.
    pub fn islands(&self) -> Vec<usize> {
        (0..self.n())
            .filter(|&i| self.cardinality(i) == 0)
            .collect()
    }

    /// The neighbour lists as plain vectors (for JSON and tests).
    pub fn to_lists(&self) -> Vec<Vec<usize>> {
        (0..self.n())
            .map(|i| self.neighbours(i).iter().map(|&j| j as usize).collect())
            .collect()
    }
}

/// Makes every unit in each group a neighbour of every other unit in it.
fn link_groups(groups: impl Iterator<Item = Vec<usize>>, lists: &mut [Vec<usize>]) {
    for g in groups {
        if g.len() < 2 {
            continue;
        }
        for &a in &g {
            lists[a].extend(g.iter().copied().filter(|&b| b != a));
        }
    }
}

fn sphere_tree(points: &[[f64; 2]]) -> RTree<GeomWithData<[f64; 3], u32>> {
    RTree::bulk_load(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| GeomWithData::new(unit_vector(p[0], p[1]), i as u32))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    fn square(x: f64, y: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + 1.0, y: y), (x: x + 1.0, y: y + 1.0), (x: x, y: y + 1.0), (x: x, y: y),
        ]])
    }

    /// A 3×3 board of unit squares, numbered row by row from the south-west, plus one square apart.
    fn board() -> Vec<MultiPolygon<f64>> {
        let mut v: Vec<_> = (0..9)
            .map(|i| square(f64::from(i % 3), f64::from(i / 3)))
            .collect();
        v.push(square(10.0, 10.0));
        v
    }

    #[test]
    fn queen_and_rook_on_a_board() {
        let q = SpatialWeights::contiguity(&board(), Contiguity::Queen);
        assert_eq!(q.neighbours(4), &[0, 1, 2, 3, 5, 6, 7, 8]);
        assert_eq!(q.neighbours(0), &[1, 3, 4]);
        let r = SpatialWeights::contiguity(&board(), Contiguity::Rook);
        assert_eq!(r.neighbours(4), &[1, 3, 5, 7]);
        assert_eq!(r.neighbours(0), &[1, 3]);
        assert_eq!(q.islands(), vec![9]);
        assert_eq!(r.islands(), vec![9]);
        assert_eq!(q.max_cardinality(), 8);
    }

    #[test]
    fn empty_and_single_inputs() {
        let w = SpatialWeights::contiguity(&[], Contiguity::Queen);
        assert_eq!(w.n(), 0);
        assert_eq!(w.max_cardinality(), 0);
        let one = SpatialWeights::contiguity(&[square(0.0, 0.0)], Contiguity::Queen);
        assert_eq!(one.n(), 1);
        assert_eq!(one.islands(), vec![0]);
        assert_eq!(SpatialWeights::distance_band(&[], 10.0).unwrap().n(), 0);
        assert_eq!(SpatialWeights::knn(&[], 1).unwrap().n(), 0);
    }

    #[test]
    fn lists_are_cleaned_and_checked() {
        let w = SpatialWeights::from_neighbours(vec![vec![1, 1, 0], vec![0], vec![]]).unwrap();
        assert_eq!(w.to_lists(), vec![vec![1], vec![0], vec![]]);
        assert!(matches!(
            SpatialWeights::from_neighbours(vec![vec![3]]),
            Err(AnalyticsError::NeighbourIndex {
                unit: 0,
                neighbour: 3,
                n: 1
            })
        ));
    }

    #[test]
    fn distance_band_and_knn_on_a_line() {
        // Points 1 km apart along a meridian (≈ 0.008993° of latitude).
        let step = (1000.0 / EARTH_RADIUS_M).to_degrees();
        let pts: Vec<[f64; 2]> = (0..5)
            .map(|i| [105.0, 21.0 + step * f64::from(i)])
            .collect();
        let band = SpatialWeights::distance_band(&pts, 1000.5).unwrap();
        assert_eq!(
            band.to_lists(),
            vec![vec![1], vec![0, 2], vec![1, 3], vec![2, 4], vec![3]]
        );
        let wide = SpatialWeights::distance_band(&pts, 2000.5).unwrap();
        assert_eq!(wide.neighbours(0), &[1, 2]);
        let k = SpatialWeights::knn(&pts, 2).unwrap();
        assert_eq!(k.neighbours(0), &[1, 2]);
        assert_eq!(k.neighbours(4), &[2, 3]);
        assert!(SpatialWeights::knn(&pts, 5).is_err());
        assert!(SpatialWeights::knn(&pts, 0).is_err());
    }
}
