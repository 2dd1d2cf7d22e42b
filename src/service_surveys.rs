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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rstar::{AABB, RTree, RTreeObject};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Jurisdiction, Principal, Role};
use crate::hotspots::model::FieldError;
use crate::ingest::raster::{self, Limits, Role as BandRole};
use crate::redact::user_message;
use crate::service::{Error, Result, Vigil};
use crate::store::surveys::{self as ss, Finished, SurveyRow, SurveyState};
use crate::store::{self, NewAudit};
use crate::tiling::{self, LevelRange, Stage, TilingError};
use crate::time_util::now_rfc3339;

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
}

/// A ready survey in the tile index.
#[derive(Debug, Clone)]
pub struct IndexedSurvey {
    pub survey: Arc<Survey>,
    /// EPSG:3857 bounds of its tiles at the native zoom.
    envelope: AABB<[f64; 2]>,
}

impl RTreeObject for IndexedSurvey {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// Ready surveys by extent, for tile serving and the OGC collection.
#[derive(Debug, Default)]
pub struct SurveyIndex {
    tree: RTree<IndexedSurvey>,
    by_id: std::collections::HashMap<String, Arc<Survey>>,
}

impl SurveyIndex {
    pub fn build(rows: Vec<SurveyRow>) -> SurveyIndex {
        let mut items = Vec::new();
        let mut by_id = std::collections::HashMap::new();
        for row in rows {
            let s = Arc::new(Survey::from_row(row));
            by_id.insert(s.row.id.clone(), s.clone());
            let Some(meta) = &s.meta else { continue };
            let Some(top) = meta.levels.iter().find(|l| l.z == meta.native_zoom) else {
                continue;
            };
            let a = crate::grid::Tile {
                z: top.z,
                x: top.min_x,
                y: top.max_y,
            }
            .bounds_mercator();
            let b = crate::grid::Tile {
                z: top.z,
                x: top.max_x,
                y: top.min_y,
            }
            .bounds_mercator();
            items.push(IndexedSurvey {
                survey: s,
                envelope: AABB::from_corners([a[0], a[1]], [b[2], b[3]]),
            });
        }
        SurveyIndex {
            tree: RTree::bulk_load(items),
            by_id,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Survey>> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Ready surveys whose tiles touch the EPSG:3857 box.
    pub fn in_mercator(&self, bbox: [f64; 4]) -> impl Iterator<Item = &Arc<Survey>> {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(
                [bbox[0], bbox[1]],
                [bbox[2], bbox[3]],
            ))
            .map(|i| &i.survey)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Survey>> {
        self.by_id.values()
    }
}

/// The ingest worker's shared state: a wake-up for new jobs, cancel flags, shutdown.
#[derive(Default)]
pub struct Jobs {
    wake: Condvar,
    lock: Mutex<()>,
    /// The survey being tiled in this process and its cancel flag.
    running: Mutex<Option<(String, Arc<AtomicBool>)>>,
    pub shutdown: AtomicBool,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish()
    }
}

impl Jobs {
    fn notify(&self) {
        let _g = self.lock.lock();
        self.wake.notify_all();
    }
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
    tx: &rusqlite::Connection,
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

/// Reports tiling progress into the row (throttled) and relays cancel requests.
struct JobObserver<'a> {
    vigil: &'a Vigil,
    id: &'a str,
    cancel: Arc<AtomicBool>,
    last: Mutex<(Instant, f64, Option<Stage>)>,
    last_db_check: Mutex<Instant>,
    print: bool,
}

impl JobObserver<'_> {
    /// Progress bands per stage: validate 0–5 %, tile 5–65 %, overviews 65–75 %, footprint 75–78 %,
    /// classify 78–98 %, index 99–100 %.
    fn percent(stage: Stage, done: u64, total: u64) -> f64 {
        let f = if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        };
        match stage {
            Stage::Tile => 5.0 + 60.0 * f,
            Stage::Overviews => 65.0 + 10.0 * f,
            Stage::Footprint => 75.0 + 3.0 * f,
        }
    }

    /// The classify stage: 78–98 %.
    fn classify_progress(&self, done: usize, total: usize) {
        let f = if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        };
        self.record(78.0 + 20.0 * f, "classify", done == 0);
    }

    fn record(&self, percent: f64, stage: &str, force: bool) {
        {
            let mut last = self.last.lock();
            if !force && last.0.elapsed() < Duration::from_millis(500) && percent < 100.0 {
                return;
            }
            last.0 = Instant::now();
            last.1 = percent;
        }
        if self.print {
            eprint!("\r  {stage:<10} {percent:5.1} %");
        }
        let now = now_rfc3339();
        let _ = self
            .vigil
            .store()
            .write(|tx| ss::set_progress(tx, self.id, percent, stage, &now));
    }
}

impl tiling::Observer for JobObserver<'_> {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        let p = Self::percent(stage, done, total);
        let changed = {
            let mut last = self.last.lock();
            let c = last.2 != Some(stage);
            last.2 = Some(stage);
            c
        };
        self.record(p, stage.code(), changed);
    }

    fn cancelled(&self) -> bool {
        if self.cancel.load(Ordering::Relaxed) || self.vigil.jobs.shutdown.load(Ordering::Relaxed) {
            return true;
        }
        // Another process (the CLI, or a server when the CLI ingests) may have asked.
        let mut last = self.last_db_check.lock();
        if last.elapsed() > Duration::from_secs(1) {
            *last = Instant::now();
            if self
                .vigil
                .store()
                .read(|c| ss::cancel_requested(c, self.id))
                .unwrap_or(false)
            {
                self.cancel.store(true, Ordering::SeqCst);
                return true;
            }
        }
        false
    }
}

impl Vigil {
    /// Classifies a survey's analysis tiles and turns the plots into flag rows (not yet stored).
    #[allow(clippy::too_many_arguments)]
    fn flag_plots(
        &self,
        survey: &str,
        native: LevelRange,
        domain: crate::classify::features::Domain,
        acquired: Option<String>,
        fallback_province: Option<String>,
        progress: &(dyn Fn(usize, usize) + Sync),
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> std::result::Result<(Vec<crate::store::flags::FlagRow>, String), TilingError> {
        // The model's file name only: the message reaches the operator, not the server's paths.
        let model = self
            .vegetation_model_for(fallback_province.as_deref())
            .map_err(|e| {
                tracing::error!(survey, error = %e, "the vegetation model cannot be used");
                TilingError::Classify(format!(
                    "the survey was not classified: {}",
                    crate::redact::user_message(&e, &[])
                ))
            })?;
        let dir = tiling::layout::SurveyDir::new(&self.config.tiles_dir(), survey);
        let map = crate::classify::plots::classify_survey(
            &dir,
            native,
            domain,
            &model,
            self.config.ingest_threads(),
            progress,
            cancelled,
        )
        .map_err(|e| TilingError::Io(format!("classifying: {e}")))?
        .ok_or(TilingError::Cancelled)?;
        let mut found =
            crate::classify::plots::extract(&map, &model, self.config.classify.min_area_m2);
        found.retain(|p| model.confidence(p.confidence) >= self.config.classify.min_confidence);
        let bi = self.boundaries();
        let rows = found
            .iter()
            .map(|p| {
                use geo::{BoundingRect, InteriorPoint};
                let r = p.geometry.bounding_rect().expect("non-empty plot");
                let pt = p
                    .geometry
                    .interior_point()
                    .map_or([r.min().x, r.min().y], |q| [q.x(), q.y()]);
                let loc = bi.locate(pt[0], pt[1]);
                crate::store::flags::FlagRow {
                    id: 0,
                    survey_id: survey.to_string(),
                    class: p.class.to_string(),
                    confidence: (model.confidence(p.confidence) * 1000.0).round() / 1000.0,
                    area_m2: (p.area_m2 * 10.0).round() / 10.0,
                    status: "new".into(),
                    geometry: geojson::Geometry::from(&p.geometry).to_string(),
                    bbox: [r.min().x, r.min().y, r.max().x, r.max().y],
                    point: pt,
                    province_code: loc.province.or_else(|| fallback_province.clone()),
                    commune_code: loc.commune,
                    acquired_at: acquired.clone(),
                    model_version: model.version.clone(),
                    drivers: serde_json::to_string(&p.drivers).unwrap_or_else(|_| "[]".into()),
                    created_at: String::new(),
                    replanting_of: None,
                    near_hotspots: "[]".into(),
                    probabilities: serde_json::Value::Object(
                        crate::classify::model::CLASSES
                            .iter()
                            .zip(p.probabilities)
                            .map(|(c, v)| {
                                (
                                    c.to_string(),
                                    serde_json::json!((v * 1000.0).round() / 1000.0),
                                )
                            })
                            .collect(),
                    )
                    .to_string(),
                    version: 1,
                    priority: None,
                    status_at: None,
                    superseded_at: None,
                }
            })
            .collect::<Vec<_>>();
        let rows = self
            .link_flags(survey, &found, rows)
            .map_err(|e| TilingError::Io(e.to_string()))?;
        Ok((rows, model.version.clone()))
    }

    /// Re-planting (a flag overlapping an earlier plot recorded as eradicated links to the newest
    /// such plot) and nearby registry hotspots.
    fn link_flags(
        &self,
        survey: &str,
        found: &[crate::classify::plots::FoundPlot],
        mut rows: Vec<crate::store::flags::FlagRow>,
    ) -> Result<Vec<crate::store::flags::FlagRow>> {
        use geo::Intersects;
        let radius = self.config.classify.hotspot_link_m;
        for (r, p) in rows.iter_mut().zip(found) {
            let earlier = self
                .store()
                .read(|c| crate::store::flags::eradicated_near(c, r.bbox, survey))?;
            r.replanting_of = earlier.iter().find_map(|e| {
                let g: geojson::Geometry = e.geometry.parse().ok()?;
                let g: geo::Geometry<f64> = g.try_into().ok()?;
                g.intersects(&p.geometry).then_some(e.id)
            });
            if radius > 0.0 {
                let near = self.hotspots_near(r.point[0], r.point[1], radius, 20);
                r.near_hotspots = serde_json::to_string(&near).unwrap_or_else(|_| "[]".into());
            }
        }
        Ok(rows)
    }

    /// How a survey's analysis samples map to the classifier's 0..1 values.
    pub fn survey_domain(&self, s: &Survey) -> crate::classify::features::Domain {
        let sixteen = s.meta.as_ref().is_some_and(|m| m.sample_bits == 16);
        let stretch = s.meta.as_ref().and_then(|m| m.stretch);
        if sixteen {
            let white = match stretch {
                Some((_, hi)) => f32::from(hi),
                // Surveys tiled before the stretch was recorded: inspect the source again.
                None => raster::inspect(
                    Path::new(&s.row.source_path),
                    &Limits {
                        max_pixels: u64::MAX,
                    },
                    None,
                )
                .ok()
                .and_then(|i| i.stretch)
                .map_or(65_535.0, |(_, hi)| f32::from(hi)),
            };
            crate::classify::features::Domain::for_tile(2, white)
        } else {
            crate::classify::features::Domain::for_tile(1, 255.0)
        }
    }

    /// Classifies a ready survey again (e.g. with a new model): its live flags are superseded and
    /// the new ones inserted in one transaction; superseded flags keep their review history.
    /// Returns (flags superseded, flags raised).
    pub fn reclassify(&self, who: &Principal, id: &str) -> Result<(usize, usize)> {
        if !who.role.is_admin() {
            return Err(Error::Forbidden(
                "re-classifying a survey needs the admin role".into(),
            ));
        }
        let s = self.survey(who, id)?;
        if s.row.state != SurveyState::Ready {
            return Err(Error::Conflict(format!(
                "survey {id} is {}; only ready surveys can be classified again",
                s.row.state.code()
            )));
        }
        let meta = s
            .meta
            .clone()
            .ok_or_else(|| Error::Conflict(format!("survey {id} has no tiling record")))?;
        let native = *meta
            .levels
            .iter()
            .find(|l| l.z == meta.native_zoom)
            .ok_or_else(|| Error::Conflict(format!("survey {id} has no native level")))?;
        if let Some(why) = crate::classify::scale::unsupported_reason(meta.gsd_m) {
            return Err(Error::Conflict(format!("survey {id} is {why}")));
        }
        let domain = self.survey_domain(&s);
        let (rows, version) = self
            .flag_plots(
                id,
                native,
                domain,
                s.row.acquired_at.clone(),
                s.row.province_code.clone(),
                &|_, _| {},
                &|| false,
            )
            .map_err(|e| Error::Conflict(format!("survey {id} could not be classified: {e}")))?;
        let now = now_rfc3339();
        let mut meta = meta;
        meta.flags = rows.len() as u64;
        meta.model_version = Some(version.clone());
        let meta_json = serde_json::to_string(&meta).unwrap_or_default();
        let superseded = self.store().write(|tx| {
            let before = crate::store::flags::live_for_survey(tx, id)?.len();
            crate::store::flags::replace_for_survey(tx, id, &rows, &now)?;
            tx.execute(
                "UPDATE surveys SET meta = ?2, updated_at = ?3 WHERE id = ?1",
                rusqlite::params![id, meta_json, now],
            )?;
            audit(
                tx,
                &who.name,
                "reclassify",
                id,
                json!({ "model": version, "flags": rows.len(), "superseded": before }),
            )?;
            Ok::<_, Error>(before)
        })?;
        self.reload_surveys()?;
        Ok((superseded, rows.len()))
    }

    /// The vegetation model: `[classify] model` when set, else the one built into the binary.
    pub fn vegetation_model(
        &self,
    ) -> std::result::Result<Arc<crate::classify::model::Model>, String> {
        let mut slot = self.model.lock();
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let m = match &self.config.classify.model {
            Some(p) => crate::classify::model::Model::load(p).map_err(|e| e.to_string())?,
            None => crate::classify::model::Model::builtin(),
        };
        let m = Arc::new(m);
        *slot = Some(m.clone());
        Ok(m)
    }

    /// The survey index (ready surveys).
    pub fn survey_index(&self) -> Arc<SurveyIndex> {
        self.surveys.read().clone()
    }

    pub(crate) fn load_survey_index(
        store: &store::Store,
    ) -> Result<(SurveyIndex, (i64, Option<String>))> {
        let (rows, fp) =
            store.read(|c| Ok::<_, Error>((ss::ready(c)?, ss::ready_fingerprint(c)?)))?;
        Ok((SurveyIndex::build(rows), fp))
    }

    /// Reloads the survey index if another process finished (or removed) a survey.
    pub fn refresh_surveys_if_changed(&self) -> Result<bool> {
        let fp = self.store().read(ss::ready_fingerprint)?;
        if *self.survey_fingerprint.lock() == fp {
            return Ok(false);
        }
        self.reload_surveys()?;
        Ok(true)
    }

    fn reload_surveys(&self) -> Result<()> {
        let (idx, fp) = Self::load_survey_index(self.store())?;
        *self.surveys.write() = Arc::new(idx);
        *self.survey_fingerprint.lock() = fp;
        Ok(())
    }

    /// Whether `who` may see a survey: admins and national users always, the operator who made
    /// it, and users whose jurisdiction covers where it lies.
    pub fn survey_visible(who: &Principal, s: &SurveyRow) -> bool {
        who.role.is_admin()
            || who.jurisdiction.national
            || s.operator_id == who.user_id
            || who
                .jurisdiction
                .covers(s.province_code.as_deref(), s.commune_code.as_deref())
    }

    /// One survey in any state.
    pub fn survey(&self, who: &Principal, id: &str) -> Result<Survey> {
        if !is_survey_id(id) {
            return Err(not_found(id));
        }
        let row = self
            .store()
            .read(|c| ss::get(c, id))?
            .ok_or_else(|| not_found(id))?;
        if !Self::survey_visible(who, &row) {
            return Err(not_found(id));
        }
        Ok(Survey::from_row(row))
    }

    /// Surveys `who` may see, newest first, in every state.
    pub fn surveys(&self, who: &Principal) -> Result<Vec<Survey>> {
        let rows = self.store().read(ss::list)?;
        Ok(rows
            .into_iter()
            .filter(|r| Self::survey_visible(who, r))
            .map(Survey::from_row)
            .collect())
    }

    /// Queues a survey from a committed upload.
    pub fn create_survey(&self, who: &Principal, new: NewSurvey) -> Result<Survey> {
        if !may_ingest(who.role) {
            return Err(Error::Forbidden(
                "ingesting survey imagery needs the operator or admin role".into(),
            ));
        }
        let upload = self.upload_for_ingest(who, &new.upload)?;
        let bands = new.bands.as_deref().map(parse_bands).transpose()?;
        let acquired = new
            .acquired_at
            .as_deref()
            .map(|s| parse_time("acquired_at", s))
            .transpose()?;
        let name = new
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| upload.filename.clone());
        if name.chars().count() > 200 {
            return Err(Error::Invalid(vec![FieldError::new(
                "name",
                "at most 200 characters",
            )]));
        }
        let path = upload
            .path
            .clone()
            .ok_or_else(|| Error::Conflict(format!("upload {} is not committed yet", upload.id)))?;
        // The cheap checks (GDAL opens it, header, CRS, bands, size, data present) before
        // answering, so a plainly broken file is refused now rather than failing in the queue.
        self.check_survey_file(Path::new(&path), &upload.filename, bands.as_deref())?;
        let now = now_rfc3339();
        let row = SurveyRow {
            upload_id: Some(upload.id.clone()),
            source_sha256: Some(upload.sha256.clone()),
            // Until the survey is located, colleagues of a one-province operator see it there.
            province_code: (who.jurisdiction.provinces.len() == 1 && !who.jurisdiction.national)
                .then(|| who.jurisdiction.provinces.iter().next().cloned())
                .flatten(),
            ..new_row(
                who,
                name,
                upload.filename.clone(),
                path,
                upload.size,
                bands,
                acquired,
                &now,
            )?
        };
        let upload_id = upload.id.clone();
        self.store().write(|tx| {
            if let Some(live) = ss::live_for_upload(tx, &upload_id)? {
                return Err(Error::Conflict(format!(
                    "upload {upload_id} is already survey {} ({})",
                    live.id,
                    live.state.code()
                )));
            }
            ss::insert(tx, &row)?;
            audit(
                tx,
                &who.name,
                "create",
                &row.id,
                json!({ "upload": upload_id, "name": row.name }),
            )?;
            Ok::<_, Error>(())
        })?;
        tracing::info!(survey = %row.id, upload = %upload_id, "survey queued");
        self.jobs.notify();
        self.survey(who, &row.id)
    }

    /// [`raster::check`] on a file about to be queued; the refusal names the uploaded file (the
    /// stored path is the server's business, and is logged).
    fn check_survey_file(
        &self,
        path: &Path,
        filename: &str,
        bands: Option<&[BandRole]>,
    ) -> Result<()> {
        let limits = Limits {
            max_pixels: self.config.ingest.max_pixels,
        };
        raster::check(path, &limits, bands).map_err(|e| {
            tracing::info!(file = %path.display(), code = e.code(), error = %e, "survey file refused");
            // Named as the user named it, not by its stored name.
            let mut message = user_message(&e.to_string(), &[path]);
            if let Some(stored) = path.file_name().map(|n| n.to_string_lossy().to_string()) {
                message = message.replace(&stored, filename);
            }
            if !message.contains(filename) {
                message = format!("{filename}: {message}");
            }
            Error::Rejected {
                code: e.code(),
                message,
            }
        })
    }

    /// Registers local files and tiles them here and now (`vigil ingest`). Returns each survey,
    /// ready or failed.
    pub fn ingest_local(&self, who: &Principal, file: LocalFile, print: bool) -> Result<Survey> {
        let path = std::fs::canonicalize(&file.path).map_err(|e| {
            Error::Invalid(vec![FieldError::new(
                "file",
                format!("{}: {e}", file.path.display()),
            )])
        })?;
        let meta = std::fs::metadata(&path).map_err(|e| Error::Disk {
            context: path.display().to_string(),
            source: e,
        })?;
        let bands = file.bands.as_deref().map(parse_bands).transpose()?;
        let acquired = file
            .acquired_at
            .as_deref()
            .map(|s| parse_time("acquired_at", s))
            .transpose()?;
        let filename = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| "survey".into());
        let now = now_rfc3339();
        let row = SurveyRow {
            state: SurveyState::Running,
            stage: Some("validate".into()),
            attempts: 1,
            started_at: Some(now.clone()),
            ..new_row(
                who,
                file.name.unwrap_or_else(|| filename.clone()),
                filename,
                path.to_string_lossy().to_string(),
                meta.len(),
                bands,
                acquired,
                &now,
            )?
        };
        self.store().write(|tx| {
            // Created running *and* claimed by this process in one transaction: a server's sweep
            // of dead jobs must never see it without its runner.
            ss::insert(tx, &row)?;
            ss::set_runner(tx, &row.id, &this_runner())?;
            audit(
                tx,
                &who.name,
                "create",
                &row.id,
                json!({ "file": row.source_path, "name": row.name }),
            )?;
            Ok::<_, Error>(())
        })?;
        let id = row.id.clone();
        self.run_job(row, print);
        let row = self
            .store()
            .read(|c| ss::get(c, &id))?
            .ok_or_else(|| not_found(&id))?;
        Ok(Survey::from_row(row))
    }

    /// Cancels a queued or running survey (its operator or an admin).
    pub fn cancel_survey(&self, who: &Principal, id: &str) -> Result<Survey> {
        let s = self.survey(who, id)?;
        if !(who.role.is_admin() || (may_ingest(who.role) && s.row.operator_id == who.user_id)) {
            return Err(Error::Forbidden(
                "only the survey's operator or an admin may cancel it".into(),
            ));
        }
        let now = now_rfc3339();
        let state = self.store().write(|tx| {
            let row = ss::get(tx, id)?.ok_or_else(|| not_found(id))?;
            match row.state {
                SurveyState::Queued => {
                    ss::set_finished_without_tiles(
                        tx,
                        id,
                        SurveyState::Cancelled,
                        "cancelled",
                        "cancelled before it started",
                        None,
                        &now,
                    )?;
                }
                SurveyState::Running => ss::request_cancel(tx, id, &now)?,
                s => {
                    return Err(Error::Conflict(format!(
                        "survey {id} is already {}; nothing to cancel",
                        s.code()
                    )));
                }
            }
            audit(
                tx,
                &who.name,
                "cancel",
                id,
                json!({ "state_was": row.state.code() }),
            )?;
            Ok::<_, Error>(row.state)
        })?;
        if state == SurveyState::Running
            && let Some((rid, flag)) = self.jobs.running.lock().as_ref()
            && rid == id
        {
            flag.store(true, Ordering::SeqCst);
        }
        self.survey(who, id)
    }

    /// Re-queues jobs whose process is gone (a crash, a kill, a reboot) and removes their partial
    /// tiles. Jobs of live processes — this one, or a `vigil ingest` running beside the server —
    /// are left alone. Run at start-up and by the worker between jobs.
    pub fn reset_interrupted(&self) -> Result<usize> {
        let rows: Vec<SurveyRow> = self
            .store()
            .read(ss::running)?
            .into_iter()
            .filter(|(_, runner)| !runner.as_deref().is_some_and(runner_alive))
            .map(|(r, _)| r)
            .collect();
        let tiles = self.config.tiles_dir();
        let now = now_rfc3339();
        let mut requeued = 0;
        for r in &rows {
            // Checked again under the write lock, and the partial tiles removed before the row
            // changes: a job that finished or was claimed since the read above is left alone.
            let taken = self.store().write(|tx| {
                match ss::runner_if_running(tx, &r.id)? {
                    Some(runner) if !runner.as_deref().is_some_and(runner_alive) => {}
                    _ => return Ok(false),
                }
                for dir in [
                    tiling::layout::SurveyDir::staging(&tiles, &r.id).root,
                    tiling::layout::SurveyDir::new(&tiles, &r.id).root,
                ] {
                    tiling::remove_dir_if_exists(&dir).map_err(|e| Error::Disk {
                        context: e.to_string(),
                        source: std::io::Error::other("cleanup"),
                    })?;
                }
                if r.attempts >= MAX_ATTEMPTS {
                    ss::set_finished_without_tiles(
                        tx,
                        &r.id,
                        SurveyState::Failed,
                        "internal",
                        &format!("ingest was interrupted {} times; giving up", r.attempts),
                        None,
                        &now,
                    )?;
                } else {
                    ss::requeue(tx, &r.id, &now)?;
                }
                Ok::<_, Error>(true)
            })?;
            if taken {
                requeued += 1;
                tracing::warn!(survey = %r.id, attempts = r.attempts, "re-queued an interrupted ingest");
            }
        }
        Ok(requeued)
    }

    /// The ingest worker loop (`vigil serve` runs it on its own thread until shutdown).
    pub fn run_worker(self: &Arc<Self>) {
        loop {
            if self.jobs.shutdown.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.reset_interrupted() {
                tracing::warn!(error = %e, "cannot re-queue interrupted jobs");
            }
            let now = now_rfc3339();
            let me = this_runner();
            match self.store().write(|tx| ss::claim_next(tx, &now, &me)) {
                Ok(Some(row)) => self.run_job(row, false),
                Ok(None) => {
                    let mut g = self.jobs.lock.lock();
                    self.jobs.wake.wait_for(&mut g, Duration::from_secs(2));
                }
                Err(e) => {
                    tracing::error!(error = %e, "ingest worker cannot claim a job");
                    std::thread::sleep(Duration::from_secs(2));
                }
            }
            if let Err(e) = self.refresh_surveys_if_changed() {
                tracing::warn!(error = %e, "cannot refresh the survey index");
            }
        }
    }

    /// Wakes the worker so it sees the shutdown flag.
    pub fn stop_worker(&self) {
        self.jobs.shutdown.store(true, Ordering::SeqCst);
        self.jobs.notify();
    }

    /// Runs one claimed job to its end state.
    fn run_job(&self, row: SurveyRow, print: bool) {
        let id = row.id.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        *self.jobs.running.lock() = Some((id.clone(), cancel.clone()));
        let t0 = Instant::now();
        let result = self.ingest(&row, cancel.clone(), print);
        *self.jobs.running.lock() = None;
        if print {
            eprintln!();
        }
        let now = now_rfc3339();
        match result {
            Ok(()) => {
                tracing::info!(survey = %id, secs = t0.elapsed().as_secs_f64(), "survey ready");
            }
            Err(TilingError::Cancelled) if !cancel.load(Ordering::SeqCst) => {
                // Shutdown, not a user's cancel: leave it for the next start.
                let _ = self.store().write(|tx| ss::requeue(tx, &id, &now));
                tracing::info!(survey = %id, "ingest stopped by shutdown; re-queued");
            }
            Err(e) => {
                let (state, code) = match &e {
                    TilingError::Cancelled => (SurveyState::Cancelled, "cancelled"),
                    other => (SurveyState::Failed, other.code()),
                };
                // What the operator reads names the file, never the server's paths; an internal
                // error says only that (the log has the details).
                let message = match &e {
                    TilingError::Cancelled => "cancelled by request".to_string(),
                    TilingError::Io(_) => format!(
                        "an internal error stopped the ingest of {}; the server log has the details",
                        row.filename
                    ),
                    other => user_message(
                        &other.to_string(),
                        &[Path::new(&row.source_path), &self.config.tiles_dir()],
                    ),
                };
                if code == "internal" {
                    tracing::error!(survey = %id, error = %e, "ingest failed");
                }
                let res = self.store().write(|tx| {
                    ss::set_finished_without_tiles(tx, &id, state, code, &message, None, &now)?;
                    audit(
                        tx,
                        "system",
                        state.code(),
                        &id,
                        json!({ "code": code, "message": message }),
                    )
                });
                if let Err(err) = res {
                    tracing::error!(survey = %id, error = %err, "cannot record a failed ingest");
                }
                tracing::warn!(survey = %id, code, "{message}");
            }
        }
    }

    fn ingest(
        &self,
        row: &SurveyRow,
        cancel: Arc<AtomicBool>,
        print: bool,
    ) -> std::result::Result<(), TilingError> {
        let obs = JobObserver {
            vigil: self,
            id: &row.id,
            cancel,
            last: Mutex::new((Instant::now(), 0.0, None)),
            last_db_check: Mutex::new(Instant::now()),
            print,
        };
        obs.record(0.0, "validate", true);
        tiling::configure_gdal(self.config.ingest.gdal_cache_mib);
        let t_validate = Instant::now();
        let bands: Option<Vec<BandRole>> = row
            .bands_override
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok());
        let info = raster::inspect(
            Path::new(&row.source_path),
            &Limits {
                max_pixels: self.config.ingest.max_pixels,
            },
            bands.as_deref(),
        )?;
        // Where it is, and whether the uploader may put it there.
        let loc = self.boundaries().locate(info.center[0], info.center[1]);
        let owner: Jurisdiction = serde_json::from_str(&row.jurisdiction).unwrap_or_default();
        let (province, commune) = match (&loc.province, owner.national) {
            (Some(p), false) if !owner.covers(Some(p), loc.commune.as_deref()) => {
                return Err(TilingError::OutsideJurisdiction(format!(
                    "the survey's centre ({:.5}, {:.5}) lies in province {p}, outside the uploader's jurisdiction",
                    info.center[0], info.center[1]
                )));
            }
            (Some(_), _) => (loc.province.clone(), loc.commune.clone()),
            (None, _) if owner.provinces.len() == 1 => {
                (owner.provinces.iter().next().cloned(), None)
            }
            (None, _) => (None, None),
        };
        let validate_s = t_validate.elapsed().as_secs_f64();
        obs.record(5.0, "tile", true);
        let opts = tiling::Options {
            tiles_dir: self.config.tiles_dir(),
            format: self.config.tiles.format,
            threads: self.config.ingest_threads(),
        };
        let out = tiling::run(&info, &row.id, &opts, &obs)?;
        let (acquired_at, acquired_from) = match (&row.acquired_at, &info.acquired_at) {
            (Some(a), _) => (
                a.clone(),
                row.acquired_from
                    .clone()
                    .unwrap_or_else(|| "request".into()),
            ),
            (None, Some(m)) => (m.clone(), "metadata".into()),
            (None, None) => (row.created_at.clone(), "upload".into()),
        };
        // Classify: flagged plots, stored with the survey in one transaction below.
        let t_classify = Instant::now();
        let skipped = crate::classify::scale::unsupported_reason(info.gsd_m);
        let (flag_rows, model_version) = if self.config.classify.enabled && skipped.is_none() {
            obs.record(78.0, "classify", true);
            let native = *out.plan.level(out.plan.native_zoom).expect("native level");
            let res = self.flag_plots(
                &row.id,
                native,
                crate::classify::train::domain_for(&info),
                Some(acquired_at.clone()),
                province.clone(),
                &|d, t| obs.classify_progress(d, t),
                &|| tiling::Observer::cancelled(&obs),
            );
            match res {
                Ok((rows, version)) => (rows, Some(version)),
                Err(e) => {
                    let _ = tiling::remove_dir_if_exists(
                        &tiling::layout::SurveyDir::new(&opts.tiles_dir, &row.id).root,
                    );
                    return Err(e);
                }
            }
        } else {
            (Vec::new(), None)
        };
        let classify_s = t_classify.elapsed().as_secs_f64();
        obs.record(99.0, "index", true);
        let t_index = Instant::now();
        let mut timings = vec![("validate".to_string(), validate_s)];
        timings.extend(out.timings.iter().map(|(s, t)| (s.code().to_string(), *t)));
        if model_version.is_some() {
            timings.push(("classify".to_string(), classify_s));
        }
        let meta = SurveyMeta {
            driver: info.driver.clone(),
            width: info.width,
            height: info.height,
            sample_bits: (info.sample.bytes() * 8) as u8,
            bands: info.roles.iter().map(|(r, _)| *r).collect(),
            crs: info.crs_name.clone(),
            epsg: info.epsg,
            gsd_m: info.gsd_m,
            native_zoom: out.plan.native_zoom,
            min_zoom: out.plan.min_zoom,
            levels: out.plan.levels.clone(),
            format: opts.format.extension().to_string(),
            display_tiles: out.display_tiles,
            analysis_tiles: out.analysis_tiles,
            bytes: out.bytes,
            timings: timings.clone(),
            stretch: info.stretch,
            flags: flag_rows.len() as u64,
            model_version: model_version.clone(),
            classification_skipped: if self.config.classify.enabled {
                skipped
            } else {
                None
            },
        };
        let footprint = geojson::Geometry::from(&out.footprint);
        let bbox = footprint_bbox(&out.footprint).unwrap_or(info.bbox);
        let now = now_rfc3339();
        let mut meta_final = meta;
        meta_final
            .timings
            .push(("index".into(), t_index.elapsed().as_secs_f64()));
        let meta_json = serde_json::to_string(&meta_final).unwrap_or_default();
        let fp_json = footprint.to_string();
        let res = self.store().write_then(
            |tx| {
                if ss::get(tx, &row.id)?.is_some_and(|r| r.cancel_requested) {
                    return Err(Error::Conflict("cancelled".into()));
                }
                ss::set_ready(
                    tx,
                    &row.id,
                    &Finished {
                        meta: &meta_json,
                        footprint: &fp_json,
                        bbox,
                        province_code: province.as_deref(),
                        commune_code: commune.as_deref(),
                        acquired_at: &acquired_at,
                        acquired_from: &acquired_from,
                    },
                    &now,
                )?;
                crate::store::flags::replace_for_survey(tx, &row.id, &flag_rows, &now)?;
                audit(
                    tx,
                    "system",
                    "ready",
                    &row.id,
                    json!({ "tiles": out.display_tiles, "native_zoom": out.plan.native_zoom, "province": province, "flags": flag_rows.len(), "model": model_version }),
                )?;
                Ok::<_, Error>(())
            },
            |_| {},
        );
        match res {
            Ok(()) => {}
            Err(Error::Conflict(_)) => {
                let _ = tiling::remove_dir_if_exists(
                    &tiling::layout::SurveyDir::new(&opts.tiles_dir, &row.id).root,
                );
                return Err(TilingError::Cancelled);
            }
            Err(e) => {
                let _ = tiling::remove_dir_if_exists(
                    &tiling::layout::SurveyDir::new(&opts.tiles_dir, &row.id).root,
                );
                return Err(TilingError::Io(format!("recording the survey: {e}")));
            }
        }
        if let Err(e) = self.reload_surveys() {
            tracing::error!(error = %e, "cannot reload the survey index");
        }
        Ok(())
    }
}

/// This process as a job runner: `pid@boot-id` (the boot id tells a pid reused after a reboot).
fn this_runner() -> String {
    format!("{}@{}", std::process::id(), boot_id())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Whether the process named by a runner string is still running on this machine.
fn runner_alive(runner: &str) -> bool {
    let Some((pid, boot)) = runner.split_once('@') else {
        return false;
    };
    if boot != boot_id() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid == std::process::id() {
        return true;
    }
    // A zombie (killed, not yet reaped) is not running, and a pid reused by another program is
    // not ours.
    let running = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    };
    running
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("vigil"))
}

fn footprint_bbox(mp: &geo::MultiPolygon<f64>) -> Option<[f64; 4]> {
    use geo::BoundingRect;
    mp.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn running_row(v: &Vigil, runner: &str) -> String {
        let now = now_rfc3339();
        let row = SurveyRow {
            state: SurveyState::Running,
            attempts: 1,
            started_at: Some(now.clone()),
            ..new_row(
                &Principal::cli(),
                "t".into(),
                "t.tif".into(),
                "/nonexistent.tif".into(),
                1,
                None,
                None,
                &now,
            )
            .unwrap()
        };
        let id = row.id.clone();
        v.store()
            .write(|tx| {
                ss::insert(tx, &row)?;
                ss::set_runner(tx, &id, runner)
            })
            .unwrap();
        id
    }

    #[test]
    fn only_jobs_of_dead_processes_are_requeued() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vigil::open(Config::for_tests(dir.path())).unwrap();
        let alive = running_row(&v, &this_runner());
        // A pid that cannot exist, and a runner from another boot.
        let dead = running_row(&v, &format!("{}@{}", u32::MAX - 1, boot_id()));
        let rebooted = running_row(&v, &format!("{}@not-this-boot", std::process::id()));
        let partial = tiling::layout::SurveyDir::staging(&v.config.tiles_dir(), &dead).root;
        std::fs::create_dir_all(&partial).unwrap();
        assert_eq!(v.reset_interrupted().unwrap(), 2);
        let state = |id: &str| v.store().read(|c| ss::get(c, id)).unwrap().unwrap().state;
        assert_eq!(state(&alive), SurveyState::Running);
        assert_eq!(state(&dead), SurveyState::Queued);
        assert_eq!(state(&rebooted), SurveyState::Queued);
        assert!(!partial.exists(), "the partial tiles are removed");
    }
}
