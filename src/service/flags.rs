//! Flagged plots as users read them: live flags scoped to the caller's jurisdiction. Raising
//! flags is a stage of survey ingest (`service::surveys`); reviewing them is issue 5.

use crate::auth::Principal;
use crate::filter::{Queryable, Row, Type, Val};
use crate::service::{Error, Result, Vigil};
use crate::store::flags;
pub use crate::store::flags::{FlagRow, LiveFilter};

pub(crate) fn visible(who: &Principal, f: &FlagRow) -> bool {
    who.role.is_admin()
        || who.jurisdiction.national
        || who
            .jurisdiction
            .covers(f.province_code.as_deref(), f.commune_code.as_deref())
}

impl Vigil {
    /// Live flags meeting `bbox` (lon/lat) that `who` may see, oldest first.
    pub fn flags(&self, who: &Principal, bbox: Option<[f64; 4]>) -> Result<Vec<FlagRow>> {
        self.flags_with(who, bbox, true)
    }

    /// [`Vigil::flags`]; without `outlines` each row's geometry is left empty (not parsed).
    fn flags_with(
        &self,
        who: &Principal,
        bbox: Option<[f64; 4]>,
        outlines: bool,
    ) -> Result<Vec<FlagRow>> {
        let rows = self.store().read(|c| {
            if outlines {
                flags::live(c, bbox)
            } else {
                flags::live_without_outlines(c, bbox)
            }
        })?;
        Ok(rows.into_iter().filter(|f| visible(who, f)).collect())
    }

    /// One page of the live flags `who` may see that match `q`, and how many match in all.
    pub fn flag_page(&self, who: &Principal, q: &FlagQuery) -> Result<(Vec<FlagRow>, usize)> {
        self.flag_page_with(who, q, true)
    }

    /// [`Vigil::flag_page`]; without `outlines` the rows' geometry is left empty unless a CQL2
    /// filter needs it.
    fn flag_page_with(
        &self,
        who: &Principal,
        q: &FlagQuery,
        outlines: bool,
    ) -> Result<(Vec<FlagRow>, usize)> {
        let has = |set: &Option<Vec<String>>, v: &str| {
            set.as_ref().is_none_or(|s| s.iter().any(|x| x == v))
        };
        let (from, to) = &q.acquired;
        let matching: Vec<FlagRow> = self
            .flags_with(who, q.bbox, outlines || q.cql.is_some())?
            .into_iter()
            .filter(|f| has(&q.classes, &f.class))
            .filter(|f| has(&q.statuses, &f.status))
            .filter(|f| q.survey.as_ref().is_none_or(|s| *s == f.survey_id))
            .filter(|f| q.province.is_none() || f.province_code == q.province)
            .filter(|f| q.commune.is_none() || f.commune_code == q.commune)
            .filter(|f| q.min_confidence.is_none_or(|c| f.confidence >= c))
            .filter(|f| q.cql.as_ref().is_none_or(|c| c.matches(f)))
            .filter(|f| {
                if from.is_none() && to.is_none() {
                    return true;
                }
                f.acquired_at.as_deref().is_some_and(|a| {
                    from.as_deref().is_none_or(|x| a >= x) && to.as_deref().is_none_or(|x| a <= x)
                })
            })
            .collect();
        let matched = matching.len();
        let start = match q.after {
            Some(a) => matching
                .iter()
                .position(|f| f.id > a)
                .unwrap_or(matching.len()),
            None => q.offset,
        };
        let page = matching.into_iter().skip(start).take(q.limit).collect();
        Ok((page, matched))
    }

    /// The extent of the live flags `who` may see (`None` when there are none): their bbox and
    /// the first and last acquisition time of their surveys.
    pub fn flags_extent(&self, who: &Principal) -> Result<Option<FlagsExtent>> {
        let rows = self.flags(who, None)?;
        let bbox = rows.iter().map(|f| f.bbox).reduce(|a, c| {
            [
                a[0].min(c[0]),
                a[1].min(c[1]),
                a[2].max(c[2]),
                a[3].max(c[3]),
            ]
        });
        let times = || rows.iter().filter_map(|f| f.acquired_at.clone());
        Ok(bbox.map(|bbox| FlagsExtent {
            bbox,
            first: times().min(),
            last: times().max(),
        }))
    }

    /// One flag (live or superseded), or 404 outside the caller's jurisdiction.
    pub fn flag(&self, who: &Principal, id: i64) -> Result<FlagRow> {
        self.store()
            .read(|c| flags::get(c, id))?
            .filter(|f| visible(who, f))
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "flag {id} does not exist or is outside your jurisdiction"
                ))
            })
    }
}

impl Vigil {
    /// A PNG chip of survey imagery around a flag, with the plot outlined (for reviewers): from
    /// the flag's own survey, or from `survey` (another flight over the plot, for before/after).
    pub fn flag_chip(&self, who: &Principal, id: i64, survey: Option<&str>) -> Result<Vec<u8>> {
        let (f, imagery) = self.flag_imagery(who, id)?;
        let want = survey.unwrap_or(&f.survey_id);
        let s = imagery
            .iter()
            .find(|i| i.survey.row.id == want)
            .map(|i| i.survey.clone())
            .ok_or_else(|| match survey {
                Some(s) => Error::NotFound(format!(
                    "survey {s:?} does not cover flag {id} or is not visible to you"
                )),
                None => Error::NotFound(format!("the survey of flag {id} is no longer served")),
            })?;
        let meta = s
            .meta
            .as_ref()
            .ok_or_else(|| Error::NotFound(format!("the survey of flag {id} has no tiles")))?;
        if f.geometry.0.is_empty() {
            return Err(Error::Conflict(format!(
                "flag {id} has an unreadable outline"
            )));
        }
        let mp = &f.geometry;
        let ext = meta.format.clone();
        let archive = meta.archive_key(&s.row.id);
        let levels = meta.levels.clone();
        let read = |t: crate::grid::Tile| {
            if !levels.iter().any(|l| l.contains(t)) {
                return None;
            }
            let bytes = self.display_tile_bytes(&s.row.id, t, &ext, &archive)?;
            crate::tiling::image_ops::decode(&bytes).ok()
        };
        crate::tiling::chip::render(mp, meta.native_zoom, meta.min_zoom, &read).map_err(|e| {
            Error::Disk {
                context: format!("rendering the chip of flag {id}"),
                source: std::io::Error::other(e),
            }
        })
    }
}

/// What the `flags` collection's items request asks for (parsed and checked by the API).
#[derive(Debug, Clone, Default)]
pub struct FlagQuery {
    /// Lon/lat bbox the flag's bbox must meet.
    pub bbox: Option<[f64; 4]>,
    /// Acquisition interval of the flag's survey.
    pub acquired: crate::service::surveys::Instants,
    /// `poppy`, `cannabis` (`None`: both).
    pub classes: Option<Vec<String>>,
    /// Review statuses (`None`: any).
    pub statuses: Option<Vec<String>>,
    pub survey: Option<String>,
    pub province: Option<String>,
    pub commune: Option<String>,
    pub min_confidence: Option<f64>,
    /// A CQL2 filter over [`QUERYABLES`].
    pub cql: Option<std::sync::Arc<crate::filter::Filter>>,
    pub limit: usize,
    pub offset: usize,
    /// Start after this flag id (a cursor), instead of `offset`.
    pub after: Option<i64>,
}

/// Where and when the flags a caller may see lie.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagsExtent {
    pub bbox: [f64; 4],
    pub first: Option<String>,
    pub last: Option<String>,
}

/// What a CQL2 filter may name on flags (in the `Row` order of [`FlagRow`]).
pub const QUERYABLES: [Queryable; 12] = [
    Queryable::new("id", "Mã lô (id)", Type::Integer),
    Queryable::new("class", "Loại cây (class)", Type::Text).one_of(&["poppy", "cannabis"]),
    Queryable::new("confidence", "Độ tin cậy (confidence)", Type::Number),
    Queryable::new("area_m2", "Diện tích, m² (area_m2)", Type::Number),
    Queryable::new("status", "Trạng thái (status)", Type::Text).one_of(&[
        "new",
        "confirmed_poppy",
        "confirmed_cannabis",
        "false_positive",
        "needs_field_check",
        "verified_in_field",
        "eradicated",
        "not_found",
    ]),
    Queryable::new("priority", "Ưu tiên (priority)", Type::Text)
        .one_of(&["urgent", "high", "normal", "low"]),
    Queryable::new("survey", "Khảo sát (survey)", Type::Text),
    Queryable::new("acquired_at", "Thời điểm bay (acquired_at)", Type::DateTime),
    Queryable::new("province_code", "Mã tỉnh (province_code)", Type::Text),
    Queryable::new("commune_code", "Mã xã (commune_code)", Type::Text),
    Queryable::new(
        "model_version",
        "Phiên bản mô hình (model_version)",
        Type::Text,
    ),
    Queryable::new(
        "geometry",
        "Ranh giới lô (geometry)",
        Type::Geometry("geometry-multipolygon"),
    ),
];

impl Row for FlagRow {
    fn get(&self, i: usize) -> Val<'_> {
        match i {
            0 => Val::Num(self.id as f64),
            1 => Val::Text(&self.class),
            2 => Val::Num(self.confidence),
            3 => Val::Num(self.area_m2),
            4 => Val::Text(&self.status),
            5 => Val::Text(self.priority.as_deref().unwrap_or("normal")),
            6 => Val::Text(&self.survey_id),
            7 => crate::filter::rfc3339(self.acquired_at.as_deref()),
            8 => crate::filter::text(self.province_code.as_deref()),
            9 => crate::filter::text(self.commune_code.as_deref()),
            10 => Val::Text(&self.model_version),
            11 => Val::Area(&self.geometry),
            _ => Val::Null,
        }
    }
}

/// From this zoom up a flag's tile feature is its outline; below it, a point (a plot of 30 m is
/// 12 px wide at zoom 16 and under 4 px at zoom 14, too small to see as a shape).
pub const FLAG_OUTLINE_MIN_ZOOM: u8 = 16;

/// Classes a flag tile's aggregate cells break their counts down by.
const FLAG_CLASSES: [&str; 2] = ["poppy", "cannabis"];

impl Vigil {
    /// A vector tile (MVT, layer `flags`) of the live flags `who` may see over tile `t` that
    /// match `q` (its bbox and paging are the tile's), one feature per flag the items' bbox query
    /// finds there, newest acquisition last (drawn on top): from [`FLAG_OUTLINE_MIN_ZOOM`] the
    /// outline, below it a point inside the plot, with `id`, `class`, `confidence`, `status`,
    /// `replanting`; where a tile would hold more than
    /// [`MAX_TILE_POINTS`](crate::service::hotspots::MAX_TILE_POINTS) points, counts per cell
    /// (`aggregated`, `count`, `class_poppy`, `class_cannabis`) that add up to the items'
    /// `numberMatched` over the tile.
    pub fn flag_tile(
        &self,
        who: &Principal,
        t: crate::grid::Tile,
        mut q: FlagQuery,
    ) -> Result<Vec<u8>> {
        use crate::mvt::{Cells, Point, Shape};
        use geozero::mvt::TileValue;
        let [w, s, e, n] = t.bounds_lon_lat();
        q.bbox = Some([w, s, e, n]);
        q.offset = 0;
        q.after = None;
        q.limit = usize::MAX;
        // Below the outline zoom only each plot's point and bbox are drawn: outlines not parsed.
        let (mut rows, _) = self.flag_page_with(who, &q, t.z >= FLAG_OUTLINE_MIN_ZOOM)?;
        rows.sort_by(|a, b| a.acquired_at.cmp(&b.acquired_at).then(a.id.cmp(&b.id)));
        let props = |f: &FlagRow| {
            vec![
                ("id".to_string(), TileValue::Sint(f.id)),
                ("class".to_string(), TileValue::Str(f.class.clone())),
                ("confidence".to_string(), TileValue::Double(f.confidence)),
                ("status".to_string(), TileValue::Str(f.status.clone())),
                (
                    "replanting".to_string(),
                    TileValue::Bool(f.replanting_of.is_some()),
                ),
            ]
        };
        let merc = t.bounds_mercator();
        let encoded = if t.z >= FLAG_OUTLINE_MIN_ZOOM {
            let shapes: Vec<Shape> = rows
                .into_iter()
                .map(|f| Shape {
                    props: props(&f),
                    geometry: geo::Geometry::MultiPolygon(f.geometry),
                })
                .collect();
            crate::mvt::encode_shapes("flags", merc, &shapes)
        } else {
            // The plot's point, kept inside the tile: a plot the tile's bbox query finds but
            // whose point lies over the edge is marked at the edge, within its own bbox.
            let at = |f: &FlagRow| {
                let [x, y] = f.point;
                crate::grid::lon_lat_to_mercator(x.clamp(w, e), y.clamp(s, n))
            };
            let points: Vec<Point> = if rows.len() > crate::service::hotspots::MAX_TILE_POINTS {
                let mut cells = Cells::new(merc, &FLAG_CLASSES);
                for f in &rows {
                    let [x, y] = at(f);
                    let class = FLAG_CLASSES
                        .iter()
                        .position(|c| *c == f.class)
                        .unwrap_or(usize::MAX);
                    cells.add(x, y, class);
                }
                cells.points("class")
            } else {
                rows.iter()
                    .map(|f| {
                        let [x, y] = at(f);
                        Point {
                            x,
                            y,
                            props: props(f),
                        }
                    })
                    .collect()
            };
            crate::mvt::encode("flags", merc, &points)
        };
        encoded.map_err(crate::service::boundaries::tile_error)
    }
}
