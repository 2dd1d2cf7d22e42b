//! What the classifier sees of a survey: its analysis tiles at the classification zoom
//! ([`super::scale`]), through the survey's photometric correction ([`super::photometry`]), and —
//! in training only — under a random light ([`super::augment`]). Classification, training and
//! reviewers' feedback all read surveys through this one path, so they see the same values.
//!
//! Cells too dark to see ([`features::too_dark`]) are left out (not valid). (Standardising every
//! feature by the survey's own mean and deviation was tried and measured worse across
//! generators — BENCHMARKS.md, "Detection" — so features stay absolute after the photometric
//! correction.)

use super::augment::{Augment, Tables};
use super::features::{self, BandLuts, Domain, TileFeatures};
use super::photometry::{Correction, Histograms};
use super::scale;
use crate::grid::Tile;
use crate::tiling::LevelRange;
use crate::tiling::layout::{AnalysisTile, SurveyDir};

/// Tiles sampled for the survey's photometric statistics.
const STATS_TILES: usize = 64;

/// A tile's cell features, its pixels (display values, HWC R G B) and its footprint mask.
pub type TilePixels = (TileFeatures, Vec<f32>, Vec<u8>);

/// A survey opened for classification.
pub struct SurveyReader<'a> {
    dir: &'a SurveyDir,
    native_z: u8,
    /// The classification level.
    pub level: LevelRange,
    pub correction: Correction,
    pub luts: BandLuts,
    augment: Option<Tables>,
    /// Whether cells get the plant features (27–31); true unless the classify path turns it off
    /// for a model that does not read them ([`features::tile_features_with`]).
    pub plant_features: bool,
}

impl<'a> SurveyReader<'a> {
    /// Opens a survey whose analysis tiles are at `native`: samples its tiles for the photometric
    /// correction. `augment` is for training only.
    pub fn open(
        dir: &'a SurveyDir,
        native: LevelRange,
        domain: Domain,
        augment: Option<&Augment>,
    ) -> Result<SurveyReader<'a>, String> {
        let mut r = SurveyReader {
            dir,
            native_z: native.z,
            level: scale::classify_level(native),
            correction: Correction::IDENTITY,
            luts: BandLuts::uniform(Vec::new()),
            augment: augment.map(|a| a.tables(domain)),
            plant_features: true,
        };
        let tiles = r.tiles();
        let stride = tiles.len().div_ceil(STATS_TILES).max(1);
        // Sample stride within a tile: about 16k pixels per tile at most.
        let lut = domain.lut(u16::MAX as usize);
        let mut h = Histograms::default();
        for t in tiles.iter().step_by(stride) {
            if let Some(a) = r.read(*t)? {
                h.add_tile(&a, &lut, 3);
            }
        }
        r.correction = h.correction();
        r.luts = r.correction.luts(domain);
        Ok(r)
    }

    /// Every tile of the classification level, row by row.
    pub fn tiles(&self) -> Vec<Tile> {
        let l = self.level;
        (l.min_y..=l.max_y)
            .flat_map(|y| (l.min_x..=l.max_x).map(move |x| Tile { z: l.z, x, y }))
            .collect()
    }

    /// One classification tile's samples (before the correction), `None` outside the survey.
    pub fn read(&self, t: Tile) -> Result<Option<AnalysisTile>, String> {
        let mut a = scale::read_tile(self.dir, self.native_z, t)?;
        if let (Some(a), Some(aug)) = (a.as_mut(), &self.augment) {
            aug.apply(a, t);
        }
        Ok(a)
    }

    /// One classification tile's cell features, `None` outside the survey; too-dark cells are
    /// not valid.
    pub fn features(&self, t: Tile) -> Result<Option<TileFeatures>, String> {
        Ok(self.read(t)?.map(|a| self.features_of(&a)))
    }

    fn features_of(&self, a: &AnalysisTile) -> TileFeatures {
        let mut f = features::tile_features_with(a, &self.luts, self.plant_features);
        for (v, ok) in f.values.iter().zip(f.valid.iter_mut()) {
            if *ok && features::too_dark(v) {
                *ok = false;
            }
        }
        f
    }

    /// One classification tile's cell features and its pixels as the pixel models see them
    /// ([`super::cnn`]): display values 0..1 after the correction, HWC R G B, and the footprint
    /// mask. `None` outside the survey.
    pub fn features_and_pixels(&self, t: Tile) -> Result<Option<TilePixels>, String> {
        use crate::ingest::raster::Role;
        let Some(a) = self.read(t)? else {
            return Ok(None);
        };
        let f = self.features_of(&a);
        let mut px = vec![0f32; 3 * 65536];
        for (k, role) in [Role::Red, Role::Green, Role::Blue].into_iter().enumerate() {
            let Some(plane) = a.plane(role) else { continue };
            let lut = self.luts.for_role(role);
            let top = lut.len().saturating_sub(1);
            for (i, v) in plane.iter().enumerate() {
                px[3 * i + k] = lut[(*v as usize).min(top)];
            }
        }
        Ok(Some((f, px, a.mask)))
    }
}
