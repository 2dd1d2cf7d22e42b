//! Scoring the classifier on labelled scenes (`vigil eval`, the cross-generator tests): a scene
//! goes through the real ingest — validation, tiling, classification, flags in the store — and
//! its flags are scored against its truth ([`crate::classify::eval`]). A scene without truth is
//! a photograph of land with no poppy or cannabis: every flag on it is false.

use std::path::Path;

use crate::auth::Principal;
use crate::classify::eval::{self, Plot, Report, SceneScore};
use crate::service::surveys::LocalFile;
use crate::service::{Result, Vigil, invalid};
use crate::store::surveys::SurveyState;

/// One scene's evaluation.
#[derive(Debug, Clone)]
pub struct SceneEvaluation {
    pub score: SceneScore,
    /// The object-level report (`None` when the classifier did not run).
    pub report: Option<Report>,
    pub classify_s: f64,
    pub model_version: Option<String>,
}

impl Vigil {
    /// Ingests `scene` and scores its flags against `truth` (GeoJSON as `vigil sample-imagery`
    /// writes it), or, without truth, counts every flag as false. The survey stays in this
    /// store; use a scratch data directory.
    pub fn evaluate_scene(
        &self,
        scene: &Path,
        truth: Option<&Path>,
        iou: f64,
    ) -> Result<SceneEvaluation> {
        let (truth_plots, generator, condition) = match truth {
            Some(t) => {
                let text = std::fs::read_to_string(t)
                    .map_err(|e| invalid("scene", format!("cannot read {}: {e}", t.display())))?;
                let plots = eval::truth_from_geojson(&text)
                    .map_err(|e| invalid("scene", format!("{}: {e}", t.display())))?;
                let (g, c) = eval::scene_condition(&text);
                (plots, g, c)
            }
            None => (Vec::new(), "real".to_string(), "photograph".to_string()),
        };
        let s = self.ingest_local(
            &Principal::cli(),
            LocalFile {
                path: scene.to_path_buf(),
                name: None,
                acquired_at: None,
                bands: None,
            },
            false,
        )?;
        if s.row.state != SurveyState::Ready {
            return Err(invalid(
                "scene",
                format!(
                    "{} was not ingested: {}",
                    scene.display(),
                    s.row.error.clone().unwrap_or_default()
                ),
            ));
        }
        let flags = self
            .store()
            .read(|c| crate::store::flags::live_for_survey(c, &s.row.id))?;
        let mut predicted = Vec::new();
        for f in &flags {
            if f.geometry.0.is_empty() {
                return Err(invalid(
                    "scene",
                    format!("flag {} has no readable outline", f.id),
                ));
            }
            predicted.push(Plot::flag(&f.class, f.confidence, f.geometry.clone()));
        }
        let area_ha = {
            use geo::GeodesicArea;
            let fp: geojson::Geometry = s
                .footprint()
                .and_then(|v| serde_json::from_value(v).ok())
                .ok_or_else(|| invalid("scene", format!("{} has no footprint", scene.display())))?;
            let fp: geo::Geometry<f64> = fp
                .try_into()
                .map_err(|e| invalid("scene", format!("footprint: {e}")))?;
            fp.geodesic_area_unsigned() / 10_000.0
        };
        let meta = s.meta.as_ref();
        let name = scene.file_name().map_or_else(
            || scene.display().to_string(),
            |f| f.to_string_lossy().into(),
        );
        let classify_s = meta
            .and_then(|m| m.timings.iter().find(|t| t.0 == "classify").map(|t| t.1))
            .unwrap_or(0.0);
        let skipped = meta.and_then(|m| m.classification_skipped.clone());
        let report = eval::evaluate(&predicted, &truth_plots, area_ha.max(1e-9), iou)
            .map_err(|e| invalid("scene", e))?;
        let mut score = SceneScore::new(
            &name,
            &generator,
            &condition,
            &report,
            &predicted,
            &truth_plots,
        );
        score.skipped = skipped.clone();
        Ok(SceneEvaluation {
            score,
            report: skipped.is_none().then_some(report),
            classify_s,
            model_version: meta.and_then(|m| m.model_version.clone()),
        })
    }
}
