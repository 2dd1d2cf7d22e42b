//! Coordinate reference systems through GDAL/OSR (PROJ does the math): VN-2000 (EPSG:4756,
//! EPSG:3405/3406 and provincial 3° TM zones given as PROJ strings), UTM, Web Mercator, WGS 84.

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};

use crate::hotspots::import::PointTransform;

/// A named CRS could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    #[error(
        "unknown coordinate reference system {0:?} (give e.g. EPSG:3405, EPSG:4756 or a PROJ string): {1}"
    )]
    Unknown(String, String),
    #[error("no transformation from {0} to WGS 84: {1}")]
    NoTransform(String, String),
}

/// Parses a user-supplied CRS name into an OSR spatial reference with lon/lat (x/y) axis order.
pub fn spatial_ref(name: &str) -> Result<SpatialRef, CrsError> {
    let name_t = name.trim();
    let def = if name_t.chars().all(|c| c.is_ascii_digit()) {
        format!("EPSG:{name_t}")
    } else {
        name_t.to_string()
    };
    let mut srs = SpatialRef::from_definition(&def)
        .map_err(|e| CrsError::Unknown(name.to_string(), e.to_string()))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// WGS 84 longitude/latitude.
pub fn wgs84() -> SpatialRef {
    let mut srs = SpatialRef::from_epsg(4326).unwrap_or_else(|_| SpatialRef::new().expect("OSR"));
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    srs
}

/// Transforms points from a named CRS to WGS 84.
pub struct ToWgs84 {
    name: String,
    transform: CoordTransform,
}

impl ToWgs84 {
    pub fn new(name: &str) -> Result<ToWgs84, CrsError> {
        let src = spatial_ref(name)?;
        let transform = CoordTransform::new(&src, &wgs84())
            .map_err(|e| CrsError::NoTransform(name.into(), e.to_string()))?;
        Ok(ToWgs84 {
            name: name.into(),
            transform,
        })
    }
}

impl PointTransform for ToWgs84 {
    fn to_wgs84(&self, points: &mut [(f64, f64)]) -> Result<(), String> {
        let mut xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
        self.transform
            .transform_coords(&mut xs, &mut ys, &mut [])
            .map_err(|e| format!("from {}: {e} (are the x/y columns in this CRS?)", self.name))?;
        for (p, (x, y)) in points.iter_mut().zip(xs.into_iter().zip(ys)) {
            *p = (x, y);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vn2000_utm48_to_wgs84_lands_in_vietnam() {
        // A point near Tuyên Quang in VN-2000 / UTM zone 48N (EPSG:3405).
        let t = ToWgs84::new("EPSG:3405").unwrap();
        let mut p = [(521_000.0, 2_410_000.0)];
        t.to_wgs84(&mut p).unwrap();
        let (lon, lat) = p[0];
        assert!(
            (105.0..105.5).contains(&lon) && (21.5..22.0).contains(&lat),
            "{lon},{lat}"
        );
    }

    #[test]
    fn unknown_crs_is_named() {
        let err = ToWgs84::new("EPSG:999999").err().unwrap().to_string();
        assert!(err.contains("EPSG:999999"), "{err}");
    }
}

#[cfg(test)]
mod grid_vs_gdal {
    use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};

    /// The tile grid's own Web Mercator formula agrees with GDAL/PROJ's EPSG:4326 → EPSG:3857.
    #[test]
    fn web_mercator_matches_gdal() {
        let mut merc = SpatialRef::from_epsg(3857).unwrap();
        merc.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let t = CoordTransform::new(&super::wgs84(), &merc).unwrap();
        let pts = [
            (105.85, 21.03),
            (102.14, 8.18),
            (109.47, 23.39),
            (-179.5, -84.9),
            (0.0, 0.0),
            (120.0, 60.0),
        ];
        let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let mut ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        t.transform_coords(&mut xs, &mut ys, &mut []).unwrap();
        for (i, (lon, lat)) in pts.iter().enumerate() {
            let [x, y] = crate::grid::lon_lat_to_mercator(*lon, *lat);
            assert!(
                (x - xs[i]).abs() < 1e-6 && (y - ys[i]).abs() < 1e-6,
                "{lon},{lat}: grid ({x},{y}) vs GDAL ({},{})",
                xs[i],
                ys[i]
            );
        }
    }
}
