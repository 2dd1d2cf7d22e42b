//! Reads administrative boundaries from any vector format GDAL opens (GeoJSON, GeoPackage,
//! Shapefile, …), reprojected to EPSG:4326.

use std::path::Path;

use gdal::Dataset;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform};
use gdal::vector::LayerAccess;
use geo::{Geometry, MultiPolygon};

use super::crs::wgs84;
use crate::boundaries::{self, Boundary, Level};

/// Which attribute holds what.
#[derive(Debug, Clone)]
pub struct BoundaryFields {
    pub level: Level,
    pub code: String,
    pub name: String,
    /// For communes: the attribute holding the province code (optional; else found by location).
    pub parent: Option<String>,
    /// Layer name; the first layer when `None`.
    pub layer: Option<String>,
}

/// Why a boundary file was refused. Nothing is stored when any feature is bad.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("cannot open {path} as a vector dataset: {message}")]
    Open { path: String, message: String },
    #[error("{path}: no layer {layer:?}; layers: {available}")]
    NoLayer {
        path: String,
        layer: String,
        available: String,
    },
    #[error("{path}: no field {field:?} for the {role}; fields: {available} (use --{role}-field)")]
    NoField {
        path: String,
        field: String,
        role: &'static str,
        available: String,
    },
    #[error("{path}: cannot reproject from the layer's CRS to EPSG:4326: {message}")]
    Reproject { path: String, message: String },
    #[error("{path}: {} bad feature(s); nothing imported. {}", .errors.len(), .errors.iter().take(20).cloned().collect::<Vec<_>>().join("; "))]
    Features { path: String, errors: Vec<String> },
    #[error("{path}: the layer has no features")]
    Empty { path: String },
}

/// Reads every feature of the chosen layer as a boundary of `fields.level`.
pub fn read_boundaries(path: &Path, fields: &BoundaryFields) -> Result<Vec<Boundary>, VectorError> {
    let p = path.display().to_string();
    let ds = Dataset::open(path).map_err(|e| VectorError::Open {
        path: p.clone(),
        message: e.to_string(),
    })?;
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    let mut layer = match &fields.layer {
        Some(name) => ds.layer_by_name(name).map_err(|_| VectorError::NoLayer {
            path: p.clone(),
            layer: name.clone(),
            available: names.join(", "),
        })?,
        None => ds.layer(0).map_err(|e| VectorError::Open {
            path: p.clone(),
            message: format!("no vector layer: {e}"),
        })?,
    };
    let available: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    let find = |field: &str, role: &'static str| -> Result<usize, VectorError> {
        layer
            .defn()
            .field_index(field)
            .map_err(|_| VectorError::NoField {
                path: p.clone(),
                field: field.into(),
                role,
                available: available.join(", "),
            })
    };
    let code_i = find(&fields.code, "code")?;
    let name_i = find(&fields.name, "name")?;
    let parent_i = match &fields.parent {
        Some(f) if fields.level == Level::Commune => match layer.defn().field_index(f) {
            Ok(i) => Some(i),
            Err(_) => {
                return Err(VectorError::NoField {
                    path: p.clone(),
                    field: f.clone(),
                    role: "parent",
                    available: available.join(", "),
                });
            }
        },
        _ => None,
    };
    let transform = match layer.spatial_ref() {
        Some(mut srs) => {
            srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
            let is_wgs84 = srs.auth_code().ok() == Some(4326)
                || srs
                    .to_proj4()
                    .is_ok_and(|p| p.contains("+proj=longlat +datum=WGS84"));
            if is_wgs84 {
                None
            } else {
                Some(
                    CoordTransform::new(&srs, &wgs84()).map_err(|e| VectorError::Reproject {
                        path: p.clone(),
                        message: e.to_string(),
                    })?,
                )
            }
        }
        None => None,
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, feature) in layer.features().enumerate() {
        let n = i + 1;
        let text = |idx: usize| {
            feature
                .field_as_string(idx)
                .ok()
                .flatten()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let Some(code) = text(code_i) else {
            errors.push(format!("feature {n}: empty {}", fields.code));
            continue;
        };
        let Some(name) = text(name_i) else {
            errors.push(format!("feature {n} ({code}): empty {}", fields.name));
            continue;
        };
        let parent = parent_i.and_then(text);
        let Some(g) = feature.geometry() else {
            errors.push(format!("feature {n} ({code}): no geometry"));
            continue;
        };
        let g = match &transform {
            Some(t) => match g.transform(t) {
                Ok(g) => g,
                Err(e) => {
                    errors.push(format!("feature {n} ({code}): reprojection failed: {e}"));
                    continue;
                }
            },
            None => g.clone(),
        };
        let geometry = match g.to_geo() {
            Ok(Geometry::Polygon(p)) => MultiPolygon(vec![p]),
            Ok(Geometry::MultiPolygon(mp)) => mp,
            Ok(other) => {
                errors.push(format!(
                    "feature {n} ({code}): expected a (multi)polygon, got {}",
                    geom_name(&other)
                ));
                continue;
            }
            Err(e) => {
                errors.push(format!("feature {n} ({code}): unreadable geometry: {e}"));
                continue;
            }
        };
        let b = Boundary {
            level: fields.level,
            code,
            name,
            parent,
            geometry,
        };
        if let Err(e) = boundaries::validate(&b) {
            errors.push(format!("feature {n}: {e}"));
            continue;
        }
        out.push(b);
    }
    let mut seen = std::collections::HashSet::new();
    for b in &out {
        if !seen.insert(b.code.clone()) {
            errors.push(format!("code {} appears more than once", b.code));
        }
    }
    if !errors.is_empty() {
        return Err(VectorError::Features { path: p, errors });
    }
    if out.is_empty() {
        return Err(VectorError::Empty { path: p });
    }
    Ok(out)
}

fn geom_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        _ => "another geometry type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/boundaries")
            .join(name)
    }

    #[test]
    fn reads_fixture_communes_with_parent() {
        let f = BoundaryFields {
            level: Level::Commune,
            code: "code".into(),
            name: "name".into(),
            parent: Some("province_code".into()),
            layer: None,
        };
        let b = read_boundaries(&fixture("communes.geojson"), &f).unwrap();
        assert_eq!(b.len(), 4);
        assert!(b.iter().any(|c| c.code == "02200"
            && c.parent.as_deref() == Some("08")
            && c.name == "Xã Minh Quang"));
    }

    #[test]
    fn missing_field_lists_available_ones() {
        let f = BoundaryFields {
            level: Level::Province,
            code: "ma_tinh".into(),
            name: "name".into(),
            parent: None,
            layer: None,
        };
        let err = read_boundaries(&fixture("provinces.geojson"), &f)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ma_tinh") && err.contains("code"), "{err}");
    }

    #[test]
    fn garbage_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.geojson");
        std::fs::write(&p, b"{\"type\": \"FeatureCollection\", \"features\": [").unwrap();
        let f = BoundaryFields {
            level: Level::Province,
            code: "code".into(),
            name: "name".into(),
            parent: None,
            layer: None,
        };
        assert!(matches!(
            read_boundaries(&p, &f),
            Err(VectorError::Open { .. })
        ));
    }
}
