//! The ingest pipeline of one survey: validate, tile, footprint, classify, flag, index — and
//! classifying a ready survey again.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;

use crate::auth::{Jurisdiction, Principal};
use crate::hotspots::model::FieldError;
use crate::ingest::raster::{self, Limits, Role as BandRole};
use crate::service::{Error, Result, Vigil};
use crate::store::surveys::{self as ss, Finished, SurveyRow, SurveyState};
use crate::tiling::{self, LevelRange, Stage, TilingError};
use crate::time_util::now_rfc3339;

use super::*;
/// Reports tiling progress into the row (throttled) and relays cancel requests.
struct JobObserver<'a> {
    vigil: &'a Vigil,
    id: &'a str,
    /// The attempt this process runs (the row's `attempts` when it claimed the job).
    attempt: i64,
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
            .write(|tx| ss::set_progress(tx, self.id, self.attempt, percent, stage, &now));
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
        .map_err(|e| TilingError::Classify(format!("the survey could not be classified: {e}")))?
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
                    geometry: p.geometry.clone(),
                    bbox: [r.min().x, r.min().y, r.max().x, r.max().y],
                    point: pt,
                    province_code: loc.province.or_else(|| fallback_province.clone()),
                    commune_code: loc.commune,
                    acquired_at: acquired.clone(),
                    model_version: model.version.clone(),
                    drivers: p
                        .drivers
                        .iter()
                        .map(|(n, z)| (n.clone(), as_written(*z)))
                        .collect(),
                    created_at: String::new(),
                    replanting_of: None,
                    near_hotspots: Vec::new(),
                    probabilities: crate::classify::model::CLASSES
                        .iter()
                        .zip(p.probabilities)
                        .map(|(c, v)| (c.to_string(), short(v, 1000.0)))
                        .collect(),
                    version: 1,
                    priority: None,
                    status_at: None,
                    superseded_at: None,
                }
            })
            .collect::<Vec<_>>();
        let rows = self
            .link_flags(survey, &found, rows)
            .map_err(|e| TilingError::Store(format!("linking flags to earlier plots: {e}")))?;
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
            r.replanting_of = earlier
                .iter()
                .find(|e| e.geometry.intersects(&p.geometry))
                .map(|e| e.id);
            if radius > 0.0 {
                let near = self.hotspots_near(r.point[0], r.point[1], radius, 20);
                r.near_hotspots = near;
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
        // The analysis tiles are read from the local directory (restored first if need be).
        self.survey_dir(id, &meta.format, &meta.archive_key(id))?;
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
                crate::store::sql::params![id, meta_json, now],
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
            ss::set_runner(tx, &row.id, &this_runner(), worker::lease_until())?;
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

    pub(super) fn ingest(
        &self,
        row: &SurveyRow,
        cancel: Arc<AtomicBool>,
        print: bool,
    ) -> std::result::Result<(), TilingError> {
        let obs = JobObserver {
            vigil: self,
            id: &row.id,
            attempt: row.attempts,
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
        // A survey committed through another node: its file is fetched from object storage.
        let source = self
            .local_source(row.upload_id.as_deref(), &row.source_path)
            .map_err(|e| TilingError::Io(format!("the source file of {}: {e}", row.filename)))?;
        let info = raster::inspect(
            &source,
            &Limits {
                max_pixels: self.config.ingest.max_pixels,
            },
            bands.as_deref(),
        )?;
        // Where it is, and whether the uploader may put it there.
        let owner: Jurisdiction = serde_json::from_str(&row.jurisdiction).unwrap_or_default();
        let place =
            self.place_survey(&owner, info.center)
                .map_err(|(code, message)| match code {
                    OUTSIDE_PROVINCES => TilingError::OutsideProvinces(message),
                    _ => TilingError::OutsideJurisdiction(message),
                })?;
        let (province, commune) = (place.province, place.commune);
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
        // Published before the store calls the survey ready, so any node that sees it ready can
        // read its tiles; into this attempt's own folder, so an attempt that has lost the job
        // (see `ss::holds`) never overwrites what another attempt made ready.
        let mut publish_s = None;
        let archive = crate::storage::archive_key(&row.id, row.attempts);
        if let Some(objects) = self.objects() {
            obs.record(98.0, "index", true);
            let t_publish = Instant::now();
            let dir = tiling::layout::SurveyDir::new(&opts.tiles_dir, &row.id);
            match objects.publish(&archive, &dir.root, opts.format.extension()) {
                Ok(p) => {
                    tracing::info!(survey = %row.id, tiles = p.display_tiles, analysis = p.analysis_tiles, bytes = p.bytes, pack_s = p.pack_s, upload_s = p.upload_s, "published to object storage");
                    publish_s = Some(t_publish.elapsed().as_secs_f64());
                }
                Err(e) => {
                    let _ = tiling::remove_dir_if_exists(&dir.root);
                    let _ = objects.remove(&archive);
                    return Err(TilingError::Io(format!(
                        "publishing the tiles to object storage: {e}"
                    )));
                }
            }
        }
        obs.record(99.0, "index", true);
        let t_index = Instant::now();
        let mut timings = vec![("validate".to_string(), validate_s)];
        timings.extend(out.timings.iter().map(|(s, t)| (s.code().to_string(), *t)));
        if model_version.is_some() {
            timings.push(("classify".to_string(), classify_s));
        }
        if let Some(t) = publish_s {
            timings.push(("publish".to_string(), t));
        }
        let meta = SurveyMeta {
            driver: info.driver.clone(),
            width: info.width,
            height: info.height,
            sample_bits: (info.sample.bytes() * 8) as u8,
            bands: info.roles.iter().map(|(r, _)| *r).collect(),
            band_numbers: info.roles.iter().map(|(_, n)| *n).collect(),
            warnings: place.warning.into_iter().collect(),
            geotransform: Some(info.geotransform),
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
            archive: self.objects().map(|_| archive.clone()),
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
        let me = worker::this_runner();
        let res = self.store().write_then(
            |tx| {
                if !ss::holds(tx, &row.id, &me, row.attempts)? {
                    return Err(Error::Conflict("the job was taken over".into()));
                }
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
                if let Some(o) = self.objects() {
                    let _ = o.remove(&archive);
                }
                return Err(TilingError::Cancelled);
            }
            Err(e) => {
                let _ = tiling::remove_dir_if_exists(
                    &tiling::layout::SurveyDir::new(&opts.tiles_dir, &row.id).root,
                );
                if let Some(o) = self.objects() {
                    let _ = o.remove(&archive);
                }
                return Err(TilingError::Store(format!("recording the survey: {e}")));
            }
        }
        if let Err(e) = self.reload_surveys() {
            tracing::error!(error = %e, "cannot reload the survey index");
        }
        Ok(())
    }
}

fn footprint_bbox(mp: &geo::MultiPolygon<f64>) -> Option<[f64; 4]> {
    use geo::BoundingRect;
    mp.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// `v` rounded to `1/scale`, as the flag's figures are shown.
fn short(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

/// An `f32` as the `f64` its shortest decimal form reads back to (1.2345678, not
/// 1.2345678310394287), so stored and served figures look as the classifier wrote them.
fn as_written(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// The refusal code for a survey outside every imported province (`Error::Rejected`, the failed
/// survey's `error.code`).
pub const OUTSIDE_PROVINCES: &str = "outside_provinces";

/// Where a survey lies, and what its uploader should know about that.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub province: Option<String>,
    pub commune: Option<String>,
    pub warning: Option<String>,
}

impl Vigil {
    /// Where a survey centred at `center` (lon/lat) belongs, for an uploader with `owner`'s
    /// jurisdiction. Inside a province the uploader must cover it; outside every imported
    /// province only a national user may put a survey (it is kept with a warning, e.g. a test
    /// flight abroad), and a province user is refused with [`OUTSIDE_PROVINCES`]. With no
    /// boundaries imported the place cannot be checked: kept, with a warning.
    pub(crate) fn place_survey(
        &self,
        owner: &Jurisdiction,
        center: [f64; 2],
    ) -> std::result::Result<Placement, (&'static str, String)> {
        let [lon, lat] = center;
        let boundaries = self.boundaries();
        let loc = boundaries.locate(lon, lat);
        match &loc.province {
            Some(p) if !owner.national && !owner.covers(Some(p), loc.commune.as_deref()) => Err((
                "outside_jurisdiction",
                format!(
                    "the survey's centre ({lon:.5}, {lat:.5}) lies in province {p}, outside the uploader's jurisdiction"
                ),
            )),
            Some(_) => Ok(Placement {
                province: loc.province.clone(),
                commune: loc.commune.clone(),
                warning: None,
            }),
            None if boundaries.is_empty() => Ok(Placement {
                province: (owner.provinces.len() == 1 && !owner.national)
                    .then(|| owner.provinces.iter().next().cloned())
                    .flatten(),
                commune: None,
                warning: Some(
                    "no province boundaries are imported, so where the survey lies was not checked"
                        .into(),
                ),
            }),
            None if owner.national => Ok(Placement {
                warning: Some(format!(
                    "the survey's centre ({lon:.5}, {lat:.5}) lies outside every imported province; kept because the uploader's jurisdiction is national"
                )),
                ..Placement::default()
            }),
            None => Err((
                OUTSIDE_PROVINCES,
                format!(
                    "the survey's centre ({lon:.5}, {lat:.5}) lies outside every imported province; only a user with a national jurisdiction may ingest imagery from there"
                ),
            )),
        }
    }
}
