//! Hotspot statistics as layers (issue 6, item 2): the `analytics` functions over the live
//! hotspots of an area the caller may see — one province, or the whole country for national
//! callers — as suggested *tụ điểm* (DBSCAN), kernel density (grid cells or XYZ tiles),
//! Getis-Ord Gi* and emerging hot spot trends on communes or a hexagon grid.
//!
//! Points come from the in-memory hotspot index (the same set the `hotspots` layer counts);
//! lifecycle history for the emerging trends from `hotspot_events`. Commune units count a điểm in
//! the commune it is registered to (its `commune_code`), so the figures reconcile with the
//! hotspots layer's `commune_code` filter; hexagon units count by position. Units and their
//! contiguity weights are cached per area and grid until the boundaries change; the heat map's
//! points and colour scale until the hotspots do.

use std::collections::HashMap;
use std::sync::Arc;

use geo::Intersects;
use geojson::FeatureCollection;
use serde_json::json;

use crate::analytics::{
    self, Contiguity, DensityGrid, EmergingOptions, GiStarOptions, IdPoint, KdeParams, Kernel,
    Ramp, SpatialWeights, Unit,
};
use crate::auth::Principal;
use crate::boundaries::Level;
use crate::grid::Tile;
use crate::index::BoundaryIndex;
use crate::index::HotspotFilter;
use crate::reports::kpi::{HotspotFact, Step, is_active, status_on};
use crate::reports::period::{Kind, Period};
use crate::service::{Error, Result, Vigil, invalid};
use crate::time_util::{day_number, format_date, today};

/// Most hexagons an analysis may use (after dropping those outside the area).
pub const MAX_HEX_UNITS: usize = 30_000;
/// Most periods of an emerging hot spot analysis.
pub const MAX_PERIODS: usize = 60;
/// Fewest periods: Mann–Kendall needs a series.
pub const MIN_PERIODS: usize = 3;
/// Most cells of the grid that sets the heat map's colour scale.
const SCALE_GRID_CELLS: f64 = 4_000_000.0;
/// Most unit sets, and colour scales per area, kept in the cache (callers choose hexagon sizes
/// and bandwidths freely).
const MAX_CACHED: usize = 64;
/// Heat map zooms served.
pub const DENSITY_MIN_ZOOM: u8 = 4;
pub const DENSITY_MAX_ZOOM: u8 = 18;

/// What an analysis covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Area {
    Province(String),
    Country,
}

impl Area {
    pub fn code(&self) -> Option<&str> {
        match self {
            Area::Province(p) => Some(p),
            Area::Country => None,
        }
    }
}

/// The areal units Gi* and the trends count in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Grid {
    /// The area's communes.
    Commune,
    /// Hexagons `cell_m` metres across, covering the area.
    Hex { cell_m: f64 },
}

impl Grid {
    fn key(self) -> u64 {
        match self {
            Grid::Commune => 0,
            Grid::Hex { cell_m } => cell_m.to_bits(),
        }
    }
}

/// What an emerging hot spot analysis counts per unit and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Hotspots active on the period's last day (by their lifecycle history).
    Active,
    /// Hotspots reported in the period.
    New,
}

/// Settings of [`Vigil::hotspot_emerging`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmergingQuery {
    pub grid: Grid,
    /// Month, quarter, half or year.
    pub step: Kind,
    pub periods: usize,
    /// A day in the last period (default today).
    pub end: Option<time::Date>,
    pub measure: Measure,
    /// Conditional permutations per period (0: analytical p-values).
    pub permutations: usize,
}

/// Units and contiguity weights of one area and grid.
struct UnitSet {
    units: Vec<Unit>,
    weights: SpatialWeights,
    /// For commune units: the unit of each commune code.
    by_code: HashMap<String, u32>,
}

/// The heat map of one area: its active points at one hotspot generation and the colour scale
/// (top of the ramp) per bandwidth.
struct DensitySource {
    generation: u64,
    bbox: [f64; 4],
    points: Arc<Vec<[f64; 2]>>,
    max: HashMap<u64, f32>,
}

/// The unit sets built from one boundary index, by (area, grid key).
type UnitSets = (Arc<BoundaryIndex>, HashMap<(Area, u64), Arc<UnitSet>>);

/// An area's active points and its bbox.
type Points = (Arc<Vec<[f64; 2]>>, [f64; 4]);

/// Derived analytics state, rebuilt when its inputs change.
#[derive(Default)]
pub struct AnalyticsCache {
    /// Units per (area, grid), valid for the boundary index they were built from.
    units: parking_lot::Mutex<Option<UnitSets>>,
    density: parking_lot::Mutex<HashMap<Area, DensitySource>>,
}

impl std::fmt::Debug for AnalyticsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsCache").finish_non_exhaustive()
    }
}

/// The first day of the `kind` period that contains `day`.
fn period_containing(kind: Kind, day: time::Date) -> Result<Period> {
    let (y, m) = (day.year(), day.month() as u8);
    let p = match kind {
        Kind::Month => Period::month(y, m),
        Kind::Quarter => Period::quarter(y, (m - 1) / 3 + 1),
        Kind::Half => Period::half(y, (m - 1) / 6 + 1),
        Kind::Year => Period::year(y),
        Kind::Custom => Err("a step is month, quarter, half or year".into()),
    };
    p.map_err(|e| invalid("step", e))
}

/// `n` consecutive periods of `kind`, oldest first, the last one containing `end`.
pub fn periods_ending(kind: Kind, n: usize, end: time::Date) -> Result<Vec<Period>> {
    let mut out = vec![period_containing(kind, end)?];
    while out.len() < n {
        let before = out.last().expect("not empty").previous();
        out.push(before);
    }
    out.reverse();
    Ok(out)
}

impl Vigil {
    /// The area an analysis covers: `province`, which the caller must be allowed to see (404
    /// otherwise, as if it did not exist); without one, the caller's only province, or the whole
    /// country for national callers.
    pub fn analysis_area(&self, who: &Principal, province: Option<&str>) -> Result<Area> {
        let j = &who.jurisdiction;
        let national = who.role.is_admin() || j.national;
        match province {
            Some(p) => {
                let visible = national || j.covers(Some(p), None);
                if !visible || self.boundaries().get(Level::Province, p).is_none() {
                    return Err(Error::NotFound(format!(
                        "province {p:?} does not exist or is outside your jurisdiction"
                    )));
                }
                Ok(Area::Province(p.to_string()))
            }
            None if national => Ok(Area::Country),
            None if j.provinces.len() == 1 => {
                let p = j.provinces.iter().next().expect("one province").clone();
                self.analysis_area(who, Some(&p))
            }
            None => Err(invalid(
                "province",
                "say which province: your jurisdiction has several (province=CODE)",
            )),
        }
    }

    fn area_filter(area: &Area) -> HotspotFilter {
        HotspotFilter {
            province: area.code().map(str::to_string),
            ..Default::default()
        }
    }

    /// The live, active hotspots of the area.
    fn area_points(&self, area: &Area) -> Vec<IdPoint> {
        let (rows, _) = self.hotspots.scan(&Self::area_filter(area));
        let mut points: Vec<IdPoint> = rows
            .into_iter()
            .filter(|h| is_active(h.status))
            .map(|h| IdPoint {
                id: h.id,
                lon: h.pos[0],
                lat: h.pos[1],
            })
            .collect();
        points.sort_unstable_by_key(|p| p.id);
        points
    }

    /// The area's outline bbox: the province's, or the union of every province's.
    fn area_bbox(&self, bi: &BoundaryIndex, area: &Area) -> Result<[f64; 4]> {
        let boxes: Vec<[f64; 4]> = match area {
            Area::Province(p) => bi
                .get(Level::Province, p)
                .and_then(|b| b.bbox())
                .into_iter()
                .collect(),
            Area::Country => bi
                .list(Level::Province)
                .iter()
                .filter_map(|b| b.bbox())
                .collect(),
        };
        boxes
            .into_iter()
            .reduce(|a, b| {
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            })
            .ok_or_else(|| {
                Error::NotFound(match area {
                    Area::Province(p) => format!("province {p:?} has no outline"),
                    Area::Country => "no province outlines are loaded".to_string(),
                })
            })
    }

    /// The units of an area and grid with their queen contiguity, cached.
    fn unit_set(&self, area: &Area, grid: Grid) -> Result<Arc<UnitSet>> {
        let bi = self.boundaries();
        let key = (area.clone(), grid.key());
        {
            let cache = self.analytics.units.lock();
            if let Some((built_from, sets)) = cache.as_ref()
                && Arc::ptr_eq(built_from, &bi)
                && let Some(set) = sets.get(&key)
            {
                return Ok(set.clone());
            }
        }
        let units: Vec<Unit> = match grid {
            Grid::Commune => bi
                .list(Level::Commune)
                .iter()
                .filter(|b| area.code().is_none_or(|p| b.parent.as_deref() == Some(p)))
                .map(|b| Unit {
                    id: b.code.clone(),
                    geometry: b.geometry.clone(),
                })
                .collect(),
            Grid::Hex { cell_m } => {
                let bbox = self.area_bbox(&bi, area)?;
                let outlines: Vec<_> = match area {
                    Area::Province(p) => bi.get(Level::Province, p).into_iter().collect(),
                    Area::Country => bi.list(Level::Province).iter().collect(),
                };
                let cells = analytics::hex_grid(bbox, cell_m).map_err(|e| invalid("cell_m", e))?;
                let inside: Vec<Unit> = cells
                    .into_iter()
                    .filter(|c| outlines.iter().any(|o| o.geometry.intersects(&c.geometry)))
                    .collect();
                if inside.len() > MAX_HEX_UNITS {
                    return Err(invalid(
                        "cell_m",
                        format!(
                            "{cell_m} m hexagons make {} cells over this area; the limit is \
                             {MAX_HEX_UNITS} (use larger cells or one province)",
                            inside.len()
                        ),
                    ));
                }
                inside
            }
        };
        let geoms: Vec<_> = units.iter().map(|u| u.geometry.clone()).collect();
        let weights = SpatialWeights::contiguity(&geoms, Contiguity::Queen);
        let by_code = match grid {
            Grid::Commune => units
                .iter()
                .enumerate()
                .map(|(i, u)| (u.id.clone(), i as u32))
                .collect(),
            Grid::Hex { .. } => HashMap::new(),
        };
        let set = Arc::new(UnitSet {
            units,
            weights,
            by_code,
        });
        let mut cache = self.analytics.units.lock();
        match cache.as_mut() {
            Some((built_from, sets)) if Arc::ptr_eq(built_from, &bi) => {
                // Callers choose cell sizes freely: keep the cache bounded.
                if sets.len() >= MAX_CACHED {
                    sets.clear();
                }
                sets.insert(key, set.clone());
            }
            _ => *cache = Some((bi, HashMap::from([(key, set.clone())]))),
        }
        Ok(set)
    }

    /// The unit of each scanned hotspot (`None`: in none of them).
    fn units_of(
        &self,
        set: &UnitSet,
        grid: Grid,
        rows: &[crate::index::hotspots::ScannedHotspot],
        codes: &[Box<str>],
    ) -> Result<Vec<Option<u32>>> {
        match grid {
            Grid::Commune => {
                // Resolve each interned code once, not each hotspot's.
                let unit_of_code: Vec<Option<u32>> = codes
                    .iter()
                    .map(|c| set.by_code.get(&**c).copied())
                    .collect();
                Ok(rows
                    .iter()
                    .map(|h| unit_of_code[h.commune as usize])
                    .collect())
            }
            Grid::Hex { .. } => {
                let xy: Vec<[f64; 2]> = rows.iter().map(|h| h.pos).collect();
                analytics::unit_of_points(&set.units, &xy).map_err(|e| invalid("province", e))
            }
        }
    }

    /// Active hotspots within `eps_m` of each other, at least `min_points` together: suggested
    /// *tụ điểm* (hull, centroid, members).
    pub fn hotspot_clusters(
        &self,
        who: &Principal,
        province: Option<&str>,
        eps_m: f64,
        min_points: usize,
    ) -> Result<FeatureCollection> {
        let area = self.analysis_area(who, province)?;
        let points = self.area_points(&area);
        let c = analytics::dbscan(&points, eps_m, min_points).map_err(|e| invalid("eps_m", e))?;
        Ok(analytics::geojson::clusters(&c))
    }

    /// Kernel density of the active hotspots over the area's bounding box (điểm per km²), as
    /// grid cells.
    pub fn hotspot_density(
        &self,
        who: &Principal,
        province: Option<&str>,
        bandwidth_m: f64,
        cell_m: f64,
    ) -> Result<FeatureCollection> {
        let area = self.analysis_area(who, province)?;
        let points = self.area_points(&area);
        let bbox = self.area_bbox(&self.boundaries(), &area)?;
        let xy: Vec<[f64; 2]> = points.iter().map(|p| [p.lon, p.lat]).collect();
        let grid = quartic_density(&xy, bbox, bandwidth_m, cell_m)?;
        Ok(analytics::geojson::density_cells(&grid, 0.0))
    }

    /// Getis-Ord Gi* of active hotspots per unit: queen contiguity, binary weights with the unit
    /// itself (esda's `G_Local(star=True, transform="B")`), `permutations` conditional
    /// permutations, Benjamini–Hochberg FDR at 5 %.
    pub fn hotspot_gi_star(
        &self,
        who: &Principal,
        province: Option<&str>,
        grid: Grid,
        permutations: usize,
    ) -> Result<FeatureCollection> {
        let area = self.analysis_area(who, province)?;
        let set = self.unit_set(&area, grid)?;
        if set.units.is_empty() {
            return Ok(analytics::geojson::gi_star_units(&[], &[], &[]).expect("empty"));
        }
        let (rows, codes) = self.hotspots.scan(&Self::area_filter(&area));
        let rows: Vec<_> = rows.into_iter().filter(|h| is_active(h.status)).collect();
        let mut values = vec![0.0; set.units.len()];
        for u in self
            .units_of(&set, grid, &rows, &codes)?
            .into_iter()
            .flatten()
        {
            values[u as usize] += 1.0;
        }
        let results = analytics::gi_star(
            &values,
            &set.weights,
            &GiStarOptions {
                permutations,
                ..GiStarOptions::default()
            },
        )
        .map_err(|e| invalid("province", e))?;
        analytics::geojson::gi_star_units(&set.units, &values, &results)
            .map_err(|e| invalid("province", e))
    }

    /// Emerging hot spot trends: per period, the hotspots active at its end (or reported in it)
    /// counted per unit, Gi* per period, Mann–Kendall on each unit's z-scores, and Esri's
    /// pattern. The collection carries the periods as `periods`.
    pub fn hotspot_emerging(
        &self,
        who: &Principal,
        province: Option<&str>,
        q: &EmergingQuery,
    ) -> Result<FeatureCollection> {
        if !(MIN_PERIODS..=MAX_PERIODS).contains(&q.periods) {
            return Err(invalid(
                "periods",
                format!(
                    "{} periods asked; between {MIN_PERIODS} and {MAX_PERIODS}",
                    q.periods
                ),
            ));
        }
        let area = self.analysis_area(who, province)?;
        let end = q.end.unwrap_or_else(today);
        let periods = periods_ending(q.step, q.periods, end)?;
        let set = self.unit_set(&area, q.grid)?;
        let (mut rows, codes) = self.hotspots.scan(&Self::area_filter(&area));
        rows.sort_unstable_by_key(|h| h.id);
        let unit = self.units_of(&set, q.grid, &rows, &codes)?;
        let n = set.units.len();
        let mut series: Vec<Vec<f64>> = vec![vec![0.0; n]; periods.len()];
        let bounds: Vec<(i32, i32)> = periods
            .iter()
            .map(|p| (day_number(p.from), day_number(p.to)))
            .collect();
        match q.measure {
            Measure::New => {
                for (h, u) in rows.iter().zip(&unit) {
                    let Some(u) = u else { continue };
                    if let Some(t) = bounds
                        .iter()
                        .position(|&(a, b)| (a..=b).contains(&h.reported))
                    {
                        series[t][*u as usize] += 1.0;
                    }
                }
            }
            Measure::Active => {
                let transitions = self
                    .store()
                    .read(crate::store::reports::transitions)
                    .map_err(Error::from)?;
                let today = day_number(today());
                let mut steps: Vec<Step> = Vec::new();
                let mut t = transitions.iter().peekable();
                for (h, u) in rows.iter().zip(&unit) {
                    while t.peek().is_some_and(|x| x.hotspot < h.id) {
                        t.next();
                    }
                    steps.clear();
                    while let Some(x) = t.next_if(|x| x.hotspot == h.id) {
                        steps.push(Step {
                            from: x.from,
                            to: x.to,
                            on: x.on,
                        });
                    }
                    let Some(u) = u else { continue };
                    let fact = HotspotFact {
                        slot: *u,
                        diem_nong: h.kind == crate::hotspots::Kind::DiemNong,
                        status: h.status,
                        reported: h.reported,
                        steps: (0, steps.len() as u32),
                    };
                    for (t, &(_, last)) in bounds.iter().enumerate() {
                        if status_on(&fact, &steps, last.min(today)).is_some_and(is_active) {
                            series[t][*u as usize] += 1.0;
                        }
                    }
                }
            }
        }
        let opts = EmergingOptions {
            gi: GiStarOptions {
                permutations: q.permutations,
                ..EmergingOptions::default().gi
            },
            ..EmergingOptions::default()
        };
        let results = analytics::emerging_hot_spots(&series, &set.weights, &opts)
            .map_err(|e| invalid("province", e))?;
        let mut fc = analytics::geojson::emerging_units(&set.units, &series, &results)
            .map_err(|e| invalid("province", e))?;
        let listed: Vec<_> = periods
            .iter()
            .map(|p| {
                json!({
                    "code": p.code,
                    "label": p.label_vi(),
                    "from": format_date(p.from),
                    "to": format_date(p.to),
                })
            })
            .collect();
        let mut members = serde_json::Map::new();
        members.insert("periods".into(), json!(listed));
        members.insert("measure".into(), json!(q.measure));
        members.insert("area".into(), json!(area.code()));
        fc.foreign_members = Some(members);
        Ok(fc)
    }

    /// The heat map source of an area: its active points now, and the colour scale (cached).
    fn density_source(&self, area: &Area) -> Result<Points> {
        let generation = self.hotspots.generation();
        {
            let cache = self.analytics.density.lock();
            if let Some(s) = cache.get(area).filter(|s| s.generation == generation) {
                return Ok((s.points.clone(), s.bbox));
            }
        }
        let bbox = self.area_bbox(&self.boundaries(), area)?;
        let points: Arc<Vec<[f64; 2]>> = Arc::new(
            self.area_points(area)
                .iter()
                .map(|p| [p.lon, p.lat])
                .collect(),
        );
        let mut cache = self.analytics.density.lock();
        cache.insert(
            area.clone(),
            DensitySource {
                generation,
                bbox,
                points: points.clone(),
                max: HashMap::new(),
            },
        );
        Ok((points, bbox))
    }

    /// The density (điểm/km²) at the top of the heat map's ramp for an area and bandwidth: the
    /// highest value of the surface on a grid of cells a quarter of the bandwidth across (coarser
    /// when that would exceed four million cells), cached until the hotspots change.
    fn density_scale(&self, area: &Area, bandwidth_m: f64) -> Result<f32> {
        let (points, bbox) = self.density_source(area)?;
        let key = bandwidth_m.to_bits();
        if let Some(m) = self
            .analytics
            .density
            .lock()
            .get(area)
            .and_then(|s| s.max.get(&key).copied())
        {
            return Ok(m);
        }
        let [w, s, e, n] = bbox;
        let m_per_deg = analytics::EARTH_RADIUS_M.to_radians();
        let area_m2 =
            (e - w) * m_per_deg * ((s + n) / 2.0).to_radians().cos() * (n - s) * m_per_deg;
        let cell_m = (bandwidth_m / 4.0).max((area_m2 / SCALE_GRID_CELLS).sqrt());
        let grid = quartic_density(&points, bbox, bandwidth_m, cell_m)?;
        let max = grid.max();
        if let Some(s) = self.analytics.density.lock().get_mut(area) {
            if s.max.len() >= MAX_CACHED {
                s.max.clear();
            }
            s.max.insert(key, max);
        }
        Ok(max)
    }

    /// TileJSON 3.0.0 of the heat map of an area: `tiles` (relative to `base`), `bounds`, zooms,
    /// and `vigil:max` (the density per km² at the top of the ramp), `vigil:unit`, `vigil:ramp`,
    /// `vigil:points`.
    pub fn density_tilejson(
        &self,
        who: &Principal,
        province: Option<&str>,
        bandwidth_m: f64,
        base: &str,
    ) -> Result<serde_json::Value> {
        check_bandwidth(bandwidth_m)?;
        let area = self.analysis_area(who, province)?;
        let max = self.density_scale(&area, bandwidth_m)?;
        let (points, bbox) = self.density_source(&area)?;
        let query = match area.code() {
            Some(p) => format!("?province={p}&bandwidth_m={bandwidth_m}"),
            None => format!("?bandwidth_m={bandwidth_m}"),
        };
        Ok(json!({
            "tilejson": "3.0.0",
            "name": "Mật độ điểm ma túy",
            "tiles": [format!("{base}/v1/analytics/density/{{z}}/{{x}}/{{y}}.png{query}")],
            "bounds": bbox,
            "minzoom": DENSITY_MIN_ZOOM,
            "maxzoom": DENSITY_MAX_ZOOM,
            "vigil:max": max,
            "vigil:unit": "điểm/km²",
            "vigil:bandwidth_m": bandwidth_m,
            "vigil:kernel": "quartic",
            "vigil:ramp": ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
            "vigil:points": points.len(),
            "vigil:full_detail_minzoom": full_detail_zoom(bandwidth_m, bbox),
        }))
    }

    /// One heat map tile as RGBA pixels (transparent where there is no density). At zooms whose pixels are
    /// wider than half the bandwidth, the kernel widens to two pixels so no điểm falls between
    /// pixel centres: the tile shows the density smoothed at that scale (lower peaks, so isolated
    /// điểm fade and dense areas stay) on the requested bandwidth's colour scale.
    pub fn density_tile_rgba(
        &self,
        who: &Principal,
        province: Option<&str>,
        bandwidth_m: f64,
        tile: Tile,
    ) -> Result<Vec<u8>> {
        check_bandwidth(bandwidth_m)?;
        if !(DENSITY_MIN_ZOOM..=DENSITY_MAX_ZOOM).contains(&tile.z) {
            return Err(Error::NotFound(format!(
                "the heat map has zooms {DENSITY_MIN_ZOOM} to {DENSITY_MAX_ZOOM}, not {}",
                tile.z
            )));
        }
        let area = self.analysis_area(who, province)?;
        let max = self.density_scale(&area, bandwidth_m)?;
        let (points, _) = self.density_source(&area)?;
        let [x0, _, x1, _] = tile.bounds_mercator();
        let pixel_m = (x1 - x0) / f64::from(crate::grid::TILE_SIZE)
            * tile_centre_lat(&tile).to_radians().cos();
        let h = bandwidth_m.max(2.0 * pixel_m);
        let values = analytics::density_tile(&points, None, tile, Kernel::Quartic, h)
            .map_err(|e| invalid("bandwidth_m", e))?;
        Ok(analytics::colour_tile(&values, max, Ramp::Heat))
    }
}

/// Quartic kernel density (ArcGIS's kernel) of `points` on a grid over `bbox`.
fn quartic_density(
    points: &[[f64; 2]],
    bbox: [f64; 4],
    bandwidth_m: f64,
    cell_m: f64,
) -> Result<DensityGrid> {
    let params = KdeParams {
        kernel: Kernel::Quartic,
        bandwidth_m,
        cell_m,
    };
    analytics::kernel_density(points, None, bbox, &params).map_err(|e| {
        let field = match e {
            analytics::AnalyticsError::Parameter { name, .. } => name,
            _ => "cell_m",
        };
        invalid(field, e)
    })
}

fn check_bandwidth(bandwidth_m: f64) -> Result<()> {
    if bandwidth_m.is_finite() && (50.0..=50_000.0).contains(&bandwidth_m) {
        Ok(())
    } else {
        Err(invalid(
            "bandwidth_m",
            format!("{bandwidth_m} m is outside 50 to 50000 m"),
        ))
    }
}

fn tile_centre_lat(tile: &Tile) -> f64 {
    let [x0, y0, x1, y1] = tile.bounds_mercator();
    crate::grid::mercator_to_lon_lat((x0 + x1) / 2.0, (y0 + y1) / 2.0)[1]
}

/// The lowest zoom whose pixels are at most half the bandwidth across at the bbox's middle.
fn full_detail_zoom(bandwidth_m: f64, bbox: [f64; 4]) -> u8 {
    let lat = ((bbox[1] + bbox[3]) / 2.0).to_radians().cos();
    (DENSITY_MIN_ZOOM..=DENSITY_MAX_ZOOM)
        .find(|&z| {
            let pixel = 2.0 * std::f64::consts::PI * 6_378_137.0 * lat
                / (f64::from(crate::grid::TILE_SIZE) * 2f64.powi(z as i32));
            pixel <= bandwidth_m / 2.0
        })
        .unwrap_or(DENSITY_MAX_ZOOM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_end_with_the_one_containing_the_day() {
        let d = crate::time_util::parse_date("2026-05-20").unwrap();
        let p = periods_ending(Kind::Quarter, 4, d).unwrap();
        let codes: Vec<&str> = p.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]);
        let p = periods_ending(Kind::Year, 3, d).unwrap();
        assert_eq!(p[0].code, "2024");
        let p = periods_ending(Kind::Month, 3, d).unwrap();
        assert_eq!(p[0].code, "2026-03");
        assert!(periods_ending(Kind::Custom, 3, d).is_err());
    }

    #[test]
    fn full_detail_starts_where_pixels_are_half_the_bandwidth() {
        // At 21° N a z9 pixel is about 285 m, z8 about 570 m.
        assert_eq!(full_detail_zoom(1000.0, [105.0, 20.0, 106.0, 22.0]), 9);
        assert_eq!(full_detail_zoom(2000.0, [105.0, 20.0, 106.0, 22.0]), 8);
    }
}
