//! Reading the tile store: one ready survey's stored tile in the format asked for, and the mosaic —
//! every ready survey `who` may see over a tile, newest flight first, composited until opaque.

use std::sync::Arc;

use super::{Instants, Survey, SurveySearch, acquired_within, is_survey_id};
use crate::auth::Principal;
use crate::config::TileFormat;
use crate::grid::Tile;
use crate::service::{Error, Result, Vigil};
use crate::tiling::image_ops;

fn tile_error(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Disk {
        context: context.to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl Vigil {
    /// A ready survey `who` may see (`None` for a malformed id, another state, or outside the
    /// jurisdiction: they look the same from outside).
    pub fn ready_survey(&self, who: &Principal, id: &str) -> Option<Arc<Survey>> {
        if !is_survey_id(id) {
            return None;
        }
        self.survey_index()
            .get(id)
            .filter(|s| Vigil::survey_visible(who, &s.row))
            .cloned()
    }

    /// Ready surveys `who` may see whose extent meets `bbox` (lon/lat; `None`: anywhere) and
    /// whose acquisition lies in `when`, newest flight first.
    pub fn ready_surveys(
        &self,
        who: &Principal,
        bbox: Option<[f64; 4]>,
        when: &Instants,
    ) -> Vec<Arc<Survey>> {
        let idx = self.survey_index();
        let mut out: Vec<_> = idx
            .all()
            .filter(|s| Vigil::survey_visible(who, &s.row))
            .filter(|s| match (bbox, s.row.bbox) {
                (Some(q), Some(b)) => b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1],
                (Some(_), None) => false,
                (None, _) => true,
            })
            .filter(|s| acquired_within(s, when))
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            b.row
                .acquired_at
                .cmp(&a.row.acquired_at)
                .then_with(|| a.row.id.cmp(&b.row.id))
        });
        out
    }

    /// STAC item search over the ready surveys `who` may see: every filter given must hold (ids,
    /// bbox or a geometry meeting the footprint, acquisition interval), newest flight first.
    pub fn search_surveys(&self, who: &Principal, q: &SurveySearch) -> Vec<Arc<Survey>> {
        let mut out = self.ready_surveys(who, q.bbox, &q.when);
        if let Some(ids) = &q.ids {
            out.retain(|s| ids.iter().any(|i| *i == s.row.id));
        }
        if let Some(f) = &q.cql {
            out.retain(|s| f.matches(&super::SurveyView::new(s)));
        }
        if let Some(g) = &q.intersects {
            use geo::{BoundingRect, Intersects};
            let gb = g.bounding_rect();
            out.retain(|s| {
                let (Some(r), Some(b)) = (gb, s.row.bbox) else {
                    return false;
                };
                if b[0] > r.max().x || b[2] < r.min().x || b[1] > r.max().y || b[3] < r.min().y {
                    return false;
                }
                s.footprint_geo().is_some_and(|f| f.intersects(g))
            });
        }
        out
    }

    /// A vector tile (MVT, layer `surveys`) of the footprints of the ready surveys `who` may see
    /// over tile `t` that match `q` (its bbox is the tile's): `id`, `name`, `acquired_at`.
    pub fn survey_footprint_tile(
        &self,
        who: &Principal,
        t: Tile,
        mut q: SurveySearch,
    ) -> Result<Vec<u8>> {
        use crate::mvt::Shape;
        use geozero::mvt::TileValue;
        q.bbox = Some(t.bounds_lon_lat());
        let shapes: Vec<Shape> = self
            .search_surveys(who, &q)
            .iter()
            .filter_map(|s| {
                let mut props = vec![
                    ("id".to_string(), TileValue::Str(s.row.id.clone())),
                    ("name".to_string(), TileValue::Str(s.row.name.clone())),
                ];
                if let Some(a) = &s.row.acquired_at {
                    props.push(("acquired_at".to_string(), TileValue::Str(a.clone())));
                }
                Some(Shape {
                    geometry: s.footprint_geo()?,
                    props,
                })
            })
            .collect();
        crate::mvt::encode_shapes("surveys", t.bounds_mercator(), &shapes)
            .map_err(crate::service::boundaries::tile_error)
    }

    /// The ready surveys `who` may see that have tile `t`, newest flight first (the mosaic's order).
    pub fn mosaic_stack(&self, who: &Principal, t: Tile, days: &Instants) -> Vec<Arc<Survey>> {
        let idx = self.survey_index();
        let b = t.bounds_mercator();
        // Shrink a hair so neighbours that only share an edge are not candidates.
        let e = (b[2] - b[0]) * 1e-9;
        let mut stack: Vec<Arc<Survey>> = idx
            .in_mercator([b[0] + e, b[1] + e, b[2] - e, b[3] - e])
            .filter(|s| Vigil::survey_visible(who, &s.row))
            .filter(|s| acquired_within(s, days))
            .filter(|s| {
                s.meta
                    .as_ref()
                    .is_some_and(|m| m.levels.iter().any(|l| l.contains(t)))
            })
            .cloned()
            .collect();
        stack.sort_by(|a, b| {
            b.row
                .acquired_at
                .cmp(&a.row.acquired_at)
                .then_with(|| b.row.id.cmp(&a.row.id))
        });
        stack
    }

    /// The stored display tile `t` of a ready survey with the format it is stored in; `None` when
    /// the survey has no such tile.
    fn stored_tile(&self, s: &Survey, t: Tile) -> Option<(Vec<u8>, TileFormat)> {
        let m = s.meta.as_ref()?;
        if !m.levels.iter().any(|l| l.contains(t)) {
            return None;
        }
        let stored = TileFormat::from_extension(&m.format).unwrap_or(TileFormat::Png);
        self.display_tile_bytes(&s.row.id, t, stored.extension(), &m.archive_key(&s.row.id))
            .map(|b| (b, stored))
    }

    /// Tile `t` of a ready survey as `want` (converted when stored otherwise); `None` when the
    /// survey has no such tile.
    pub fn survey_tile(&self, s: &Survey, t: Tile, want: TileFormat) -> Result<Option<Vec<u8>>> {
        match self.stored_tile(s, t) {
            None => Ok(None),
            Some((bytes, stored)) => convert(bytes, stored, want).map(Some),
        }
    }

    /// Stacks the surveys' tiles (newest first in `stack`), stopping once opaque.
    pub fn compose_mosaic(
        &self,
        stack: &[Arc<Survey>],
        t: Tile,
        fmt: TileFormat,
    ) -> Result<Option<Vec<u8>>> {
        let tiles: Vec<(Vec<u8>, TileFormat)> = stack
            .iter()
            .filter_map(|s| self.stored_tile(s, t))
            .collect();
        match tiles.len() {
            0 => return Ok(None),
            1 => {
                let (bytes, stored) = tiles.into_iter().next().expect("one");
                return convert(bytes, stored, fmt).map(Some);
            }
            _ => {}
        }
        let mut layers = tiles.into_iter();
        let (top, _) = layers.next().expect("two or more");
        let mut acc =
            image_ops::decode(&top).map_err(|e| tile_error("decoding a stored tile", e))?;
        for (bytes, _) in layers {
            if acc.chunks_exact(4).all(|p| p[3] == 255) {
                break;
            }
            let mut below =
                image_ops::decode(&bytes).map_err(|e| tile_error("decoding a stored tile", e))?;
            image_ops::composite_over(&mut below, &acc);
            acc = below;
        }
        image_ops::encode(&acc, fmt)
            .map(Some)
            .map_err(|e| tile_error("encoding a mosaic tile", e))
    }
}

fn convert(bytes: Vec<u8>, from: TileFormat, to: TileFormat) -> Result<Vec<u8>> {
    if from == to {
        return Ok(bytes);
    }
    let rgba = image_ops::decode(&bytes).map_err(|e| tile_error("decoding a stored tile", e))?;
    image_ops::encode(&rgba, to).map_err(|e| tile_error("encoding a tile", e))
}
