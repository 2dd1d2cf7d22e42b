//! Administrative boundaries: provinces (*tỉnh*) and communes (*xã, phường*), with codes and
//! Vietnamese names. Geometries are EPSG:4326 multipolygons. No IO here: files are read by
//! `ingest::vector`, rows kept by `store`, point-in-polygon by `index::boundaries`.

use geo::{BoundingRect, MultiPolygon};

use crate::filter::{Queryable, Row, Type, Val};
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

/// What a CQL2 filter may name on communes and provinces (in [`crate::filter::Row`] order).
pub const QUERYABLES: [Queryable; 5] = [
    Queryable::new("code", "Mã (code)", Type::Text),
    Queryable::new("name", "Tên (name)", Type::Text),
    Queryable::new("level", "Cấp (level)", Type::Text).one_of(&["province", "commune"]),
    Queryable::new("province_code", "Mã tỉnh (province_code)", Type::Text),
    Queryable::new(
        "geometry",
        "Ranh giới (geometry)",
        Type::Geometry("geometry-multipolygon"),
    ),
];

impl Row for Boundary {
    fn get(&self, i: usize) -> Val<'_> {
        match i {
            0 => Val::Text(&self.code),
            1 => Val::Text(&self.name),
            2 => Val::Text(self.level.code()),
            // A province is its own province.
            3 => match (&self.parent, self.level) {
                (Some(p), _) => Val::Text(p),
                (None, Level::Province) => Val::Text(&self.code),
                (None, Level::Commune) => Val::Null,
            },
            4 => Val::Area(&self.geometry),
            _ => Val::Null,
        }
    }
}

impl Boundary {
    /// `[minx, miny, maxx, maxy]`, or `None` for an empty geometry.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        self.geometry
            .bounding_rect()
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
    }
}

/// Checks a boundary before it is stored: a code, a name, a non-empty geometry whose every
/// coordinate is a finite lon/lat, and a valid (OGC simple features) geometry — no bow-ties, no
/// overlapping parts — by `geo`'s validity check.
pub fn validate(b: &Boundary) -> Result<(), String> {
    use geo::{CoordsIter, Validation};
    if b.code.trim().is_empty() {
        return Err("has an empty code".into());
    }
    if b.name.trim().is_empty() {
        return Err(format!("{} has an empty name", b.code));
    }
    if let Some(c) = b
        .geometry
        .coords_iter()
        .find(|c| !(c.x.is_finite() && c.y.is_finite()))
    {
        return Err(format!(
            "{} has a coordinate that is not a number ({}, {})",
            b.code, c.x, c.y
        ));
    }
    let Some([x0, y0, x1, y1]) = b.bbox() else {
        return Err(format!("{} has an empty geometry", b.code));
    };
    if x0 < -180.0 || x1 > 180.0 || y0 < -90.0 || y1 > 90.0 {
        return Err(format!(
            "{} has coordinates outside lon/lat range ({x0},{y0},{x1},{y1}); was it reprojected to EPSG:4326?",
            b.code
        ));
    }
    if let Err(e) = b.geometry.check_validation() {
        return Err(format!("{} has an invalid geometry: {e}", b.code));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    fn boundary(geometry: MultiPolygon<f64>) -> Boundary {
        Boundary {
            level: Level::Province,
            code: "99".into(),
            name: "x".into(),
            parent: None,
            geometry,
        }
    }

    /// Issue 13: a NaN coordinate passed the range check and bricked the data dir.
    #[test]
    fn non_finite_coordinates_are_refused() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let p = polygon![(x: 106.0, y: 20.0), (x: 107.0, y: 20.0), (x: bad, y: 21.0), (x: 106.0, y: 20.0)];
            let e = validate(&boundary(MultiPolygon(vec![p]))).unwrap_err();
            assert!(e.contains("99") && e.contains("not a number"), "{e}");
        }
    }

    /// Issue 13: a self-intersecting (bow-tie) ring was accepted.
    #[test]
    fn bow_tie_is_refused_naming_the_feature() {
        let p = polygon![(x: 106.0, y: 20.0), (x: 107.0, y: 21.0), (x: 107.0, y: 20.0), (x: 106.0, y: 21.0), (x: 106.0, y: 20.0)];
        let e = validate(&boundary(MultiPolygon(vec![p]))).unwrap_err();
        assert!(e.contains("99") && e.contains("self-intersection"), "{e}");
        let ok = polygon![(x: 106.0, y: 20.0), (x: 107.0, y: 20.0), (x: 107.0, y: 21.0), (x: 106.0, y: 21.0), (x: 106.0, y: 20.0)];
        validate(&boundary(MultiPolygon(vec![ok]))).unwrap();
    }
}
