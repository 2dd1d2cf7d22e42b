//! The survey catalogue: who may see which survey, listing, queuing from an upload, cancelling.

use std::path::Path;
use std::sync::atomic::Ordering;

use serde_json::json;

use crate::auth::Principal;
use crate::hotspots::model::FieldError;
use crate::ingest::raster::{self, Limits, Role as BandRole};
use crate::redact::user_message;
use crate::service::{Error, Result, Vigil};
use crate::store::surveys::{self as ss, SurveyRow, SurveyState};
use crate::time_util::now_rfc3339;

use super::*;
impl Vigil {
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
        self.index_before_telling_ready(std::slice::from_ref(&row))?;
        Ok(Survey::from_row(row))
    }

    /// Surveys `who` may see, newest first, in every state.
    pub fn surveys(&self, who: &Principal) -> Result<Vec<Survey>> {
        let rows: Vec<SurveyRow> = self
            .store()
            .read(ss::list)?
            .into_iter()
            .filter(|r| Self::survey_visible(who, r))
            .collect();
        self.index_before_telling_ready(&rows)?;
        Ok(rows.into_iter().map(Survey::from_row).collect())
    }

    /// A survey becomes `ready` in the store a moment before the in-memory index (STAC, the
    /// mosaic, tiles, `/collections/surveys`) reloads — and another process's ingest is only seen
    /// at the worker's next refresh. So a caller told `ready` could ask the index at once and miss
    /// the survey. Before telling anyone a survey is ready, make sure the index holds it.
    fn index_before_telling_ready(&self, rows: &[SurveyRow]) -> Result<()> {
        let idx = self.survey_index();
        if rows
            .iter()
            .any(|r| r.state == SurveyState::Ready && idx.get(&r.id).is_none())
        {
            self.reload_surveys()?;
        }
        Ok(())
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
        // (Committed through another node: fetched from object storage first.)
        let local = self.local_source(Some(&upload.id), &path)?;
        let info = self.check_survey_file(&local, &upload.filename, bands.as_deref())?;
        // Refused now rather than failing in the queue: outside the uploader's jurisdiction, or
        // outside every province for a province user.
        self.place_survey(&who.jurisdiction, info.center)
            .map_err(|(code, message)| Error::Rejected {
                code,
                message: format!("{}: {message}", upload.filename),
            })?;
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
    ) -> Result<raster::SourceInfo> {
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
}
