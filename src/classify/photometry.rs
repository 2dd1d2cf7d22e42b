//! Photometric normalisation per survey: one flight's haze, exposure and white balance are undone
//! before any feature is computed, so a warm-balanced or hazy flight looks to the model like a
//! neutral one.
//!
//! The survey's pixels (a sample of its analysis tiles) go into per-band histograms of linear
//! values. Then, per band:
//! 1. **haze**: the darkest 0.5 % is taken as airlight and subtracted (dark-object subtraction: a
//!    drone scene always holds shadow, soil or dark crowns near zero in some band);
//! 2. **white balance**: shades-of-grey colour constancy (Finlayson & Trezzi 2004, Minkowski
//!    norm p = 6) gives each of R, G, B a gain so that their norms agree; gains are kept within
//!    0.4–2.5, beyond which the estimate is more likely a scene colour than a light colour;
//! 3. **exposure**: one factor for every band puts the 95th percentile of the brightest channel
//!    at 0.6 (linear), within 0.25–6×. NIR gets the airlight subtraction and the exposure factor
//!    but no white-balance gain (a multispectral rig's NIR is its own calibration).
//!
//! The result is four tables from sample values to display-like 0..1 values
//! ([`super::features::BandLuts`]), so the feature pass costs the same as before.

use super::features::{BandLuts, Domain};
use crate::ingest::raster::Role;
use crate::tiling::layout::AnalysisTile;

/// Histogram bins over linear 0..1.
const BINS: usize = 1024;
/// Minkowski norm of the shades-of-grey estimate.
const P_NORM: i32 = 6;
/// Display gamma (sRGB-like).
const GAMMA: f32 = 2.2;

/// Where a band's values go, before and after the correction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Correction {
    /// Airlight subtracted per band (R, G, B, NIR), linear 0..1.
    pub dark: [f32; 4],
    /// Gain per band after the subtraction (white balance × exposure).
    pub gain: [f32; 4],
}

impl Correction {
    /// No change.
    pub const IDENTITY: Correction = Correction {
        dark: [0.0; 4],
        gain: [1.0; 4],
    };

    /// The tables from sample values to corrected display values.
    pub fn luts(&self, domain: Domain) -> BandLuts {
        let base = domain.lut(u16::MAX as usize);
        let band = |k: usize| -> Vec<f32> {
            base.iter()
                .map(|&x| {
                    let lin = x.powf(GAMMA);
                    ((lin - self.dark[k]).max(0.0) * self.gain[k])
                        .clamp(0.0, 1.0)
                        .powf(1.0 / GAMMA)
                })
                .collect()
        };
        BandLuts {
            red: band(0),
            green: band(1),
            blue: band(2),
            nir: band(3),
        }
    }
}

/// Per-band histograms of linear values over a survey's valid pixels.
#[derive(Debug, Clone)]
pub struct Histograms {
    counts: [Vec<u64>; 4],
    /// Sums of x^P_NORM per band (for the shades-of-grey norm), after no subtraction; the
    /// subtraction is applied on the histogram instead (bin centres).
    has_nir: bool,
}

impl Default for Histograms {
    fn default() -> Self {
        Histograms {
            counts: std::array::from_fn(|_| vec![0; BINS]),
            has_nir: false,
        }
    }
}

fn bin(lin: f32) -> usize {
    ((lin * BINS as f32) as usize).min(BINS - 1)
}

fn centre(i: usize) -> f32 {
    (i as f32 + 0.5) / BINS as f32
}

impl Histograms {
    /// Adds every `step`-th pixel of a tile inside its footprint. `lut` maps samples to display
    /// values ([`Domain::lut`]).
    pub fn add_tile(&mut self, t: &AnalysisTile, lut: &[f32], step: usize) {
        let planes = [Role::Red, Role::Green, Role::Blue, Role::Nir].map(|r| t.plane(r));
        if planes[3].is_some() {
            self.has_nir = true;
        }
        // Display → linear once per sample value would need a table per call; the display
        // table is small enough to square here.
        for i in (0..t.mask.len()).step_by(step.max(1)) {
            if t.mask[i] == 0 {
                continue;
            }
            for (k, p) in planes.iter().enumerate() {
                if let Some(p) = p {
                    let x = lut[p[i] as usize];
                    self.counts[k][bin(x.powf(GAMMA))] += 1;
                }
            }
        }
    }

    fn total(&self, k: usize) -> u64 {
        self.counts[k].iter().sum()
    }

    fn percentile(&self, k: usize, q: f64) -> f32 {
        let total = self.total(k);
        if total == 0 {
            return 0.0;
        }
        let want = (total as f64 * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts[k].iter().enumerate() {
            seen += c;
            if seen >= want {
                return centre(i);
            }
        }
        1.0
    }

    /// Shades-of-grey norm of band `k` after subtracting `dark`.
    fn norm(&self, k: usize, dark: f32) -> f32 {
        let total = self.total(k);
        if total == 0 {
            return 0.0;
        }
        let s: f64 = self.counts[k]
            .iter()
            .enumerate()
            .map(|(i, &c)| c as f64 * f64::from((centre(i) - dark).max(0.0)).powi(P_NORM))
            .sum();
        ((s / total as f64).powf(1.0 / f64::from(P_NORM))) as f32
    }

    /// The survey's correction; identity when there are too few pixels to tell.
    pub fn correction(&self) -> Correction {
        if self.total(0) < 1000 {
            return Correction::IDENTITY;
        }
        let bands = if self.has_nir { 4 } else { 3 };
        let mut dark = [0f32; 4];
        for (k, d) in dark.iter_mut().enumerate().take(bands) {
            // Nine tenths of the 0.5th percentile: a hazy scene's darkest pixels are mostly airlight, a
            // clear scene's are near zero anyway; subtracting all of it would crush shadows.
            *d = self.percentile(k, 0.005) * 0.9;
        }
        let norms = [0, 1, 2].map(|k| self.norm(k, dark[k]).max(1e-4));
        let mean = (norms[0] * norms[1] * norms[2]).cbrt();
        let mut gain = [1f32; 4];
        for k in 0..3 {
            gain[k] = (mean / norms[k]).clamp(0.4, 2.5);
        }
        // Exposure: the 95th percentile of the brightest channel at 0.6 linear.
        let p95 = (0..3)
            .map(|k| (self.percentile(k, 0.95) - dark[k]).max(0.0) * gain[k])
            .fold(0f32, f32::max)
            .max(1e-3);
        let expo = (0.6 / p95).clamp(0.25, 6.0);
        for g in gain.iter_mut().take(3) {
            *g *= expo;
        }
        gain[3] = expo;
        Correction { dark, gain }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tile of a few materials, with the light applied: `gain` per band in linear, `air` added.
    fn scene(gain: [f32; 3], air: [f32; 3]) -> AnalysisTile {
        let materials: [[f32; 3]; 5] = [
            [0.05, 0.12, 0.04], // green canopy
            [0.25, 0.18, 0.12], // soil
            [0.70, 0.68, 0.66], // white flowers
            [0.01, 0.015, 0.01],
            [0.40, 0.10, 0.30], // magenta petals
        ];
        let mut planes = vec![vec![0u16; 65536]; 3];
        for i in 0..65536 {
            let m = materials[(i * 7 + i / 256) % 5];
            for b in 0..3 {
                let lin = (m[b] * gain[b] + air[b]).clamp(0.0, 1.0);
                planes[b][i] = (lin.powf(1.0 / GAMMA) * 255.0).round() as u16;
            }
        }
        AnalysisTile {
            sample_bytes: 1,
            roles: vec![Role::Red, Role::Green, Role::Blue],
            planes,
            mask: vec![255; 65536],
        }
    }

    fn corrected(t: &AnalysisTile) -> Vec<[f32; 3]> {
        let lut = Domain::for_tile(1, 0.0).lut(255);
        let mut h = Histograms::default();
        h.add_tile(t, &lut, 1);
        let luts = h.correction().luts(Domain::for_tile(1, 0.0));
        (0..5)
            .map(|m| {
                let i = (0..65536).find(|i| (i * 7 + i / 256) % 5 == m).unwrap();
                [
                    luts.red[t.planes[0][i] as usize],
                    luts.green[t.planes[1][i] as usize],
                    luts.blue[t.planes[2][i] as usize],
                ]
            })
            .collect()
    }

    #[test]
    fn warm_light_haze_and_underexposure_are_undone() {
        let neutral = corrected(&scene([1.0, 1.0, 1.0], [0.0; 3]));
        let warm = corrected(&scene([1.35, 1.0, 0.6], [0.0; 3]));
        let hazy = corrected(&scene([0.7, 0.75, 0.8], [0.10, 0.11, 0.14]));
        let dark = corrected(&scene([0.3, 0.3, 0.3], [0.0; 3]));
        // Compared in linear light: the airlight left behind (a tenth, see `correction`) is
        // small in linear terms but large in display terms for the darkest material.
        for other in [&warm, &hazy, &dark] {
            for m in 0..5 {
                for b in 0..3 {
                    let d = (neutral[m][b].powf(GAMMA) - other[m][b].powf(GAMMA)).abs();
                    assert!(
                        d < 0.03,
                        "material {m} band {b}: neutral {:?} vs {:?}",
                        neutral[m],
                        other[m]
                    );
                }
            }
        }
    }

    #[test]
    fn too_few_pixels_leave_the_survey_alone() {
        let h = Histograms::default();
        assert_eq!(h.correction(), Correction::IDENTITY);
    }
}
