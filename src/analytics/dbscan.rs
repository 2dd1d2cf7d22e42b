//! DBSCAN (Ester et al. 1996) of điểm into suggested tụ điểm: points with at least `min_points`
//! others-or-themselves within `eps_m` metres are *core* points; core points within `eps_m` of each
//! other form one cluster, together with the *border* points within `eps_m` of one of its cores;
//! everything else is noise.
//!
//! Written here rather than taken from a crate because the crates on crates.io (`linfa-clustering`,
//! `petal-clustering`) work on Euclidean coordinates through ndarray and would need their own copy
//! of a million points; here neighbour queries go to an rstar tree of the lon/lat points (a box that
//! holds the eps circle, then the haversine distance decides, so the sphere is exact) and the
//! result matches scikit-learn's `DBSCAN(metric="haversine")` label for label:
//! - a point's neighbourhood includes the point itself and every point at a great-circle distance
//!   `<= eps_m` (scikit-learn's `radius_neighbors`);
//! - clusters are numbered in the order of their first core point by input order, and a border point
//!   within reach of two clusters joins the one numbered first (scikit-learn's `dbscan_inner`
//!   expands clusters in that order and never relabels a point).

use geo::{ConvexHull, MultiPoint, Point, Polygon};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use super::{
    AnalyticsError, EARTH_RADIUS_M, check_lon_lat, haversine_m, haversine_rad, positive,
    threads_for,
};

/// A hotspot position with the id the caller knows it by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdPoint {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
}

/// The result of [`dbscan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Per input point, in input order: the index of its cluster in `clusters`, or `None` for noise.
    pub labels: Vec<Option<u32>>,
    pub clusters: Vec<Cluster>,
}

/// One suggested tụ điểm.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Its index in [`Clustering::clusters`] (0, 1, …).
    pub id: u32,
    /// The ids of its points, in input order.
    pub members: Vec<i64>,
    /// The mean of the members' longitudes and latitudes (clusters are a few kilometres across at
    /// most, where the plain mean is within centimetres of the spherical one).
    pub centroid: Point<f64>,
    pub count: usize,
    /// The members' convex hull in lon/lat. With fewer than three distinct positions (or all in a
    /// line) the ring is degenerate; [`super::geojson::clusters`] writes those as a Point or a
    /// LineString.
    pub hull: Polygon<f64>,
    /// The largest distance from the centroid to a member, in metres.
    pub radius_m: f64,
}

type Node = GeomWithData<[f64; 2], u32>;

/// Candidate neighbours from the lon/lat tree: a box that holds the whole `eps` circle (wider in
/// longitude towards the poles, split in two across the antimeridian, every longitude near a pole);
/// the haversine test then decides.
struct SearchBoxes {
    dlat: f64,
    eps_rad: f64,
}

impl SearchBoxes {
    fn new(eps_m: f64) -> SearchBoxes {
        let eps_rad = eps_m / EARTH_RADIUS_M;
        // A hair wider than eps, against rounding.
        SearchBoxes {
            dlat: eps_rad.to_degrees() * (1.0 + 1e-9) + 1e-12,
            eps_rad,
        }
    }

    /// Calls `f` with each candidate's index until it returns false.
    fn for_each(&self, tree: &RTree<Node>, p: &IdPoint, mut f: impl FnMut(usize) -> bool) {
        let (lat0, lat1) = (p.lat - self.dlat, p.lat + self.dlat);
        let far = lat0.abs().max(lat1.abs());
        // Half-width in longitude of the circle's bounding box: asin(sin ε / cos φ) at the
        // widest latitude of the box; everything when the circle reaches a pole.
        let dlon = if far >= 90.0 || self.eps_rad.sin() >= far.to_radians().cos() {
            180.0
        } else {
            (self.eps_rad.sin() / far.to_radians().cos())
                .asin()
                .to_degrees()
                * (1.0 + 1e-9)
                + 1e-12
        };
        let mut ranges = [(p.lon - dlon, p.lon + dlon), (f64::NAN, f64::NAN)];
        if dlon >= 180.0 {
            ranges[0] = (-180.0, 180.0);
        } else if ranges[0].0 < -180.0 {
            ranges[1] = (ranges[0].0 + 360.0, 180.0);
            ranges[0].0 = -180.0;
        } else if ranges[0].1 > 180.0 {
            ranges[1] = (-180.0, ranges[0].1 - 360.0);
            ranges[0].1 = 180.0;
        }
        for (w, e) in ranges {
            if w.is_nan() {
                continue;
            }
            let env = AABB::from_corners([w, lat0], [e, lat1]);
            for nb in tree.locate_in_envelope(&env) {
                if !f(nb.data as usize) {
                    return;
                }
            }
        }
    }
}

/// Clusters `points` with DBSCAN: `eps_m` is the neighbourhood radius in metres (great-circle),
/// `min_points` the neighbourhood size, the point itself included, that makes a point a core point
/// (scikit-learn's `min_samples`).
///
/// ```
/// use vigil::analytics::{IdPoint, dbscan};
/// let p = |id, lon, lat| IdPoint { id, lon, lat };
/// // Three điểm within 100 m of each other in Hà Nội, one far away.
/// let pts = [p(1, 105.8500, 21.0300), p(2, 105.8505, 21.0302), p(3, 105.8503, 21.0297), p(4, 105.95, 21.10)];
/// let c = dbscan(&pts, 150.0, 3).unwrap();
/// assert_eq!(c.labels, vec![Some(0), Some(0), Some(0), None]);
/// assert_eq!(c.clusters[0].members, vec![1, 2, 3]);
/// ```
pub fn dbscan(
    points: &[IdPoint],
    eps_m: f64,
    min_points: usize,
) -> Result<Clustering, AnalyticsError> {
    positive("eps_m", eps_m)?;
    if min_points == 0 {
        return Err(AnalyticsError::Parameter {
            name: "min_points",
            value: 0.0,
            rule: "must be at least 1 (the point itself counts)",
        });
    }
    check_lon_lat("point", points.iter().map(|p| [p.lon, p.lat]))?;
    if points.len() > u32::MAX as usize {
        return Err(AnalyticsError::Parameter {
            name: "points",
            value: points.len() as f64,
            rule: "at most 4294967295 points",
        });
    }
    let n = points.len();
    let tree = RTree::bulk_load(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| Node::new([p.lon, p.lat], i as u32))
            .collect(),
    );
    let eps_rad = eps_m / EARTH_RADIUS_M;
    let boxes = SearchBoxes::new(eps_m);
    let within = |i: usize, j: usize| {
        let (a, b) = (&points[i], &points[j]);
        haversine_rad([a.lon, a.lat], [b.lon, b.lat]) <= eps_rad
    };
    // 1. Core points, in parallel: count neighbours until min_points is reached. Points are taken
    //    in the tree's own order, so consecutive queries walk the same nodes (3× faster than input
    //    order on a million random points).
    let order: Vec<u32> = tree.iter().map(|node| node.data).collect();
    let mut core_at = vec![false; n];
    let threads = threads_for(n, 4096);
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (c, out) in core_at.chunks_mut(chunk).enumerate() {
            let (tree, within, boxes, order) = (&tree, &within, &boxes, &order);
            s.spawn(move || {
                for (k, is_core) in out.iter_mut().enumerate() {
                    let i = order[c * chunk + k] as usize;
                    let mut count = 0;
                    boxes.for_each(tree, &points[i], |j| {
                        if within(i, j) {
                            count += 1;
                        }
                        count < min_points
                    });
                    *is_core = count >= min_points;
                }
            });
        }
    });
    let mut core = vec![false; n];
    for (&i, c) in order.iter().zip(core_at) {
        core[i as usize] = c;
    }

    // 2. Expansion in input order, exactly as scikit-learn's dbscan_inner.
    const UNSET: u32 = u32::MAX;
    let mut label = vec![UNSET; n];
    let mut next = 0u32;
    let mut stack: Vec<usize> = Vec::new();
    for seed in 0..n {
        if label[seed] != UNSET || !core[seed] {
            continue;
        }
        let mut i = seed;
        loop {
            if label[i] == UNSET {
                label[i] = next;
                if core[i] {
                    boxes.for_each(&tree, &points[i], |j| {
                        if label[j] == UNSET && within(i, j) {
                            stack.push(j);
                        }
                        true
                    });
                }
            }
            match stack.pop() {
                Some(j) => i = j,
                None => break,
            }
        }
        next += 1;
    }

    // 3. Per-cluster summaries.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); next as usize];
    for (i, &l) in label.iter().enumerate() {
        if l != UNSET {
            members[l as usize].push(i);
        }
    }
    let clusters = members
        .into_iter()
        .enumerate()
        .map(|(id, idx)| summarise(id as u32, &idx, points))
        .collect();
    Ok(Clustering {
        labels: label
            .into_iter()
            .map(|l| (l != UNSET).then_some(l))
            .collect(),
        clusters,
    })
}

fn summarise(id: u32, idx: &[usize], points: &[IdPoint]) -> Cluster {
    let count = idx.len();
    let (sx, sy) = idx.iter().fold((0.0, 0.0), |(x, y), &i| {
        (x + points[i].lon, y + points[i].lat)
    });
    let centroid = Point::new(sx / count as f64, sy / count as f64);
    let radius_m = idx
        .iter()
        .map(|&i| haversine_m([centroid.x(), centroid.y()], [points[i].lon, points[i].lat]))
        .fold(0.0, f64::max);
    let hull = MultiPoint::from(
        idx.iter()
            .map(|&i| Point::new(points[i].lon, points[i].lat))
            .collect::<Vec<_>>(),
    )
    .convex_hull();
    Cluster {
        id,
        members: idx.iter().map(|&i| points[i].id).collect(),
        centroid,
        count,
        hull,
        radius_m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(coords: &[(f64, f64)]) -> Vec<IdPoint> {
        coords
            .iter()
            .enumerate()
            .map(|(i, &(lon, lat))| IdPoint {
                id: i as i64 + 100,
                lon,
                lat,
            })
            .collect()
    }

    /// Metres east/north of a base point, as lon/lat.
    fn offset(base: (f64, f64), east_m: f64, north_m: f64) -> (f64, f64) {
        let dlat = (north_m / EARTH_RADIUS_M).to_degrees();
        let dlon = (east_m / (EARTH_RADIUS_M * base.1.to_radians().cos())).to_degrees();
        (base.0 + dlon, base.1 + dlat)
    }

    #[test]
    fn empty_input_gives_no_clusters() {
        let c = dbscan(&[], 100.0, 3).unwrap();
        assert!(c.labels.is_empty() && c.clusters.is_empty());
    }

    #[test]
    fn one_point_is_noise_unless_min_points_is_one() {
        let p = pts(&[(105.0, 21.0)]);
        assert_eq!(dbscan(&p, 100.0, 2).unwrap().labels, vec![None]);
        let c = dbscan(&p, 100.0, 1).unwrap();
        assert_eq!(c.labels, vec![Some(0)]);
        assert_eq!(c.clusters[0].radius_m, 0.0);
        assert_eq!(c.clusters[0].count, 1);
    }

    #[test]
    fn border_point_joins_the_first_cluster_and_chains_link() {
        let b = (105.8, 21.0);
        // A chain of points 80 m apart (one cluster at eps 100 m, min 2), then a gap of 300 m
        // and a second pair.
        let coords = [
            offset(b, 0.0, 0.0),
            offset(b, 80.0, 0.0),
            offset(b, 160.0, 0.0),
            offset(b, 460.0, 0.0),
            offset(b, 540.0, 0.0),
            offset(b, 5000.0, 0.0),
        ];
        let c = dbscan(&pts(&coords), 100.0, 2).unwrap();
        assert_eq!(
            c.labels,
            vec![Some(0), Some(0), Some(0), Some(1), Some(1), None]
        );
        assert_eq!(c.clusters[0].members, vec![100, 101, 102]);
        assert!(
            (c.clusters[0].radius_m - 80.0).abs() < 0.01,
            "{}",
            c.clusters[0].radius_m
        );
        // min_points 3: the middle of the chain is core, its ends are border points.
        let c = dbscan(&pts(&coords), 100.0, 3).unwrap();
        assert_eq!(c.labels, vec![Some(0), Some(0), Some(0), None, None, None]);
    }

    #[test]
    fn distance_exactly_at_eps_is_a_neighbour() {
        let a = (105.0, 21.0);
        let b = offset(a, 0.0, 50.0);
        let d = haversine_m([a.0, a.1], [b.0, b.1]);
        assert_eq!(dbscan(&pts(&[a, b]), d, 2).unwrap().clusters.len(), 1);
        assert_eq!(
            dbscan(&pts(&[a, b]), d * (1.0 - 1e-9), 2)
                .unwrap()
                .clusters
                .len(),
            0
        );
    }

    #[test]
    fn neighbours_across_the_antimeridian_and_near_a_pole() {
        // 0.001° of longitude apart across ±180 at the equator (≈ 111 m), and two points 100 m
        // apart on either side of the north pole.
        let c = dbscan(&pts(&[(179.9995, 0.0), (-179.9995, 0.0)]), 150.0, 2).unwrap();
        assert_eq!(c.labels, vec![Some(0), Some(0)]);
        let near = (50.0 / EARTH_RADIUS_M).to_degrees();
        let c = dbscan(
            &pts(&[(10.0, 90.0 - near), (-170.0, 90.0 - near)]),
            150.0,
            2,
        )
        .unwrap();
        assert_eq!(c.labels, vec![Some(0), Some(0)]);
    }

    #[test]
    fn bad_input_is_refused_by_name() {
        assert!(matches!(
            dbscan(&pts(&[(f64::NAN, 0.0)]), 10.0, 1),
            Err(AnalyticsError::NonFinite { index: 0, .. })
        ));
        assert!(dbscan(&pts(&[(200.0, 0.0)]), 10.0, 1).is_err());
        assert!(dbscan(&[], 0.0, 1).is_err());
        assert!(dbscan(&[], 10.0, 0).is_err());
    }
}
