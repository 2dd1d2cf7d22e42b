//! Was the photo taken at the plot? The geodesic distance from the photo's GPS position to the
//! flagged plot, against a limit widened by the GPS error.

use geo::{Coord, CoordsIter, Distance, Geodesic, Intersects, MultiPolygon, Point, Polygon};
use serde::Serialize;

use super::{PhotoInfo, PhotoWarning};

/// How far from a plot a field photo may be taken: close enough to show the plants, with room for
/// a phone's GPS under trees in steep terrain.
pub const DEFAULT_MAX_DISTANCE_M: f64 = 200.0;

/// The outcome of [`check_location`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LocationCheck {
    /// Geodesic distance (WGS 84) from the photo's position to the closest point of the plot's
    /// boundary; 0 inside the plot.
    pub distance_m: f64,
    /// Whether the photo may have been taken within the limit: the distance less the GPS error
    /// radius (`Gps::accuracy_m`, when the camera wrote one) is at most the limit.
    pub within: bool,
}

/// Measures how far the photo was taken from `plot` (EPSG:4326 lon/lat) and sets the warnings
/// `far_from_plot` (beyond `max_distance_m` even allowing for the GPS error) and `gps_imprecise`
/// (a GPS error radius larger than `max_distance_m`). Running it again replaces both.
///
/// `None`, and no warning, when the photo has no usable GPS position (it already carries `no_gps`,
/// `gps_invalid` or `no_exif`) or the plot has no polygon with an area.
///
/// ```
/// use geo::{MultiPolygon, polygon};
/// use vigil::evidence::{Gps, PhotoInfo, check_location};
///
/// let plot = MultiPolygon(vec![polygon![
///     (x: 105.300, y: 23.300), (x: 105.301, y: 23.300), (x: 105.301, y: 23.301), (x: 105.300, y: 23.301),
/// ]]);
/// let mut info = PhotoInfo {
///     width: 4000, height: 3000, sha256: String::new(), taken_at: None,
///     taken_at_offset_assumed: false, camera: None, orientation: None, warnings: vec![],
///     gps: Some(Gps { lon: 105.3005, lat: 23.3005, altitude_m: None, accuracy_m: None, time_utc: None }),
/// };
/// let check = check_location(&mut info, &plot, 200.0).unwrap();
/// assert_eq!(check.distance_m, 0.0);
/// assert!(check.within && info.warnings.is_empty());
/// ```
pub fn check_location(
    info: &mut PhotoInfo,
    plot: &MultiPolygon<f64>,
    max_distance_m: f64,
) -> Option<LocationCheck> {
    let gps = info
        .gps
        .as_ref()
        .filter(|g| g.lon.is_finite() && g.lat.is_finite())?;
    let distance_m = distance_to_plot(plot, Point::new(gps.lon, gps.lat))?;
    let accuracy_m = gps
        .accuracy_m
        .filter(|a| a.is_finite() && *a >= 0.0)
        .unwrap_or(0.0);
    let within = distance_m - accuracy_m <= max_distance_m;

    let mut warnings = Vec::new();
    if !within {
        let error = match gps.accuracy_m {
            Some(a) => format!(", GPS error ±{a:.0} m"),
            None => String::new(),
        };
        warnings.push(PhotoWarning::new(
            PhotoWarning::FAR_FROM_PLOT,
            format!(
                "photo taken {distance_m:.0} m from the plot (at most {max_distance_m:.0} m \
                 allowed{error})"
            ),
        ));
    }
    if accuracy_m > max_distance_m {
        warnings.push(PhotoWarning::new(
            PhotoWarning::GPS_IMPRECISE,
            format!(
                "the GPS position is only accurate to ±{accuracy_m:.0} m, more than the \
                 {max_distance_m:.0} m allowed, so it cannot show the photo was taken at the plot"
            ),
        ));
    }
    info.replace_warnings(
        &[PhotoWarning::FAR_FROM_PLOT, PhotoWarning::GPS_IMPRECISE],
        warnings,
    );
    Some(LocationCheck { distance_m, within })
}

/// Geodesic metres from `p` to `plot`, 0 inside or on the boundary.
///
/// Inside is decided in lon/lat, as plots are stored and drawn. Outside, the closest boundary point
/// is found in a plane tangent at `p` (equirectangular, exact enough at plot scale: the choice of
/// point, not the distance, is planar) and the distance to it is measured on the WGS 84 ellipsoid.
/// Polygons without an area or with non-finite coordinates are skipped (geo panics on NaN rings).
fn distance_to_plot(plot: &MultiPolygon<f64>, p: Point<f64>) -> Option<f64> {
    let usable: Vec<&Polygon<f64>> = plot
        .0
        .iter()
        .filter(|poly| {
            poly.exterior().0.len() >= 4
                && poly
                    .coords_iter()
                    .all(|c| c.x.is_finite() && c.y.is_finite())
        })
        .collect();
    if usable.is_empty() {
        return None;
    }
    if usable.iter().any(|poly| poly.intersects(&p)) {
        return Some(0.0);
    }
    let (lon0, lat0) = (p.x(), p.y());
    let kx = lat0.to_radians().cos().max(1e-6);
    // Into the plane (degrees of latitude on both axes, `p` at the origin) and back.
    let to_plane = |c: &Coord<f64>| {
        let dlon = (c.x - lon0 + 540.0).rem_euclid(360.0) - 180.0;
        Coord {
            x: dlon * kx,
            y: c.y - lat0,
        }
    };
    let mut best: Option<(f64, Coord<f64>)> = None;
    let rings = usable
        .iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()));
    for ring in rings {
        for seg in ring.lines() {
            let (a, b) = (to_plane(&seg.start), to_plane(&seg.end));
            let c = closest_to_origin(a, b);
            let d2 = c.x * c.x + c.y * c.y;
            if best.is_none_or(|(bd, _)| d2 < bd) {
                best = Some((d2, c));
            }
        }
    }
    let (_, c) = best?;
    let closest = Point::new(lon0 + c.x / kx, lat0 + c.y);
    Some(Geodesic.distance(p, closest))
}

/// The point of segment `a`–`b` closest to the origin.
fn closest_to_origin(a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    if len2 == 0.0 {
        return a;
    }
    let t = (-(a.x * d.x + a.y * d.y) / len2).clamp(0.0, 1.0);
    a + d * t
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{HaversineClosestPoint, polygon};

    #[test]
    fn agrees_with_geo_haversine_closest_point() {
        // A tilted quadrilateral near Đồng Văn; points around it at 50 m to 5 km.
        let poly = polygon![
            (x: 105.300, y: 23.300), (x: 105.304, y: 23.301), (x: 105.305, y: 23.305),
            (x: 105.299, y: 23.304),
        ];
        let plot = MultiPolygon(vec![poly.clone()]);
        for (dx, dy) in [
            (0.0005, -0.0025),
            (0.01, 0.0),
            (-0.03, 0.02),
            (0.002, 0.0062),
        ] {
            let p = Point::new(105.302 + dx, 23.302 + dy);
            let ours = distance_to_plot(&plot, p).expect("areal");
            let geo::Closest::SinglePoint(c) = poly.haversine_closest_point(&p) else {
                panic!("outside");
            };
            let theirs = Geodesic.distance(p, c);
            assert!((ours - theirs).abs() < 0.5, "{ours} vs {theirs} at {p:?}");
        }
    }

    #[test]
    fn degenerate_plots() {
        let p = Point::new(105.3, 23.3);
        assert_eq!(distance_to_plot(&MultiPolygon(vec![]), p), None);
        let line = polygon![(x: 105.0, y: 23.0), (x: 105.1, y: 23.0)];
        assert_eq!(distance_to_plot(&MultiPolygon(vec![line]), p), None);
        let nan = polygon![
            (x: f64::NAN, y: 23.0), (x: 105.1, y: 23.0), (x: 105.1, y: 23.1), (x: 105.0, y: 23.1),
        ];
        assert_eq!(distance_to_plot(&MultiPolygon(vec![nan.clone()]), p), None);
        let square = polygon![
            (x: 105.0, y: 23.0), (x: 105.1, y: 23.0), (x: 105.1, y: 23.1), (x: 105.0, y: 23.1),
        ];
        let d = distance_to_plot(&MultiPolygon(vec![nan, square]), Point::new(105.05, 23.2));
        assert!(d.is_some_and(|d| (d - 11_069.0).abs() < 10.0), "{d:?}");
    }
}
