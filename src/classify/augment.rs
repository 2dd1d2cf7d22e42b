//! Domain randomisation for training: each training scene is also seen under other light —
//! colour temperature, exposure, gamma, haze, cast shadow, blur and sensor noise — so the model
//! learns what does not change with the camera and the weather. Applied to analysis tiles as
//! they are read, before the survey's photometric correction ([`super::photometry`]), exactly
//! where a real flight's light would act.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::features::Domain;
use crate::grid::Tile;
use crate::tiling::layout::AnalysisTile;

const GAMMA: f32 = 2.2;

/// One scene's random light.
#[derive(Debug, Clone, PartialEq)]
pub struct Augment {
    /// Linear gains for R, G, B (colour temperature and tint).
    pub gains: [f32; 3],
    /// Exposure factor (linear).
    pub exposure: f32,
    /// Power applied to linear values (a different tone curve).
    pub gamma: f32,
    /// Airlight added to R, G, B, NIR (haze), linear.
    pub air: [f32; 4],
    /// Probability that a tile holds a cast shadow.
    pub shadow: f32,
    /// Sensor noise, display units (standard deviation).
    pub noise: f32,
    /// Probability that a tile is blurred (3 × 3 box: motion or focus).
    pub blur: f32,
    pub seed: u64,
}

impl Augment {
    /// A random draw. Ranges cover the field conditions of DOMAIN.md: 3,000–8,000 K light,
    /// ±1.5 stops, haze up to a fifth of full scale, deep winter shadows.
    pub fn random(seed: u64) -> Augment {
        let mut rng = StdRng::seed_from_u64(seed);
        // Colour temperature: warm (more red, less blue) to cool, plus a green/magenta tint.
        let t: f32 = rng.random_range(-1.0..1.0);
        let tint: f32 = rng.random_range(-0.12..0.12);
        let gains = [1.0 + 0.45 * t, 1.0 + tint, 1.0 - 0.45 * t];
        let haze = if rng.random_bool(0.35) {
            rng.random_range(0.03..0.2f32)
        } else {
            0.0
        };
        Augment {
            gains,
            exposure: 2f32.powf(rng.random_range(-1.5..1.0)),
            gamma: rng.random_range(0.8..1.25),
            air: [haze * 0.9, haze * 0.95, haze * 1.1, haze * 0.7],
            shadow: rng.random_range(0.0..0.5),
            noise: rng.random_range(0.0..0.035),
            blur: rng.random_range(0.0..0.5),
            seed,
        }
    }

    /// The per-band tables for a survey's sample domain.
    pub fn tables(&self, domain: Domain) -> Tables {
        let max = if domain.gamma { u16::MAX as usize } else { 255 };
        let lut = domain.lut(max);
        let to_sample = |x: f32| -> u16 {
            let x = x.clamp(0.0, 1.0);
            let v = if domain.gamma {
                x.powf(GAMMA) * domain.white
            } else {
                x * 255.0
            };
            v.round().clamp(1.0, max as f32) as u16
        };
        let table = |k: usize, shade: f32| -> Vec<u16> {
            let gain = if k < 3 { self.gains[k] } else { 1.0 };
            lut.iter()
                .map(|&x| {
                    let lin = x.powf(GAMMA) * gain * self.exposure * shade + self.air[k];
                    to_sample(lin.clamp(0.0, 1.0).powf(self.gamma).powf(1.0 / GAMMA))
                })
                .collect()
        };
        // In shadow only skylight is left: darker, and bluer.
        let shade = [0.3, 0.34, 0.45, 0.3];
        Tables {
            lit: std::array::from_fn(|k| table(k, 1.0)),
            shaded: std::array::from_fn(|k| table(k, shade[k])),
            noise: self.noise * if domain.gamma { domain.white } else { 255.0 },
            max: max as f32,
            shadow: self.shadow,
            blur: self.blur,
            seed: self.seed,
        }
    }
}

/// An [`Augment`] made concrete for one sample domain.
#[derive(Debug, Clone)]
pub struct Tables {
    /// Per band (R, G, B, NIR): sample → sample in the light, and in cast shadow.
    lit: [Vec<u16>; 4],
    shaded: [Vec<u16>; 4],
    noise: f32,
    max: f32,
    shadow: f32,
    blur: f32,
    seed: u64,
}

impl Tables {
    /// Applies the light to a tile in place; the tile's address seeds its shadow and noise.
    pub fn apply(&self, t: &mut AnalysisTile, at: Tile) {
        use crate::ingest::raster::Role;
        let mut rng = StdRng::seed_from_u64(
            self.seed ^ (u64::from(at.x) << 32 | u64::from(at.y)) ^ (u64::from(at.z) << 58),
        );
        // A soft-edged disc of shadow (a tree's or a cloud's), or none.
        let shadow = rng.random_bool(f64::from(self.shadow)).then(|| {
            (
                rng.random_range(0.0..256.0f32),
                rng.random_range(0.0..256.0f32),
                rng.random_range(30.0..160.0f32),
            )
        });
        let blur = rng.random_bool(f64::from(self.blur));
        for (p, role) in t.planes.iter_mut().zip(&t.roles) {
            let k = match role {
                Role::Red => 0,
                Role::Green => 1,
                Role::Blue => 2,
                _ => 3,
            };
            let (lit, shaded) = (&self.lit[k], &self.shaded[k]);
            for (i, v) in p.iter_mut().enumerate() {
                let s = (*v as usize).min(lit.len() - 1);
                let mut out = f32::from(lit[s]);
                if let Some((cx, cy, r)) = shadow {
                    let (x, y) = ((i % 256) as f32, (i / 256) as f32);
                    let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                    let a = ((r - d) / 12.0).clamp(0.0, 1.0);
                    out += a * (f32::from(shaded[s]) - out);
                }
                if self.noise > 0.0 {
                    // Sum of uniforms: close enough to Gaussian for sensor noise.
                    let n: f32 = (0..3).map(|_| rng.random_range(-1.0..1.0f32)).sum::<f32>();
                    out += n * self.noise * 0.58;
                }
                *v = out.round().clamp(1.0, self.max) as u16;
            }
            if blur {
                box_blur(p);
            }
        }
    }
}

/// 3 × 3 box blur of one plane (edges clamp).
fn box_blur(p: &mut [u16]) {
    let src = p.to_vec();
    for y in 0..256usize {
        for x in 0..256usize {
            let mut s = 0u32;
            for dy in [-1i32, 0, 1] {
                for dx in [-1i32, 0, 1] {
                    let yy = (y as i32 + dy).clamp(0, 255) as usize;
                    let xx = (x as i32 + dx).clamp(0, 255) as usize;
                    s += u32::from(src[yy * 256 + xx]);
                }
            }
            p[y * 256 + x] = ((s + 4) / 9) as u16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::raster::Role;

    #[test]
    fn warm_light_raises_red_and_lowers_blue() {
        let a = Augment {
            gains: [1.4, 1.0, 0.6],
            exposure: 1.0,
            gamma: 1.0,
            air: [0.0; 4],
            shadow: 0.0,
            noise: 0.0,
            blur: 0.0,
            seed: 1,
        };
        let tables = a.tables(Domain::for_tile(1, 0.0));
        let mut t = AnalysisTile {
            sample_bytes: 1,
            roles: vec![Role::Red, Role::Green, Role::Blue],
            planes: vec![vec![120; 65536]; 3],
            mask: vec![255; 65536],
        };
        tables.apply(&mut t, Tile { z: 21, x: 1, y: 2 });
        assert!(t.planes[0][0] > 130, "{}", t.planes[0][0]);
        assert_eq!(t.planes[1][0], 120);
        assert!(t.planes[2][0] < 105, "{}", t.planes[2][0]);
    }

    #[test]
    fn draws_are_seeded() {
        assert_eq!(Augment::random(7), Augment::random(7));
        assert_ne!(Augment::random(7), Augment::random(8));
    }
}
