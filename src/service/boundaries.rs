//! Importing provinces and communes, and re-placing every hotspot in one transaction.

use super::*;

/// Result of a boundary import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BoundaryImportSummary {
    pub level: Level,
    pub imported: usize,
    pub hotspots_reassigned: usize,
}

impl Vigil {
    /// Imports provinces or communes from a vector file, then reassigns every hotspot's commune and
    /// province, all in one transaction.
    pub fn import_boundaries(
        &self,
        who: &Principal,
        path: &Path,
        fields: &BoundaryFields,
        replace: bool,
    ) -> Result<BoundaryImportSummary> {
        if !who.role.is_admin() {
            return Err(Error::Forbidden("only admins import boundaries".into()));
        }
        let mut items = vector::read_boundaries(path, fields)?;
        let current = self.boundaries();
        let mut all: Vec<Boundary> = current
            .list(Level::Province)
            .iter()
            .chain(current.list(Level::Commune))
            .filter(|b| !(replace && b.level == fields.level))
            .filter(|b| !(b.level == fields.level && items.iter().any(|n| n.code == b.code)))
            .cloned()
            .collect();
        if fields.level == Level::Commune {
            // Communes without a parent attribute get the province containing their interior.
            for c in items.iter_mut().filter(|c| c.parent.is_none()) {
                if let Some(p) = geo::InteriorPoint::interior_point(&c.geometry) {
                    c.parent = current.locate(p.x(), p.y()).province;
                }
            }
        }
        all.extend(items.iter().cloned());
        let next = Arc::new(BoundaryIndex::new(all));
        let now = now_rfc3339();
        let source = path
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let n = items.len();
        let reassigned = self.store.write_then(
            |tx| -> Result<usize> {
                store::boundaries::upsert(tx, &items, replace.then_some(fields.level), &source, &now)?;
                let changed = hs::reassign(tx, &mut |lon, lat| {
                    let l = next.locate(lon, lat);
                    (l.province, l.commune)
                })?;
                let after = json!({ "file": source, "level": fields.level, "count": n, "replace": replace, "hotspots_reassigned": changed });
                store::audit::append(tx, &NewAudit { actor: &who.name, action: "import", entity: "boundary", entity_id: None, before: None, after: Some(after) }, &now)?;
                Ok(changed)
            },
            |_| {
                *self.boundaries.write() = next.clone();
                self.rendered.clear();
            },
        )?;
        if reassigned > 0 {
            let rows = self.store.read(hs::index_rows)?;
            self.hotspots.replace_all(rows);
        }
        Ok(BoundaryImportSummary {
            level: fields.level,
            imported: n,
            hotspots_reassigned: reassigned,
        })
    }
}

/// Whether `who` may see a boundary: a commune inside their jurisdiction, a province they
/// cover or that holds one of their communes.
pub fn boundary_visible(
    bi: &crate::index::BoundaryIndex,
    who: &Principal,
    x: &crate::boundaries::Boundary,
) -> bool {
    let j = &who.jurisdiction;
    match x.level {
        crate::boundaries::Level::Commune => j.covers(x.parent.as_deref(), Some(&x.code)),
        crate::boundaries::Level::Province => {
            j.covers(Some(&x.code), None)
                || j.communes.iter().any(|c| {
                    bi.get(crate::boundaries::Level::Commune, c)
                        .is_some_and(|cm| cm.parent.as_deref() == Some(&x.code))
                })
        }
    }
}

impl Vigil {
    /// A vector tile (MVT, layer `communes` or `provinces`) of the boundaries `who` may see over
    /// tile `t`, optionally in one province and through a CQL2 filter: each clipped to the tile
    /// with `code`, `name` and `province_code`.
    pub fn boundary_tile(
        &self,
        who: &Principal,
        level: crate::boundaries::Level,
        t: crate::grid::Tile,
        province: Option<&str>,
        cql: Option<&crate::filter::Filter>,
    ) -> Result<Vec<u8>> {
        use crate::mvt::Shape;
        use geozero::mvt::TileValue;
        let bi = self.boundaries();
        let shapes: Vec<Shape> = bi
            .in_bbox(level, t.bounds_lon_lat())
            .into_iter()
            .filter(|x| boundary_visible(&bi, who, x))
            .filter(|x| {
                province.is_none_or(|p| {
                    x.parent.as_deref() == Some(p)
                        || (level == crate::boundaries::Level::Province && x.code == p)
                })
            })
            .filter(|x| cql.is_none_or(|f| f.matches(*x)))
            .map(|x| {
                let mut props = vec![
                    ("code".to_string(), TileValue::Str(x.code.clone())),
                    ("name".to_string(), TileValue::Str(x.name.clone())),
                ];
                if let Some(p) = &x.parent {
                    props.push(("province_code".to_string(), TileValue::Str(p.clone())));
                }
                Shape {
                    geometry: geo::Geometry::MultiPolygon(x.geometry.clone()),
                    props,
                }
            })
            .collect();
        let layer = match level {
            crate::boundaries::Level::Province => "provinces",
            crate::boundaries::Level::Commune => "communes",
        };
        crate::mvt::encode_shapes(layer, t.bounds_mercator(), &shapes).map_err(tile_error)
    }
}

/// A vector tile that could not be encoded.
pub(crate) fn tile_error(e: String) -> Error {
    Error::Disk {
        context: "encoding a vector tile".into(),
        source: std::io::Error::other(e),
    }
}
