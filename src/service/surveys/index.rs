//! Ready surveys by extent: the rstar index that tile serving and the OGC collection read.

use std::sync::Arc;

use rstar::{AABB, RTree, RTreeObject};

use crate::service::{Error, Result, Vigil};
use crate::store::surveys::{self as ss, SurveyRow};
use crate::store::{self};

use super::*;
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

impl Vigil {
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

    pub(super) fn reload_surveys(&self) -> Result<()> {
        let (idx, fp) = Self::load_survey_index(self.store())?;
        *self.surveys.write() = Arc::new(idx);
        *self.survey_fingerprint.lock() = fp;
        Ok(())
    }
}
