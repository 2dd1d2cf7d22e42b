//! Surveys: the rules for turning an uploaded (or local) orthomosaic into served tiles, and the
//! persisted job queue that does it.
//!
//! A survey row is its own job. `create_survey` queues one from a committed upload; the ingest
//! worker thread started by `vigil serve` (`run_worker`) claims queued rows one at a time — each
//! job already uses every core — and runs the stages: *validate* (GDAL inspection, jurisdiction),
//! *tile* (native tiles, in-block overviews), *overviews*, *footprint*, then *index* (one
//! transaction makes it `ready` and the in-memory index learns it). Progress and stage are written
//! to the row at most twice a second. Cancel is a flag checked between blocks. A process that dies
//! leaves its row `running`: the next `serve` re-queues it and tiling restarts from scratch in a
//! clean staging directory (`reset_interrupted`). A survey is served only once `ready`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{Principal, Role};
use crate::filter::{self, Filter, Queryable, Row, Type, Val};
use crate::hotspots::model::FieldError;
use crate::ingest::raster::{self, Role as BandRole};
use crate::service::{Error, Result};
use crate::store::surveys::SurveyRow;
pub use crate::store::surveys::SurveyState;
use crate::store::{self, NewAudit};
use crate::tiling::LevelRange;
use crate::time_util::now_rfc3339;

mod catalogue;
mod index;
mod mosaic;
mod pipeline;
mod worker;

pub use index::{IndexedSurvey, SurveyIndex};
pub use pipeline::{OUTSIDE_PROVINCES, Placement};
pub use worker::Jobs;
use worker::this_runner;

/// Jobs interrupted this many times are failed rather than re-queued again.
pub const MAX_ATTEMPTS: i64 = 3;

/// What tiling learnt about a survey, kept as JSON in the row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SurveyMeta {
    pub driver: String,
    pub width: usize,
    pub height: usize,
    pub sample_bits: u8,
    pub bands: Vec<BandRole>,
    pub crs: String,
    pub epsg: Option<u32>,
    pub gsd_m: f64,
    pub native_zoom: u8,
    pub min_zoom: u8,
    pub levels: Vec<LevelRange>,
    pub format: String,
    pub display_tiles: u64,
    pub analysis_tiles: u64,
    pub bytes: u64,
    /// Stage name → seconds.
    pub timings: Vec<(String, f64)>,
    /// Plots flagged by the classifier, and the model that raised them.
    #[serde(default)]
    pub flags: u64,
    #[serde(default)]
    pub model_version: Option<String>,
    /// Display stretch of 16-bit sources (also the classifier's white point).
    #[serde(default)]
    pub stretch: Option<(u16, u16)>,
    /// Why the classifier did not run on this survey (e.g. pixels too coarse to see plants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification_skipped: Option<String>,
    /// GDAL geotransform of the source in its own CRS (STAC `proj:transform`, `proj:bbox`);
    /// absent for surveys ingested before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geotransform: Option<[f64; 6]>,
    /// 1-based source band number of each entry of `bands` (STAC `eo:bands` order); empty for
    /// surveys ingested before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub band_numbers: Vec<usize>,
    /// What the uploader should know about the survey (e.g. it lies outside every province).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The object-storage archive key (`storage::archive_key`: `{survey}/{attempt}`) of the
    /// ingest attempt that made the survey ready; absent for surveys published under
    /// `tiles/{survey}/` itself (before attempts had folders, or by `vigil migrate`) and for
    /// installations without object storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

impl SurveyMeta {
    /// Where survey `id`'s archives are on object storage (see [`SurveyMeta::archive`]).
    pub fn archive_key(&self, id: &str) -> String {
        self.archive.clone().unwrap_or_else(|| id.to_string())
    }
}

/// A survey as the API shows it.
#[derive(Debug, Clone)]
pub struct Survey {
    pub row: SurveyRow,
    pub meta: Option<SurveyMeta>,
}

impl Survey {
    fn from_row(row: SurveyRow) -> Survey {
        let meta = row
            .meta
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok());
        Survey { row, meta }
    }

    pub fn id(&self) -> &str {
        &self.row.id
    }

    pub fn footprint(&self) -> Option<Value> {
        self.row
            .footprint
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
    }

    /// The footprint as a `geo` geometry (lon/lat), for spatial tests.
    pub fn footprint_geo(&self) -> Option<geo::Geometry<f64>> {
        let g: geojson::Geometry = self.row.footprint.as_deref()?.parse().ok()?;
        geo::Geometry::try_from(g).ok()
    }
}

/// What a CQL2 filter may name on surveys (in [`SurveyView`] order).
pub const QUERYABLES: [Queryable; 10] = [
    Queryable::new("id", "Mã khảo sát (id)", Type::Text),
    Queryable::new("name", "Tên (name)", Type::Text),
    Queryable::new("operator", "Người bay (operator)", Type::Text),
    Queryable::new("province_code", "Mã tỉnh (province_code)", Type::Text),
    Queryable::new("commune_code", "Mã xã (commune_code)", Type::Text),
    Queryable::new("acquired_at", "Thời điểm bay (acquired_at)", Type::DateTime),
    Queryable::new("gsd_m", "Độ phân giải, m (gsd_m)", Type::Number),
    Queryable::new("sample_bits", "Số bit (sample_bits)", Type::Integer),
    Queryable::new("crs", "Hệ toạ độ (crs)", Type::Text),
    Queryable::new(
        "geometry",
        "Phạm vi bay (geometry)",
        Type::Geometry("geometry-multipolygon"),
    ),
];

/// A survey as a CQL2 filter reads it, its footprint parsed once.
pub struct SurveyView<'a> {
    pub survey: &'a Survey,
    footprint: Option<geo::Geometry<f64>>,
}

impl<'a> SurveyView<'a> {
    pub fn new(survey: &'a Survey) -> SurveyView<'a> {
        SurveyView {
            survey,
            footprint: survey.footprint_geo(),
        }
    }
}

impl Row for SurveyView<'_> {
    fn get(&self, i: usize) -> Val<'_> {
        let r = &self.survey.row;
        let m = self.survey.meta.as_ref();
        match i {
            0 => Val::Text(&r.id),
            1 => Val::Text(&r.name),
            2 => Val::Text(&r.operator),
            3 => crate::filter::text(r.province_code.as_deref()),
            4 => crate::filter::text(r.commune_code.as_deref()),
            5 => filter::rfc3339(r.acquired_at.as_deref()),
            6 => m.map_or(Val::Null, |m| Val::Num(m.gsd_m)),
            7 => m.map_or(Val::Null, |m| Val::Num(f64::from(m.sample_bits))),
            8 => m.map_or(Val::Null, |m| Val::Text(&m.crs)),
            9 => self.footprint.as_ref().map_or(Val::Null, Val::Geom),
            _ => Val::Null,
        }
    }
}

/// A STAC item search (`/stac/search`): each filter that is set must hold.
#[derive(Debug, Clone, Default)]
pub struct SurveySearch {
    pub ids: Option<Vec<String>>,
    /// lon/lat `[w, s, e, n]`, against the survey's extent.
    pub bbox: Option<[f64; 4]>,
    /// lon/lat, against the survey's footprint.
    pub intersects: Option<geo::Geometry<f64>>,
    pub when: Instants,
    /// A CQL2 filter over [`QUERYABLES`].
    pub cql: Option<std::sync::Arc<Filter>>,
}

/// `POST /v1/surveys`.
#[derive(Debug, Clone, Default)]
pub struct NewSurvey {
    pub upload: String,
    pub name: Option<String>,
    pub acquired_at: Option<String>,
    pub bands: Option<String>,
}

/// A file on this machine for `vigil ingest`.
#[derive(Debug, Clone)]
pub struct LocalFile {
    pub path: PathBuf,
    pub name: Option<String>,
    pub acquired_at: Option<String>,
    pub bands: Option<String>,
}

fn may_ingest(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Operator)
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!(
        "survey {id:?} does not exist or is outside your jurisdiction"
    ))
}

fn new_survey_id() -> Result<String> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| Error::Disk {
        context: "generating a survey id".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!("sv{}", hex::encode(b)))
}

/// A queued survey of `who`'s with nothing known yet but its source.
#[allow(clippy::too_many_arguments)]
fn new_row(
    who: &Principal,
    name: String,
    filename: String,
    source_path: String,
    source_size: u64,
    bands: Option<Vec<BandRole>>,
    acquired: Option<String>,
    now: &str,
) -> Result<SurveyRow> {
    Ok(SurveyRow {
        id: new_survey_id()?,
        name,
        state: SurveyState::Queued,
        upload_id: None,
        source_path,
        source_size,
        source_sha256: None,
        filename,
        operator_id: who.user_id,
        operator: who.name.clone(),
        jurisdiction: serde_json::to_string(&who.jurisdiction).unwrap_or_default(),
        bands_override: bands.map(|b| serde_json::to_string(&b).unwrap_or_default()),
        acquired_from: acquired.as_ref().map(|_| "request".to_string()),
        acquired_at: acquired,
        meta: None,
        footprint: None,
        bbox: None,
        province_code: None,
        commune_code: None,
        progress: 0.0,
        stage: None,
        error_code: None,
        error: None,
        cancel_requested: false,
        attempts: 0,
        created_at: now.to_string(),
        started_at: None,
        completed_at: None,
        updated_at: now.to_string(),
    })
}

/// Is `s` shaped like a survey id (so it can name a directory safely)?
pub fn is_survey_id(s: &str) -> bool {
    s.len() == 18
        && s.starts_with("sv")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Parses `red,green,blue,nir`.
pub fn parse_bands(s: &str) -> Result<Vec<BandRole>> {
    s.split(',')
        .map(|n| {
            BandRole::from_name(n).ok_or_else(|| {
                Error::Invalid(vec![FieldError::new(
                    "bands",
                    format!("unknown band role {n:?}; use red, green, blue, nir, rededge, alpha"),
                )])
            })
        })
        .collect()
}

fn parse_time(field: &str, s: &str) -> Result<String> {
    raster::parse_exif_time(s).ok_or_else(|| {
        Error::Invalid(vec![FieldError::new(
            field,
            format!("{s:?} is not an RFC 3339 date-time (e.g. 2026-03-14T09:30:00Z)"),
        )])
    })
}

fn audit(
    tx: &crate::store::sql::Connection<'_>,
    actor: &str,
    action: &str,
    id: &str,
    after: Value,
) -> std::result::Result<(), store::StoreError> {
    store::audit::append(
        tx,
        &NewAudit {
            actor,
            action,
            entity: "survey",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(after),
        },
        &now_rfc3339(),
    )
}

/// An acquisition-time interval, as fixed-width RFC 3339 UTC text (how `acquired_at` is stored,
/// so comparing text compares instants). Open ends are `None`.
pub type Instants = (Option<String>, Option<String>);

/// Whether a survey's acquisition instant lies in the interval (surveys without one match only
/// an unbounded interval).
pub fn acquired_within(s: &Survey, (from, to): &Instants) -> bool {
    if from.is_none() && to.is_none() {
        return true;
    }
    s.row.acquired_at.as_deref().is_some_and(|a| {
        from.as_deref().is_none_or(|f| a >= f) && to.as_deref().is_none_or(|t| a <= t)
    })
}
