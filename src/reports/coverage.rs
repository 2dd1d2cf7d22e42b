//! Survey coverage: the union of survey footprints intersected with each commune, measured on
//! the ellipsoid (km²). Overlapping flights count once. No IO.
//!
//! ```
//! use geo::{polygon, MultiPolygon};
//! use vigil::reports::coverage::km2_per_commune;
//! let commune = MultiPolygon(vec![polygon![(x: 105.0, y: 22.0), (x: 105.1, y: 22.0), (x: 105.1, y: 22.1), (x: 105.0, y: 22.1)]]);
//! let flight = MultiPolygon(vec![polygon![(x: 105.05, y: 22.0), (x: 105.2, y: 22.0), (x: 105.2, y: 22.1), (x: 105.05, y: 22.1)]]);
//! let km2 = km2_per_commune(&[flight.clone(), flight], &[&commune]);
//! assert!((km2[0] - 57.0).abs() < 1.0, "{km2:?}"); // half of a 0.1° cell at 22° N, once
//! ```

use geo::{BooleanOps, BoundingRect, GeodesicArea, MultiPolygon, Polygon, Rect};

fn meets(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// The union of footprints (overlaps counted once).
pub fn union(footprints: &[MultiPolygon<f64>]) -> MultiPolygon<f64> {
    let polys: Vec<&Polygon<f64>> = footprints.iter().flat_map(|m| m.0.iter()).collect();
    if polys.is_empty() {
        return MultiPolygon(Vec::new());
    }
    geo::unary_union(polys)
}

/// km² of the union of `footprints` inside each commune, in the order given.
pub fn km2_per_commune(
    footprints: &[MultiPolygon<f64>],
    communes: &[&MultiPolygon<f64>],
) -> Vec<f64> {
    let flown = union(footprints);
    let parts: Vec<(Rect<f64>, MultiPolygon<f64>)> = flown
        .0
        .iter()
        .filter_map(|p| Some((p.bounding_rect()?, MultiPolygon(vec![p.clone()]))))
        .collect();
    communes
        .iter()
        .map(|c| {
            let Some(cb) = c.bounding_rect() else {
                return 0.0;
            };
            parts
                .iter()
                .filter(|(b, _)| meets(b, &cb))
                .map(|(_, p)| c.intersection(p).geodesic_area_unsigned() / 1e6)
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y),
            (x: x + side, y: y),
            (x: x + side, y: y + side),
            (x: x, y: y + side),
        ]])
    }

    #[test]
    fn flights_are_cut_to_communes_and_overlaps_count_once() {
        let a = square(105.0, 22.0, 0.1);
        let b = square(105.1, 22.0, 0.1);
        let far = square(100.0, 10.0, 0.1);
        let whole_a = a.geodesic_area_unsigned() / 1e6;
        // One flight over all of A and half of B, another over the same half of B.
        let f1 = square(105.0, 22.0, 0.15);
        let f2 = MultiPolygon(vec![polygon![
            (x: 105.1, y: 22.0), (x: 105.15, y: 22.0), (x: 105.15, y: 22.15), (x: 105.1, y: 22.15),
        ]]);
        let km2 = km2_per_commune(&[f1, f2], &[&a, &b, &far]);
        assert!((km2[0] - whole_a).abs() < 1e-6 * whole_a, "{km2:?}");
        assert!((km2[1] - whole_a / 2.0).abs() < 0.01 * whole_a, "{km2:?}");
        assert_eq!(km2[2], 0.0);
        assert_eq!(km2_per_commune(&[], &[&a]), vec![0.0]);
    }
}
