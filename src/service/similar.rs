//! "More like this": once a reviewer confirms a plot, the survey's other flags are re-scored by
//! how much their cells look like that plot's — in the classifier's own feature space, after the
//! survey's photometric correction — so the ones most like a confirmed poppy or cannabis field are
//! reviewed next.
//!
//! Each flag is the mean of its cells' features; every feature is standardised over all the
//! survey's flag cells (so no feature dominates by its units, and a feature constant in this
//! survey — NIR in an RGB flight — drops out); the similarity of two flags is
//! `exp(−d² / D)` for the squared distance `d²` between their means over the `D` features used:
//! 1 for identical plots, about 0.37 one standard deviation apart on every feature.

use serde::Serialize;

use crate::auth::Principal;
use crate::classify::features::N_FEATURES;
use crate::service::flags::{FlagRow, visible};
use crate::service::review::{CellFeatures, flag_cells, outline};
use crate::service::{Error, Result, Vigil};

/// A flag of the same survey and how much it looks like the anchor.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarFlag {
    pub id: i64,
    pub class: String,
    pub status: String,
    /// The calibrated confidence it was raised with.
    pub confidence: f64,
    /// 0..1; 1 is the anchor's own look.
    pub similarity: f64,
    /// Cells the flag's mean was taken over.
    pub cells: usize,
}

/// The anchor flag and the survey's other live flags, most similar first.
#[derive(Debug, Clone, Serialize)]
pub struct Similar {
    pub flag: i64,
    pub survey: String,
    pub candidates: Vec<SimilarFlag>,
}

impl Vigil {
    /// The live flags of `id`'s survey that `who` may see, re-scored by similarity to `id`
    /// (404 outside the jurisdiction, as for the flag itself).
    pub fn similar_flags(&self, who: &Principal, id: i64) -> Result<Similar> {
        let anchor = self.flag(who, id)?;
        let idx = self.survey_index();
        let s = idx.get(&anchor.survey_id).ok_or_else(|| {
            Error::NotFound(format!("the survey of flag {id} is no longer served"))
        })?;
        let meta = s
            .meta
            .as_ref()
            .ok_or_else(|| Error::NotFound(format!("the survey of flag {id} has no tiles")))?;
        let native = *meta
            .levels
            .iter()
            .find(|l| l.z == meta.native_zoom)
            .ok_or_else(|| Error::NotFound(format!("the survey of flag {id} has no tiles")))?;
        let flags: Vec<FlagRow> = self
            .store()
            .read(|c| crate::store::flags::live_for_survey(c, &s.row.id))?
            .into_iter()
            .filter(|f| visible(who, f))
            .collect();
        let dir = self.survey_dir(&s.row.id, &meta.format, &meta.archive_key(&s.row.id))?;
        let disk = |e: String| Error::Disk {
            context: format!("analysis tiles of {}", s.row.id),
            source: std::io::Error::other(e),
        };
        let reader =
            crate::classify::reader::SurveyReader::open(&dir, native, self.survey_domain(s), None)
                .map_err(disk)?;
        let mut cells: Vec<(i64, Vec<CellFeatures>)> = Vec::with_capacity(flags.len() + 1);
        let anchor_cells = match outline(&anchor) {
            Some(shape) => flag_cells(&reader, &anchor, &shape).map_err(disk)?,
            None => Vec::new(),
        };
        if anchor_cells.is_empty() {
            return Err(Error::Conflict(format!(
                "flag {id} covers no readable cells of its survey; nothing to compare with"
            )));
        }
        cells.push((anchor.id, anchor_cells));
        for f in flags.iter().filter(|f| f.id != anchor.id) {
            let c = match outline(f) {
                Some(shape) => flag_cells(&reader, f, &shape).map_err(disk)?,
                None => Vec::new(),
            };
            cells.push((f.id, c));
        }
        let scores = similarities(&cells);
        let mut candidates: Vec<SimilarFlag> = flags
            .iter()
            .filter(|f| f.id != anchor.id)
            .zip(scores.iter().skip(1))
            .map(|(f, &(n, sim))| SimilarFlag {
                id: f.id,
                class: f.class.clone(),
                status: f.status.clone(),
                confidence: f.confidence,
                similarity: (sim * 1000.0).round() / 1000.0,
                cells: n,
            })
            .collect();
        candidates.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.id.cmp(&b.id)));
        Ok(Similar {
            flag: anchor.id,
            survey: anchor.survey_id,
            candidates,
        })
    }
}

/// (cells, similarity to the first entry) for every entry; an entry without cells scores 0.
fn similarities(flags: &[(i64, Vec<CellFeatures>)]) -> Vec<(usize, f64)> {
    let mut sum = [0f64; N_FEATURES];
    let mut sq = [0f64; N_FEATURES];
    let mut n = 0f64;
    for (_, cells) in flags {
        for (x, _) in cells {
            for k in 0..N_FEATURES {
                let v = f64::from(x[k]);
                sum[k] += v;
                sq[k] += v * v;
            }
            n += 1.0;
        }
    }
    let mut mean = [0f64; N_FEATURES];
    let mut sd = [0f64; N_FEATURES];
    for k in 0..N_FEATURES {
        mean[k] = sum[k] / n.max(1.0);
        sd[k] = (sq[k] / n.max(1.0) - mean[k] * mean[k]).max(0.0).sqrt();
    }
    let used: Vec<usize> = (0..N_FEATURES).filter(|&k| sd[k] > 1e-6).collect();
    let centre = |cells: &[CellFeatures]| -> Vec<f64> {
        let mut c = vec![0f64; used.len()];
        for (x, _) in cells {
            for (j, &k) in used.iter().enumerate() {
                c[j] += (f64::from(x[k]) - mean[k]) / sd[k];
            }
        }
        let m = cells.len().max(1) as f64;
        c.iter().map(|v| v / m).collect()
    };
    let anchor = centre(&flags[0].1);
    let dims = used.len().max(1) as f64;
    flags
        .iter()
        .map(|(_, cells)| {
            if cells.is_empty() {
                return (0, 0.0);
            }
            let c = centre(cells);
            let d2: f64 = c.iter().zip(&anchor).map(|(a, b)| (a - b) * (a - b)).sum();
            (cells.len(), (-d2 / dims).exp())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[f32], n: usize) -> Vec<CellFeatures> {
        let mut x = [0f32; N_FEATURES];
        x[..v.len()].copy_from_slice(v);
        vec![(x, false); n]
    }

    #[test]
    fn the_anchor_is_most_like_itself_and_far_plots_score_low() {
        let flags = vec![
            (1, cells(&[1.0, 2.0, 3.0], 10)),
            (2, cells(&[1.0, 2.0, 3.0], 4)),
            (3, cells(&[1.1, 2.1, 2.9], 4)),
            (4, cells(&[5.0, -2.0, 0.0], 4)),
            (5, Vec::new()),
        ];
        let s = similarities(&flags);
        assert_eq!(s[0], (10, 1.0));
        assert_eq!(s[1], (4, 1.0), "a plot that looks the same scores 1");
        assert!(s[2].1 > 0.9 && s[2].1 < 1.0, "{:?}", s[2]);
        assert!(
            s[3].1 < 0.2,
            "a plot unlike the anchor scores low: {:?}",
            s[3]
        );
        assert_eq!(s[4], (0, 0.0), "a flag without cells scores 0");
        // Features constant over the survey (all the zero padding) are left out, so they
        // neither help nor hurt.
        let more = vec![
            (1, cells(&[1.0, 2.0, 3.0, 7.0], 3)),
            (2, cells(&[5.0, -2.0, 0.0, 7.0], 3)),
        ];
        let two = vec![
            (1, cells(&[1.0, 2.0, 3.0], 3)),
            (2, cells(&[5.0, -2.0, 0.0], 3)),
        ];
        assert!((similarities(&more)[1].1 - similarities(&two)[1].1).abs() < 1e-12);
    }
}
