//! Administrative boundaries: provinces (*tỉnh*) and communes (*xã, phường*), with codes and
//! Vietnamese names. Geometries are EPSG:4326 multipolygons. No IO here: files are read by
//! `ingest::vector`, rows kept by `store`, point-in-polygon by `index::boundaries`.

use geo::{BoundingRect, MultiPolygon};
use serde::Serialize;

/// The two administrative levels since the 2025 reform (no districts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Province,
    Commune,
}

impl Level {
    pub fn code(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::Commune => "commune",
        }
    }

    pub fn from_code(s: &str) -> Option<Level> {
        match s {
            "province" | "tinh" | "tỉnh" => Some(Level::Province),
            "commune" | "xa" | "xã" => Some(Level::Commune),
            _ => None,
        }
    }

    /// The OGC API collection serving this level.
    pub fn collection(self) -> &'static str {
        match self {
            Level::Province => "provinces",
            Level::Commune => "communes",
        }
    }
}

/// One province or commune.
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    pub level: Level,
    pub code: String,
    pub name: String,
    /// For communes: the province code.
    pub parent: Option<String>,
    pub geometry: MultiPolygon<f64>,
}

impl Boundary {
    /// `[minx, miny, maxx, maxy]`, or `None` for an empty geometry.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        self.geometry
            .bounding_rect()
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
    }
}

/// Checks a boundary before it is stored: a code, a name, a non-empty geometry in lon/lat range.
pub fn validate(b: &Boundary) -> Result<(), String> {
    if b.code.trim().is_empty() {
        return Err("has an empty code".into());
    }
    if b.name.trim().is_empty() {
        return Err(format!("{} has an empty name", b.code));
    }
    let Some([x0, y0, x1, y1]) = b.bbox() else {
        return Err(format!("{} has an empty geometry", b.code));
    };
    if x0 < -180.0 || x1 > 180.0 || y0 < -90.0 || y1 > 90.0 || !(x0.is_finite() && y1.is_finite()) {
        return Err(format!(
            "{} has coordinates outside lon/lat range ({x0},{y0},{x1},{y1}); was it reprojected to EPSG:4326?",
            b.code
        ));
    }
    Ok(())
}
