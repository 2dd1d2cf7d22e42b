//! Province models: the classifier learning from a province's own reviewers.
//!
//! Every reviewed flag of a province — confirmed poppy or cannabis (and later verified or
//! eradicated), or rejected as a false positive — teaches the classifier's cells inside its
//! outline ([`Vigil::feedback_samples_in`]). `vigil learn --province CODE` fine-tunes the model in
//! use on those cells ([`crate::classify::train::fine_tune`]: the base's weights are the start
//! and the anchor, so thirty plots adjust it without erasing it) and writes
//! `DATA_DIR/models/province-CODE.json`. From then on, surveys whose centre lies in that
//! province are classified with it; every other survey, and any province without a file, uses
//! the base model (`[classify] model`, else the built-in one). Flags record the model version
//! that raised them (`BASE+province-CODE-DATE`). Deleting the file returns the province to the
//! base model.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::auth::{Principal, Role};
use crate::classify::model::Model;
use crate::classify::train::{self, FitOptions, Sample};
use crate::hotspots::model::FieldError;
use crate::service::{Error, Result, Vigil};
use crate::store::{self, NewAudit};

/// What `vigil learn` did.
#[derive(Debug, Clone, Serialize)]
pub struct LearnReport {
    pub province: String,
    pub path: PathBuf,
    pub version: String,
    pub base_version: String,
    /// Reviewed flags and their cells used for training / held out (every 4th flag).
    pub flags: usize,
    pub cells: usize,
    pub held_out_cells: usize,
    /// Share of held-out cells right, base model and province model (`None` without held-out
    /// cells).
    pub base_accuracy: Option<f64>,
    pub province_accuracy: Option<f64>,
    pub seconds: f64,
}

/// Fine-tuning options for province models: few epochs, a strong pull to the base.
pub fn province_fit_options() -> FitOptions {
    FitOptions {
        epochs: 30,
        batch: 64,
        learning_rate: 0.003,
        seed: 1,
        ..FitOptions::default()
    }
}

/// Anchor of the fine-tuning (L2 towards the base weights).
pub const ANCHOR: f32 = 0.01;

/// A base model fine-tuned on reviewed cells: each head on the cells it reads.
pub fn fine_tune_model(base: &Model, cells: &[Sample], version: &str) -> Model {
    let o = province_fit_options();
    let heads = base
        .heads
        .iter()
        .map(|h| {
            let mine: Vec<Sample> = cells
                .iter()
                .filter(|s| h.bands == "rgb" || s.nir)
                .copied()
                .collect();
            if mine.is_empty() {
                h.clone()
            } else {
                train::fine_tune(&mine, h, &o, ANCHOR)
            }
        })
        .collect();
    Model {
        version: version.to_string(),
        trained_at: crate::time_util::now_rfc3339(),
        heads,
        ..base.clone()
    }
}

/// The cells `n` reviewed plots would teach, drawn from `plots` (seeded): half of them plots
/// reviewers confirmed (poppy or cannabis), half plots they rejected (look-alikes, soil), as a
/// province's first weeks of review would give. Every plot's cells are capped, so one big field
/// does not outweigh the rest.
pub fn reviewed_sample(plots: &[train::PlotCells], n: usize, seed: u64) -> Vec<Sample> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut targets, mut others): (Vec<&train::PlotCells>, Vec<&train::PlotCells>) =
        plots.iter().partition(|p| p.class < 2);
    targets.shuffle(&mut rng);
    others.shuffle(&mut rng);
    let n_targets = n.div_ceil(2).min(targets.len());
    let n_others = (n - n_targets).min(others.len());
    targets
        .into_iter()
        .take(n_targets)
        .chain(others.into_iter().take(n_others))
        .flat_map(|p| {
            let mut c = p.cells.clone();
            c.shuffle(&mut rng);
            c.truncate(400);
            c
        })
        .collect()
}

impl Vigil {
    /// Every reviewed flag's cells for `vigil train --feedback`, split by flag: every 4th flag
    /// (by id, once there are at least 4) is held out to report the effect against the model in
    /// use here, which is returned as the baseline.
    pub fn training_feedback(&self) -> Result<train::Feedback> {
        let cells = self.feedback_samples()?;
        let flags: std::collections::BTreeSet<i64> = cells.iter().map(|c| c.flag).collect();
        let (held, fit): (Vec<&crate::service::review::FeedbackSample>, Vec<_>) = cells
            .iter()
            .partition(|c| flags.len() >= 4 && c.flag % 4 == 0);
        Ok(train::Feedback {
            train: fit.iter().map(|c| c.sample).collect(),
            held: held.iter().map(|c| c.sample).collect(),
            flags: flags.len(),
            previous: Some(
                self.vegetation_model()
                    .map_err(Error::Conflict)?
                    .as_ref()
                    .clone(),
            ),
        })
    }

    /// Where a province's model lives.
    pub fn province_model_path(&self, province: &str) -> PathBuf {
        self.config
            .server
            .data_dir
            .join("models")
            .join(format!("province-{province}.json"))
    }

    /// The model that classifies a survey in `province`: the province's own when it has one,
    /// else the base model. With object storage the province's model is read from the bucket
    /// (whichever node trained it last; this node's file is the fallback while the bucket does
    /// not answer, or for a model trained before the bucket was configured).
    pub fn vegetation_model_for(
        &self,
        province: Option<&str>,
    ) -> std::result::Result<Arc<Model>, String> {
        if let Some(p) = province.filter(|p| is_code(p)) {
            if let Some(o) = self.objects() {
                let key = province_model_key(p);
                match o.get_named(&key) {
                    Ok(Some(bytes)) => {
                        let text = String::from_utf8(bytes)
                            .map_err(|_| format!("{key} on object storage is not UTF-8"))?;
                        return Model::from_json(&text, &key)
                            .map(Arc::new)
                            .map_err(|e| e.to_string());
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(province = p, error = %e, "cannot read the province model from object storage; using this node's copy if any")
                    }
                }
            }
            let path = self.province_model_path(p);
            if path.exists() {
                return Model::load(&path).map(Arc::new).map_err(|e| e.to_string());
            }
        }
        self.vegetation_model()
    }

    /// Trains and installs a province's model from its reviewed flags. Admins, or analysts of
    /// that province.
    pub fn learn_province(&self, who: &Principal, province: &str) -> Result<LearnReport> {
        let started = std::time::Instant::now();
        if !is_code(province) {
            return Err(Error::Invalid(vec![FieldError::new(
                "province",
                format!("{province:?} is not a province code"),
            )]));
        }
        let allowed = who.role == Role::Admin
            || (who.role == Role::Analyst && who.jurisdiction.covers(Some(province), None));
        if !allowed {
            return Err(Error::Forbidden(format!(
                "training province {province}'s model needs the admin role or an analyst of the province"
            )));
        }
        let cells = self.feedback_samples_in(Some(province))?;
        let flags: std::collections::BTreeSet<i64> = cells.iter().map(|c| c.flag).collect();
        if flags.len() < 3 {
            return Err(Error::Conflict(format!(
                "province {province} has {} reviewed flag(s) with imagery; at least 3 are needed",
                flags.len()
            )));
        }
        let held_flag = |f: i64| flags.len() >= 8 && f % 4 == 0;
        let (held, fit): (Vec<&crate::service::review::FeedbackSample>, Vec<_>) =
            cells.iter().partition(|c| held_flag(c.flag));
        let fit: Vec<Sample> = fit.iter().map(|c| c.sample).collect();
        let held: Vec<Sample> = held.iter().map(|c| c.sample).collect();
        let base = self.vegetation_model().map_err(Error::Conflict)?;
        let date = &crate::time_util::now_rfc3339()[..10];
        let version = format!("{}+province-{province}-{date}", base.version);
        let mut model = fine_tune_model(&base, &fit, &version);
        let accuracy = |m: &Model| -> Option<f64> {
            if held.is_empty() {
                return None;
            }
            let right = held
                .iter()
                .filter(|s| {
                    let h = m.head(s.nir);
                    let mut scratch = vec![0f32; crate::classify::model::expanded_len(h.n_inputs)];
                    let p = h.predict(&s.x, &mut scratch);
                    let best = (0..p.len()).max_by(|a, b| p[*a].total_cmp(&p[*b]));
                    best == Some(s.class as usize)
                })
                .count();
            Some(right as f64 / held.len() as f64)
        };
        let report = LearnReport {
            province: province.to_string(),
            path: self.province_model_path(province),
            version: version.clone(),
            base_version: base.version.clone(),
            flags: flags.len(),
            cells: fit.len(),
            held_out_cells: held.len(),
            base_accuracy: accuracy(&base),
            province_accuracy: accuracy(&model),
            seconds: started.elapsed().as_secs_f64(),
        };
        model.training = serde_json::json!({
            "province": province,
            "base": base.version,
            "reviewed_flags": report.flags,
            "cells": report.cells,
            "held_out_cells": report.held_out_cells,
            "base_accuracy": report.base_accuracy,
            "province_accuracy": report.province_accuracy,
        });
        // Written whole, then renamed: a survey classified meanwhile reads the old or the new.
        model.save(&report.path).map_err(|e| Error::Disk {
            context: format!("province model {province}"),
            source: e,
        })?;
        // Every node classifies the province's next surveys with it.
        if let Some(o) = self.objects() {
            o.put_named(&province_model_key(province), &report.path)
                .map_err(|e| Error::storage(format!("sharing province {province}'s model"), e))?;
        }
        let now = crate::time_util::now_rfc3339();
        let after = serde_json::to_value(&report).unwrap_or_default();
        self.store().write(|tx| {
            store::audit::append(
                tx,
                &NewAudit {
                    actor: &who.name,
                    action: "train",
                    entity: "province_model",
                    entity_id: Some(province.to_string()),
                    before: None,
                    after: Some(after),
                },
                &now,
            )
        })?;
        Ok(report)
    }
}

/// A province's model on object storage (under the configured prefix).
pub(crate) fn province_model_key(province: &str) -> String {
    format!("models/province-{province}.json")
}

/// Province codes are short runs of digits (`08`, `15`, …): they name a file.
fn is_code(p: &str) -> bool {
    !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric())
}
