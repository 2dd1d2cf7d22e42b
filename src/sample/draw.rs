//! Plant-level rasterisation: every pixel inside the footprint gets the reflectance of what lies
//! under it — a poppy leaf, a petal, the soil between rows, a tree crown — then cast shadows,
//! light, white balance, haze and sensor noise are applied.
//!
//! Plants sit on jittered lattices (rows for poppy, maize, cabbage; hedgerows for tea; crowns for
//! forest), so each pixel is decided from a few hashes; there is no per-plant state.

use super::noise::{fbm2, hash2, mix64, unit, value_noise};
use super::scene::{Layout, Plot};
use super::{Class, REFLECTANCE_SCALE, SceneSpec};

/// Reflectance in red, green, blue, NIR (0–1).
type Refl = [f32; 4];

// Spectra. Glaucous (waxy, blue-green) leaves of poppy and cabbage reflect more blue than other
// green crops; cannabis is bright yellow-green with the highest NIR; soil, roads and roofs are low
// in NIR.
const SOIL: Refl = [0.20, 0.15, 0.11, 0.27];
const SOIL_DRY: Refl = [0.28, 0.23, 0.17, 0.31];
const STONE: Refl = [0.36, 0.35, 0.33, 0.34];
const GRASS: Refl = [0.07, 0.15, 0.05, 0.40];
const DRY_GRASS: Refl = [0.21, 0.19, 0.10, 0.33];
const POPPY_LEAF: Refl = [0.15, 0.25, 0.23, 0.47];
const POPPY_LEAF_DARK: Refl = [0.10, 0.18, 0.16, 0.41];
const PETAL_WHITE: Refl = [0.80, 0.80, 0.76, 0.62];
const PETAL_RED: Refl = [0.56, 0.07, 0.08, 0.55];
const PETAL_PINK: Refl = [0.76, 0.43, 0.60, 0.58];
const PETAL_PURPLE: Refl = [0.43, 0.22, 0.53, 0.55];
const STAMEN: Refl = [0.20, 0.18, 0.08, 0.35];
const CAPSULE: Refl = [0.24, 0.31, 0.24, 0.42];
const CABBAGE_LEAF: Refl = [0.15, 0.25, 0.22, 0.41];
const CABBAGE_HEAD: Refl = [0.25, 0.35, 0.29, 0.45];
const CANNABIS_LEAF: Refl = [0.14, 0.31, 0.06, 0.63];
const CANNABIS_SHADE: Refl = [0.07, 0.17, 0.035, 0.52];
const CROP_GREEN: Refl = [0.07, 0.17, 0.06, 0.45];
const BUCKWHEAT_FLOWER: Refl = [0.64, 0.58, 0.59, 0.50];
const MUSTARD_FLOWER: Refl = [0.53, 0.47, 0.05, 0.50];
const BLOSSOM_WHITE: Refl = [0.75, 0.73, 0.73, 0.47];
const BLOSSOM_PINK: Refl = [0.74, 0.52, 0.63, 0.47];
const BRANCH: Refl = [0.06, 0.05, 0.04, 0.16];
const TREE_LEAF: Refl = [0.06, 0.14, 0.05, 0.40];
const MAIZE_LEAF: Refl = [0.07, 0.19, 0.05, 0.50];
const TEA_LEAF: Refl = [0.04, 0.12, 0.04, 0.42];
const TEA_FLUSH: Refl = [0.10, 0.23, 0.06, 0.48];
const FOREST_LEAF: Refl = [0.04, 0.10, 0.04, 0.40];
const UNDERSTORY: Refl = [0.025, 0.045, 0.025, 0.18];
const ROOF_METAL: Refl = [0.48, 0.50, 0.53, 0.30];
const RUST: Refl = [0.30, 0.17, 0.10, 0.30];
const ROOF_TILE: Refl = [0.38, 0.17, 0.11, 0.33];
const ROAD_CONCRETE: Refl = [0.37, 0.36, 0.34, 0.32];
const ROAD_DIRT: Refl = [0.29, 0.23, 0.17, 0.29];
/// Path radiance of haze: bluish in the visible, weaker in NIR.
const HAZE: Refl = [0.55, 0.60, 0.70, 0.45];

#[inline]
fn mix(a: Refl, b: Refl, t: f32) -> Refl {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
        a[3] + (b[3] - a[3]) * t,
    ]
}

#[inline]
fn scale(a: Refl, k: f32) -> Refl {
    [a[0] * k, a[1] * k, a[2] * k, a[3] * k]
}

/// The plant nearest a point on a jittered lattice of spacing (su, sv) metres.
struct Near {
    /// Distance to the plant's centre divided by its size factor (0.75–1.25), metres.
    d: f32,
    /// Offset from the plant's centre, metres.
    dx: f32,
    dy: f32,
    /// The plant's hash (for its own colour, flower, size …).
    h: u64,
}

#[inline]
fn nearest_plant(u: f32, v: f32, su: f32, sv: f32, jitter: f32, seed: u64) -> Near {
    let (i, j) = ((u / su).floor() as i64, (v / sv).floor() as i64);
    let mut best = Near {
        d: f32::INFINITY,
        dx: 0.0,
        dy: 0.0,
        h: 0,
    };
    for dj in -1..=1 {
        for di in -1..=1 {
            let h = hash2(i + di, j + dj, seed);
            let cx = ((i + di) as f32 + 0.5 + (unit(h) - 0.5) * jitter) * su;
            let cy = ((j + dj) as f32 + 0.5 + (unit(h << 24) - 0.5) * jitter) * sv;
            let size = 0.75 + 0.5 * unit(h << 48);
            let (dx, dy) = (u - cx, v - cy);
            let d = (dx * dx + dy * dy).sqrt() / size;
            if d < best.d {
                best = Near { d, dx, dy, h };
            }
        }
    }
    best
}

/// Bare soil between plants: clods, a few stones and weeds.
#[inline]
fn soil(u: f32, v: f32, seed: u64) -> Refl {
    let clod = value_noise(u / 0.12, v / 0.12, seed ^ 0x50);
    let base = mix(SOIL, SOIL_DRY, clod * 0.9);
    let fine = unit(hash2((u / 0.05) as i64, (v / 0.05) as i64, seed ^ 0x51));
    if fine > 0.985 {
        STONE
    } else if fine < 0.02 {
        GRASS
    } else {
        base
    }
}

/// What lies between plots: grass, dry grass, scrub and soil.
#[inline]
fn background(x: f32, y: f32, seed: u64) -> Refl {
    let broad = fbm2(x / 4.0, y / 4.0, seed ^ 0xb0);
    let fine = value_noise(x / 0.1, y / 0.1, seed ^ 0xb1);
    let g = mix(GRASS, DRY_GRASS, broad * 1.3 - 0.15 + (fine - 0.5) * 0.5);
    if broad < 0.25 && fine > 0.6 {
        mix(g, SOIL, 0.7)
    } else {
        scale(g, 0.85 + 0.3 * fine)
    }
}

fn petal(palette: u8, h: u64) -> Refl {
    // Each plot leans to one colour, as a field sown from one seed lot does.
    let k = (h >> 32) % 10;
    let lean = match palette {
        0 => [PETAL_WHITE, PETAL_WHITE, PETAL_PINK],
        1 => [PETAL_RED, PETAL_RED, PETAL_PINK],
        2 => [PETAL_PINK, PETAL_PURPLE, PETAL_WHITE],
        _ => [PETAL_PURPLE, PETAL_WHITE, PETAL_RED],
    };
    match k {
        0..=5 => lean[0],
        6..=8 => lean[1],
        _ => lean[2],
    }
}

fn cabbage_plant(p: &Near, radius: f32) -> Option<Refl> {
    if p.d >= radius {
        return None;
    }
    let r = p.d / radius;
    if r < 0.38 {
        return Some(mix(CABBAGE_HEAD, CABBAGE_LEAF, r));
    }
    let theta = p.dy.atan2(p.dx);
    let vein = (theta * 9.0 + unit(p.h) * 6.0).cos();
    Some(scale(CABBAGE_LEAF, 0.92 + 0.1 * vein - 0.15 * (r - 0.38)))
}

fn poppy(plot: &Plot, u: f32, v: f32, flowering: bool) -> Refl {
    if plot.interplanted {
        let cab = nearest_plant(u, v, 0.6, 0.6, 0.3, plot.seed ^ 0xcab);
        if let Some(c) = cabbage_plant(&cab, 0.21) {
            return c;
        }
    }
    // Rows 30 cm apart, plants about every 20 cm.
    let p = nearest_plant(u, v, 0.2, 0.3, 0.35, plot.seed);
    let radius = if flowering { 0.1 } else { 0.09 };
    if p.d >= radius {
        return soil(u, v, plot.seed);
    }
    let r = p.d / radius;
    let leaf = mix(
        POPPY_LEAF,
        POPPY_LEAF_DARK,
        r * 0.7 + (value_noise(u / 0.03, v / 0.03, plot.seed) - 0.5) * 0.6,
    );
    if !flowering {
        return leaf;
    }
    let h = mix64(p.h);
    let fx = (unit(h) - 0.5) * 0.07;
    let fy = (unit(h << 20) - 0.5) * 0.07;
    let (ex, ey) = (p.dx - fx, p.dy - fy);
    let fd = (ex * ex + ey * ey).sqrt();
    let roll = unit(h << 40);
    if roll < 0.72 && fd < 0.045 {
        return if fd < 0.01 {
            STAMEN
        } else {
            petal(plot.variant, h)
        };
    }
    if (0.72..0.9).contains(&roll) && fd < 0.022 {
        return CAPSULE;
    }
    leaf
}

fn cannabis(plot: &Plot, u: f32, v: f32) -> Refl {
    let p = nearest_plant(u, v, 0.55, 0.5, 0.3, plot.seed);
    let radius = 0.36;
    if p.d >= radius {
        return mix(soil(u, v, plot.seed), CANNABIS_SHADE, 0.5);
    }
    let r = p.d / radius;
    // Palmate leaves: 7 leaflets radiating from each leaf's centre, repeated around the plant.
    let theta = p.dy.atan2(p.dx);
    let phase = unit(p.h) * std::f32::consts::TAU;
    let lobes = (theta * 7.0 + phase).cos() * 0.5 + 0.5;
    let fine = value_noise(u / 0.04, v / 0.04, plot.seed ^ 0xca);
    if lobes > r * 0.9 - 0.05 + (fine - 0.5) * 0.3 {
        scale(CANNABIS_LEAF, 0.9 + 0.2 * fine)
    } else {
        CANNABIS_SHADE
    }
}

fn cabbage(plot: &Plot, u: f32, v: f32) -> Refl {
    let p = nearest_plant(u, v, 0.5, 0.45, 0.2, plot.seed);
    cabbage_plant(&p, 0.21).unwrap_or_else(|| soil(u, v, plot.seed))
}

fn flowering_cover(plot: &Plot, u: f32, v: f32, flower: Refl, cover: f32) -> Refl {
    let g = fbm2(u / 0.15, v / 0.15, plot.seed);
    if g < 0.18 {
        return soil(u, v, plot.seed);
    }
    let f = value_noise(u / 0.05, v / 0.05, plot.seed ^ 0xf1);
    let green = scale(CROP_GREEN, 0.8 + 0.4 * g);
    if f > 1.0 - cover {
        mix(green, flower, (f - (1.0 - cover)) * 6.0)
    } else {
        green
    }
}

fn blossoming_tree(plot: &Plot, u: f32, v: f32, crown_radius: f32) -> Refl {
    let n = value_noise(u / 0.12, v / 0.12, plot.seed);
    let n2 = value_noise(u / 0.04, v / 0.04, plot.seed ^ 0x7e);
    let bloom = if plot.variant % 2 == 0 {
        BLOSSOM_WHITE
    } else {
        BLOSSOM_PINK
    };
    let base = if n + 0.3 * n2 > 0.62 {
        bloom
    } else if n > 0.28 {
        TREE_LEAF
    } else {
        BRANCH
    };
    // Rounder crowns are lit on one side.
    let lit = 1.0 + 0.25 * (u + v) / (crown_radius * 1.41);
    scale(base, lit.clamp(0.6, 1.3))
}

fn maize(plot: &Plot, u: f32, v: f32) -> Refl {
    let p = nearest_plant(u, v, 0.25, 0.75, 0.2, plot.seed);
    let radius = 0.33;
    if p.d < radius {
        let theta = p.dy.atan2(p.dx);
        let leaves = (theta * 3.0 + unit(p.h) * std::f32::consts::TAU)
            .cos()
            .abs();
        if leaves > p.d / radius * 0.9 {
            return scale(MAIZE_LEAF, 0.85 + 0.3 * leaves);
        }
    }
    soil(u, v, plot.seed)
}

fn tea(plot: &Plot, u: f32, v: f32) -> Refl {
    let spacing = 1.5;
    let wobble = 0.12 * (u * 0.7 + unit(plot.seed) * std::f32::consts::TAU).sin();
    let c = (v + wobble).rem_euclid(spacing) - spacing / 2.0;
    let half = 0.55 + 0.08 * (value_noise(u / 0.3, v, plot.seed) - 0.5);
    if c.abs() < half {
        let f = value_noise(u / 0.05, v / 0.05, plot.seed ^ 0x7ea);
        let edge = 1.0 - 0.35 * (c.abs() / half).powi(4);
        scale(if f > 0.68 { TEA_FLUSH } else { TEA_LEAF }, edge)
    } else {
        mix(
            soil(u, v, plot.seed),
            GRASS,
            value_noise(u / 0.2, v / 0.2, plot.seed),
        )
    }
}

fn forest(plot: &Plot, u: f32, v: f32) -> Refl {
    let p = nearest_plant(u, v, 3.0, 3.0, 0.6, plot.seed);
    let radius = 1.9;
    if p.d >= radius {
        return UNDERSTORY;
    }
    let tone = 0.75 + 0.5 * unit(mix64(p.h));
    let clump = value_noise(u / 0.25, v / 0.25, plot.seed ^ 0xf0);
    let lit = 1.0 + 0.3 * (p.dx + p.dy) / (radius * 1.41) - 0.25 * (p.d / radius);
    scale(FOREST_LEAF, tone * lit * (0.75 + 0.5 * clump))
}

fn bare_soil(plot: &Plot, u: f32, v: f32) -> Refl {
    let ridge = 0.9 + 0.1 * (v / 0.4 * std::f32::consts::TAU).sin();
    scale(soil(u, v, plot.seed), ridge)
}

fn roof(plot: &Plot, u: f32, v: f32) -> Refl {
    // Two faces split along the ridge (u axis), one facing the light.
    let face = if v < 0.0 { 1.1 } else { 0.82 };
    if plot.variant < 2 {
        let corrugation = 1.0 + 0.07 * (u / 0.076 * std::f32::consts::TAU).sin();
        let rust = value_noise(u / 0.8, v / 0.8, plot.seed);
        let base = if rust > 0.75 {
            mix(ROOF_METAL, RUST, 0.6)
        } else {
            ROOF_METAL
        };
        scale(base, face * corrugation)
    } else {
        let course = (v.abs() / 0.25).fract();
        let tile = if course > 0.85 { 0.7 } else { 1.0 };
        scale(ROOF_TILE, face * tile)
    }
}

fn road(plot: &Plot, u: f32, v: f32) -> Refl {
    let wear = value_noise(u / 0.6, v / 0.6, plot.seed);
    if plot.variant % 2 == 0 {
        let crack = unit(hash2((u / 0.05) as i64, (v / 0.05) as i64, plot.seed)) > 0.995;
        let base = scale(ROAD_CONCRETE, 0.9 + 0.2 * wear);
        if crack { scale(base, 0.5) } else { base }
    } else {
        let rut = ((v.abs() - 0.8).abs() < 0.2) as u8 as f32;
        scale(ROAD_DIRT, (0.9 + 0.2 * wear) * (1.0 - 0.15 * rut))
    }
}

/// Reflectance of `plot` at plot-local (u, v) metres; true when the thing is tall enough to cast a
/// shadow.
fn shade(plot: &Plot, u: f32, v: f32, gsd: f32) -> (Refl, bool) {
    match plot.class {
        Class::PoppyFlowering => (poppy(plot, u, v, true), false),
        Class::PoppyPreFlowering => (poppy(plot, u, v, false), false),
        Class::Cannabis => (cannabis(plot, u, v), false),
        Class::Cabbage => (cabbage(plot, u, v), false),
        Class::Buckwheat => (flowering_cover(plot, u, v, BUCKWHEAT_FLOWER, 0.4), false),
        Class::Mustard => (flowering_cover(plot, u, v, MUSTARD_FLOWER, 0.55), false),
        Class::BlossomingTree => {
            let r = (plot.area_m2 as f32 / std::f32::consts::PI).sqrt();
            (blossoming_tree(plot, u, v, r.max(gsd)), true)
        }
        Class::Maize => (maize(plot, u, v), false),
        Class::Tea => (tea(plot, u, v), false),
        Class::Forest => (forest(plot, u, v), true),
        Class::BareSoil => (bare_soil(plot, u, v), false),
        Class::Roof => (roof(plot, u, v), true),
        Class::Road => (road(plot, u, v), false),
    }
}

/// Calls `f(row, x0, x1)` for the pixels of each row whose centres lie inside `ring` (even-odd).
pub(crate) fn fill_polygon(
    ring: &[(f64, f64)],
    width: usize,
    height: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    if ring.len() < 3 {
        return;
    }
    let ymin = ring.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let ymax = ring.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let r0 = (ymin - 0.5).ceil().max(0.0) as usize;
    let r1 = ((ymax - 0.5).floor() + 1.0).clamp(0.0, height as f64) as usize;
    let mut xs: Vec<f64> = Vec::new();
    for row in r0..r1 {
        let yc = row as f64 + 0.5;
        xs.clear();
        for i in 0..ring.len() {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            if (a.1 > yc) != (b.1 > yc) {
                xs.push(a.0 + (yc - a.1) * (b.0 - a.0) / (b.1 - a.1));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let x0 = (pair[0] - 0.5).ceil().clamp(0.0, width as f64) as usize;
            let x1 = (pair[1] - 0.5).ceil().clamp(0.0, width as f64) as usize;
            if x1 > x0 {
                f(row, x0, x1);
            }
        }
    }
}

/// Renders the layout: reflectance × 10 000 in four bands, and the footprint alpha.
pub(crate) fn render(spec: &SceneSpec, layout: &Layout) -> ([Vec<u16>; 4], Vec<u8>) {
    let (w, h) = (spec.width, spec.height);
    let n = w * h;
    let gsd = spec.gsd as f32;
    let mut alpha = vec![0u8; n];
    fill_polygon(&layout.footprint, w, h, |row, x0, x1| {
        alpha[row * w + x0..row * w + x1].fill(255);
    });
    let mut plot_map = vec![0u16; n];
    for (k, p) in layout.plots.iter().enumerate() {
        let id = (k + 1) as u16;
        fill_polygon(&p.ring, w, h, |row, x0, x1| {
            plot_map[row * w + x0..row * w + x1].fill(id);
        });
    }

    // Pass 1: surface reflectance and what is tall.
    let mut bands: [Vec<u16>; 4] = std::array::from_fn(|_| vec![0u16; n]);
    let mut tall = vec![false; n];
    let trig: Vec<(f32, f32)> = layout
        .plots
        .iter()
        .map(|p| (p.angle as f32).sin_cos())
        .collect();
    let bg_seed = mix64(spec.seed ^ 0xbac6);
    for row in 0..h {
        let y = row as f32 + 0.5;
        for col in 0..w {
            let i = row * w + col;
            if alpha[i] == 0 {
                continue;
            }
            let x = col as f32 + 0.5;
            let (refl, is_tall) = match plot_map[i] {
                0 => (background(x * gsd, y * gsd, bg_seed), false),
                id => {
                    let p = &layout.plots[id as usize - 1];
                    let (s, c) = trig[id as usize - 1];
                    let (dx, dy) = (x - p.origin.0 as f32, y - p.origin.1 as f32);
                    let u = (dx * c + dy * s) * gsd;
                    let v = (-dx * s + dy * c) * gsd;
                    let (r, t) = shade(p, u, v, gsd);
                    // Plot-wide vigour and slow patchiness across the field.
                    let patch = 0.92 + 0.16 * value_noise(u / 2.0, v / 2.0, p.seed ^ 0x9a);
                    (scale(r, p.vigour * patch), t)
                }
            };
            for b in 0..4 {
                bands[b][i] = (refl[b] * REFLECTANCE_SCALE).clamp(1.0, 65535.0) as u16;
            }
            tall[i] = is_tall;
        }
    }

    // Pass 2: cast shadows, then light, white balance, haze and sensor noise.
    let cond = &layout.conditions;
    let az = cond.shadow_azimuth_deg.to_radians();
    // Shadows fall towards `az`; look back towards the sun for something tall.
    let (sx, sy) = (-az.sin(), az.cos());
    let len_px = cond.shadow_length_m / gsd;
    let steps = ((len_px / 2.0).ceil() as usize).clamp(4, 24);
    let step = len_px / steps as f32;
    let gains = [
        cond.light * cond.white_balance[0],
        cond.light * cond.white_balance[1],
        cond.light * cond.white_balance[2],
        cond.light,
    ];
    let shadow = [
        1.0 - cond.shadow_strength,
        1.0 - cond.shadow_strength,
        1.0 - cond.shadow_strength * 0.8,
        1.0 - cond.shadow_strength * 0.9,
    ];
    let noise_seed = mix64(spec.seed ^ 0x5e45);
    for row in 0..h {
        for col in 0..w {
            let i = row * w + col;
            if alpha[i] == 0 {
                continue;
            }
            let hn = hash2(col as i64, row as i64, noise_seed);
            let mut shaded = false;
            if !tall[i] {
                // March towards the sun; a per-pixel jitter of the first step dithers the steps.
                let first = unit(hn >> 7) * step;
                for k in 0..steps {
                    let t = first + step * k as f32;
                    let (qx, qy) = (col as f32 + sx * t, row as f32 + sy * t);
                    if qx >= 0.0 && qy >= 0.0 && (qx as usize) < w && (qy as usize) < h {
                        let j = qy as usize * w + qx as usize;
                        if tall[j] {
                            shaded = true;
                            break;
                        }
                    }
                }
            }
            for b in 0..4 {
                let mut v = bands[b][i] as f32 / REFLECTANCE_SCALE;
                if shaded {
                    v *= shadow[b];
                }
                v *= gains[b];
                v = v * (1.0 - cond.haze) + cond.haze * HAZE[b];
                v *= 1.0 + 0.05 * (unit(hn << (b * 12)) - 0.5);
                bands[b][i] = (v * REFLECTANCE_SCALE).clamp(1.0, 65535.0) as u16;
            }
        }
    }
    (bands, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_covers_pixel_centres_inside() {
        let ring = [(1.0, 1.0), (4.0, 1.0), (4.0, 3.0), (1.0, 3.0)];
        let mut px = Vec::new();
        fill_polygon(&ring, 10, 10, |r, x0, x1| {
            for x in x0..x1 {
                px.push((x, r));
            }
        });
        assert_eq!(px, vec![(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)]);
        // Clipped at the raster's edges.
        let mut n = 0;
        fill_polygon(
            &[(-5.0, -5.0), (20.0, -5.0), (20.0, 20.0)],
            10,
            10,
            |_, x0, x1| n += x1 - x0,
        );
        assert!(n > 0 && n <= 100);
    }
}
