//! Boundary rows: provinces and communes with GeoJSON geometry.

use super::sql::{Connection, params};
use geo::MultiPolygon;

use super::{SkippedRow, StoreError};
use crate::boundaries::{Boundary, Level};

/// Every readable boundary, and the rows that are not (skipped and logged, never fatal).
pub fn load_all(c: &Connection) -> Result<(Vec<Boundary>, Vec<SkippedRow>), StoreError> {
    let mut stmt = c.prepare("SELECT level, code, name, parent_code, geometry FROM boundaries")?;
    let rows: Vec<(String, String, String, Option<String>, String)> = stmt
        .query_map((), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    let mut skipped = Vec::new();
    for (level, code, name, parent, geom) in rows {
        let key = format!("{level} {code}");
        match read_row(&level, code, name, parent, &geom) {
            Ok(b) => out.push(b),
            Err(m) => skipped.push(SkippedRow::from_corrupt(
                StoreError::Corrupt {
                    table: "boundaries",
                    message: format!("{key}: {m}"),
                },
                key,
            )),
        }
    }
    Ok((out, skipped))
}

fn read_row(
    level: &str,
    code: String,
    name: String,
    parent: Option<String>,
    geom: &str,
) -> Result<Boundary, String> {
    let level = Level::from_code(level).ok_or("unknown level")?;
    let g: geojson::Geometry = geom
        .parse::<geojson::Geometry>()
        .map_err(|e| e.to_string())?;
    let geometry: MultiPolygon<f64> = MultiPolygon::try_from(g.value).map_err(|e| e.to_string())?;
    let b = Boundary {
        level,
        code,
        name,
        parent,
        geometry,
    };
    crate::boundaries::validate(&b)?;
    Ok(b)
}

/// Inserts or replaces boundaries; with `replace_level`, first removes every boundary of that level.
pub fn upsert(
    c: &Connection,
    items: &[Boundary],
    replace_level: Option<Level>,
    source: &str,
    now: &str,
) -> Result<(), StoreError> {
    if let Some(level) = replace_level {
        c.execute("DELETE FROM boundaries WHERE level = ?1", [level.code()])?;
    }
    let mut stmt = c.prepare(
        "INSERT INTO boundaries (level, code, name, parent_code, geometry, source, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (level, code) DO UPDATE SET name = excluded.name, parent_code = excluded.parent_code, \
         geometry = excluded.geometry, source = excluded.source, imported_at = excluded.imported_at",
    )?;
    for b in items {
        let geom = geojson::Geometry::new(geojson::Value::from(&b.geometry)).to_string();
        stmt.execute(params![
            b.level.code(),
            b.code,
            b.name,
            b.parent,
            geom,
            source,
            now
        ])?;
    }
    Ok(())
}
