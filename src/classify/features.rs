//! Per-cell features of an analysis tile: what the model sees.
//!
//! A tile (256 × 256 px) is cut into cells of [`CELL`] × [`CELL`] pixels. Every band is first
//! brought into one domain — display-like values in 0..1 (8-bit sources as they are, 16-bit
//! reflectance or DN through the survey's white point and a 1/2.2 gamma), so a model trained on
//! one kind of file reads the other. Then each cell gets chromatic coordinates, excess green,
//! VARI and GLI, saturation, brightness relative to its neighbourhood, local texture, the density
//! of flower-like specks (bright low-saturation or magenta pixels standing out from the cell), and
//! NDVI / NIR ratio when there is a NIR band. Ratios and relative measures make the features
//! robust to light, haze and white balance; nothing is tuned to a scene.
//!
//! The hot loop is one pass over the pixels with fixed-size arrays: no allocation per cell.

use wide::{CmpGt, CmpLt, f32x8};

use crate::ingest::raster::Role;
use crate::tiling::layout::AnalysisTile;

/// Cell side in pixels.
pub const CELL: usize = 8;
/// Cells per tile side.
pub const CELLS: usize = 256 / CELL;
/// A cell is classified when at least this share of its pixels is inside the footprint.
pub const MIN_VALID: f32 = 0.5;

/// Feature names, in vector order. RGB features first; the NIR ones are only filled for RGBN.
pub const NAMES: [&str; N_FEATURES] = [
    "r_chroma",
    "g_chroma",
    "b_chroma",
    "excess_green",
    "vari",
    "gli",
    "saturation",
    "brightness",
    "brightness_vs_neighbourhood",
    "texture",
    "exg_texture",
    "speck_density",
    "magenta_density",
    "white_density",
    "blue_excess",
    "ctx_g_chroma",
    "ctx_excess_green",
    "ctx_texture",
    "ctx_speck_density",
    "ctx_magenta_density",
    "ctx_white_density",
    "ctx_blue_excess",
    "ctx_saturation",
    "ndvi",
    "nir_ratio",
    "ndvi_texture",
    "ctx_ndvi",
    "plant_g_chroma",
    "plant_b_chroma",
    "plant_exg_contrast",
    "plant_brightness_ratio",
    "ctx_plant_g_chroma",
    "flower_specks",
    "red_specks",
    "blue_vs_foliage",
    "red_vs_foliage",
    "edge_7cm",
    "edge_7cm_vs_14cm",
    "ctx_flower_specks",
    "ctx_red_specks",
    "speck_peak",
    "foliage_share",
];
pub const N_FEATURES: usize = 42;
/// The features up to and with the plant ones (what models of format `/3` before the structure
/// features read: their heads have this many inputs).
pub const N_PLANT: usize = 32;
/// Features available without NIR (the first ones).
pub const N_RGB: usize = 23;
/// The features up to and with the NIR ones (what the softmax heads read: the first [`N_RGB`]
/// or the first `N_RGBN`).
pub const N_RGBN: usize = 27;
/// Whether an RGB-only head may read feature `k` (all but the NIR ones).
pub fn rgb_feature(k: usize) -> bool {
    !(N_RGB..N_RGBN).contains(&k)
}
/// Whether boosted trees read feature `k` unless told otherwise (`VIGIL_GBDT_FEATURES`): all but
/// the brightness steps (36, 37), which made the trees trained on fieldgen find much less of
/// Vigil's plots (mean F1 0.08 against 0.30 without them; BENCHMARKS.md, "Structure features").
pub fn gbdt_default_feature(k: usize) -> bool {
    !(k == 36 || k == 37)
}
/// Base features whose 5 × 5-cell neighbourhood mean is a context feature, and where it goes.
const CONTEXT: [(usize, usize); 12] = [
    (1, 15),
    (3, 16),
    (9, 17),
    (11, 18),
    (12, 19),
    (13, 20),
    (14, 21),
    (6, 22),
    (23, 26),
    (27, 31),
    (32, 38),
    (33, 39),
];

/// How sample values map to 0..1 display-like values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Domain {
    /// Sample value taken as white.
    pub white: f32,
    /// Apply a 1/2.2 gamma (linear 16-bit data); 8-bit orthomosaics are already gamma-encoded.
    pub gamma: bool,
}

impl Domain {
    pub fn for_tile(sample_bytes: u8, white16: f32) -> Domain {
        if sample_bytes == 1 {
            Domain {
                white: 255.0,
                gamma: false,
            }
        } else {
            Domain {
                white: white16.max(1.0),
                gamma: true,
            }
        }
    }

    /// Lookup table over every possible sample value.
    pub fn lut(&self, max: usize) -> Vec<f32> {
        (0..=max)
            .map(|v| {
                let x = (v as f32 / self.white).clamp(0.0, 1.0);
                if self.gamma { x.powf(1.0 / 2.2) } else { x }
            })
            .collect()
    }
}

/// Brightness (mean of the brightest channel, display 0..1, after the survey's photometric
/// correction) below which a cell is in deep shadow: too little light reaches the camera to tell
/// one plant from another, so such cells are never flagged and never trained on. (Lighter
/// shadows are left to the model, which is taught with random cast shadows over crops labelled
/// "other vegetation": see `train::collect`.)
pub const DARK: f32 = 0.2;

/// Whether a cell is too dark to classify (see [`DARK`]).
pub fn too_dark(f: &[f32; N_FEATURES]) -> bool {
    f[7] < DARK
}

/// Per-band tables from sample values to the 0..1 values features are computed on: the survey's
/// [`Domain`] composed with its photometric correction (see [`super::photometry`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BandLuts {
    pub red: Vec<f32>,
    pub green: Vec<f32>,
    pub blue: Vec<f32>,
    pub nir: Vec<f32>,
}

impl BandLuts {
    /// The same table for every band (no photometric correction).
    pub fn uniform(lut: Vec<f32>) -> BandLuts {
        BandLuts {
            red: lut.clone(),
            green: lut.clone(),
            blue: lut.clone(),
            nir: lut,
        }
    }

    pub fn for_role(&self, role: Role) -> &[f32] {
        match role {
            Role::Red => &self.red,
            Role::Green => &self.green,
            Role::Blue => &self.blue,
            _ => &self.nir,
        }
    }
}

/// Features of every cell of one tile.
#[derive(Debug, Clone)]
pub struct TileFeatures {
    /// `CELLS × CELLS` rows of `N_FEATURES`, row-major by cell; `valid[i]` says whether cell `i`
    /// had enough pixels inside the footprint.
    pub values: Vec<[f32; N_FEATURES]>,
    pub valid: Vec<bool>,
    pub has_nir: bool,
}

#[derive(Clone, Copy, Default)]
struct Acc {
    n: f32,
    s: [f32; 26],
}

/// Pixels per cell.
const PX: usize = CELL * CELL;

/// The sums of one cell's pixels: `r`, `g`, `b`, `n` are 0..1 values, `w` 1 inside the
/// footprint and 0 outside. Each pixel row of the cell is one 8-lane vector (`wide`: SSE/AVX on
/// x86, NEON on ARM, plain code elsewhere); comparisons are lane masks, so there is no branch.
/// LLVM did not vectorise the scalar loop (many outputs per pixel), hence the explicit vectors.
#[inline(always)]
fn cell_sums<const PLANT: bool>(
    r: &[f32; PX],
    g: &[f32; PX],
    b: &[f32; PX],
    n: Option<&[f32; PX]>,
    w: &[f32; PX],
) -> Acc {
    let row = |a: &[f32; PX], y: usize| {
        let mut v = [0f32; CELL];
        v.copy_from_slice(&a[y * CELL..(y + 1) * CELL]);
        f32x8::from(v)
    };
    let zero = f32x8::ZERO;
    let (mut count, mut sum_v, mut sum_exg) = (zero, zero, zero);
    for y in 0..CELL {
        let (r, g, b, w) = (row(r, y), row(g, y), row(b, y), row(w, y));
        count += w;
        sum_v += w * r.max(g).max(b);
        if PLANT {
            sum_exg += w * (g + g - r - b) / (r + g + b + f32x8::splat(1e-4));
        }
    }
    let count = count.reduce_add();
    if count == 0.0 {
        return Acc::default();
    }
    let thresh = f32x8::splat(sum_v.reduce_add() / count * 1.2 + 0.02);
    // The cell's greener part (pixels greener than its mean): the plants where rows of plants
    // stand on soil, about half of it under a closed canopy.
    let exg_mean = f32x8::splat(sum_exg.reduce_add() / count);
    let mut s = [zero; 26];
    for y in 0..CELL {
        let (r, g, b, w) = (row(r, y), row(g, y), row(b, y), row(w, y));
        let v = r.max(g).max(b);
        // One division per pixel: chroma by the reciprocal of the sum; saturation tests as
        // products (its cell value is a ratio of sums).
        let inv = f32x8::ONE / (r + g + b + f32x8::splat(1e-4));
        let (rc, gc, bc) = (r * inv, g * inv, b * inv);
        let exg = gc + gc - rc - bc;
        let range = v - r.min(g).min(b);
        let bright = v.cmp_gt(thresh);
        let white = bright & range.cmp_lt(v * f32x8::splat(0.22));
        let magenta = r.cmp_gt(g * f32x8::splat(1.08))
            & b.cmp_gt(g * f32x8::splat(1.02))
            & range.cmp_gt(v * f32x8::splat(0.12));
        let speck = white | (bright & magenta);
        s[0] += w * rc;
        s[1] += w * gc;
        s[2] += w * bc;
        s[3] += w * exg;
        s[4] += w * v;
        s[5] += w * v * v;
        s[6] += w * exg * exg;
        s[7] += w * range;
        s[8] += speck.blend(w, zero);
        s[9] += magenta.blend(w, zero);
        s[10] += white.blend(w, zero);
        s[13] += w * r;
        s[14] += w * g;
        s[15] += w * b;
        if PLANT {
            let plant = exg.cmp_gt(exg_mean).blend(w, zero);
            s[16] += plant;
            s[17] += plant * gc;
            s[18] += plant * bc;
            s[19] += plant * exg;
            s[20] += plant * v;
            // The foliage reference of the structure features: pixels weighted by how much
            // greener than the cell's mean they are (the leaves, not the soil between them).
            let leaf = (exg - exg_mean).max(zero) * w;
            s[21] += leaf * r;
            s[22] += leaf * g;
            s[23] += leaf * b;
            s[24] += leaf * v;
            s[25] += leaf;
        }
        if let Some(n) = n {
            let nv = row(n, y);
            let ndvi = (nv - r) / (nv + r + f32x8::splat(1e-4));
            s[11] += w * ndvi;
            s[12] += w * ndvi * ndvi;
        }
    }
    Acc {
        n: count,
        s: s.map(|v| v.reduce_add()),
    }
}

/// The per-cell sums of a tile (the one pass over its pixels).
fn cell_accumulators<const PLANT: bool>(t: &AnalysisTile, luts: &BandLuts) -> Vec<Acc> {
    let red = t.plane(Role::Red).expect("analysis tiles have red");
    let green = t.plane(Role::Green).expect("analysis tiles have green");
    let blue = t.plane(Role::Blue).expect("analysis tiles have blue");
    let nir = t.plane(Role::Nir);
    let n_cells = CELLS * CELLS;
    // Cell by cell: the cell's pixels through the table into small arrays (L1-resident), then
    // the sums. Brightness relative to the cell mean needs the mean first, and both passes read
    // only the cell.
    let mut acc = vec![Acc::default(); n_cells];
    let (mut r, mut g, mut b, mut nv, mut w) =
        ([0f32; PX], [0f32; PX], [0f32; PX], [0f32; PX], [0f32; PX]);
    for cy in 0..CELLS {
        for cx in 0..CELLS {
            for y in 0..CELL {
                let row = (cy * CELL + y) * 256 + cx * CELL;
                let o = y * CELL;
                for x in 0..CELL {
                    let i = row + x;
                    r[o + x] = luts.red[red[i] as usize];
                    g[o + x] = luts.green[green[i] as usize];
                    b[o + x] = luts.blue[blue[i] as usize];
                    w[o + x] = if t.mask[i] == 0 { 0.0 } else { 1.0 };
                }
                if let Some(n) = nir {
                    for x in 0..CELL {
                        nv[o + x] = luts.nir[n[row + x] as usize];
                    }
                }
            }
            acc[cy * CELLS + cx] = cell_sums::<PLANT>(&r, &g, &b, nir.map(|_| &nv), &w);
        }
    }
    acc
}

/// Computes cell features of a tile. `luts` map samples to 0..1 (see [`Domain::lut`] and
/// [`super::photometry`]).
pub fn tile_features(t: &AnalysisTile, luts: &BandLuts) -> TileFeatures {
    tile_features_with(t, luts, true)
}

/// [`tile_features`], with the plant features (27–31) only when `plant`: they cost 15–25 % of
/// the pass (BENCHMARKS.md, "Model kind") and the softmax heads never read them, so the
/// classify path computes them only for a model that does ([`super::model::Model::reads_plant_features`]);
/// left out, they hold neutral values (the cell's own chromaticity, no contrast).
pub fn tile_features_with(t: &AnalysisTile, luts: &BandLuts, plant: bool) -> TileFeatures {
    let nir = t.plane(Role::Nir);
    let n_cells = CELLS * CELLS;
    let acc = if plant {
        cell_accumulators::<true>(t, luts)
    } else {
        cell_accumulators::<false>(t, luts)
    };
    let mut values = vec![[0f32; N_FEATURES]; n_cells];
    let mut valid = vec![false; n_cells];
    let per_cell = (CELL * CELL) as f32;
    for c in 0..n_cells {
        let a = &acc[c];
        if a.n < per_cell * MIN_VALID {
            continue;
        }
        valid[c] = true;
        let n = a.n;
        let mean = |k: usize| a.s[k] / n;
        let var = |k: usize, k2: usize| (a.s[k2] / n - mean(k) * mean(k)).max(0.0);
        let (r, g, b) = (mean(13), mean(14), mean(15));
        let v = mean(4);
        let f = &mut values[c];
        f[0] = mean(0);
        f[1] = mean(1);
        f[2] = mean(2);
        f[3] = mean(3);
        f[4] = ((g - r) / (g + r - b).abs().max(0.02)).clamp(-2.0, 2.0);
        f[5] = (2.0 * g - r - b) / (2.0 * g + r + b + 1e-4);
        f[6] = a.s[7] / a.s[4].max(1e-4);
        f[7] = v;
        f[8] = 0.0; // neighbourhood, below
        f[9] = var(4, 5).sqrt() / (v + 0.02);
        f[10] = var(3, 6).sqrt();
        f[11] = mean(8);
        f[12] = mean(9);
        f[13] = mean(10);
        f[14] = b - (r + g) / 2.0;
        if nir.is_some() {
            f[23] = mean(11);
            let nv = mean(11);
            f[24] = (1.0 + nv) / (1.0 - nv + 1e-3);
            f[25] = var(11, 12).sqrt();
        }
        // The greener part against the rest (plants against the soil between them).
        let np = a.s[16];
        let rest = n - np;
        if np > 0.0 {
            f[27] = a.s[17] / np;
            f[28] = a.s[18] / np;
        } else {
            f[27] = f[1];
            f[28] = f[2];
        }
        if np > 0.0 && rest > 0.0 {
            f[29] = a.s[19] / np - (a.s[3] - a.s[19]) / rest;
            f[30] = (a.s[20] / np) / ((a.s[4] - a.s[20]) / rest + 0.02);
        } else {
            f[29] = 0.0;
            f[30] = 1.0;
        }
    }
    if plant {
        structure_features(t, luts, &acc, &valid, &mut values);
    }
    // Neighbourhood sums over 5 × 5 cells (clipped at the tile edge, valid cells only), as two
    // separable passes of a box filter: slot 0 counts cells, slot 1 sums brightness, the rest sum
    // the context sources.
    const Q: usize = CONTEXT.len() + 2;
    let mut src = vec![[0f32; Q]; n_cells];
    for c in (0..n_cells).filter(|c| valid[*c]) {
        src[c][0] = 1.0;
        src[c][1] = values[c][7];
        for (j, (from, _)) in CONTEXT.iter().enumerate() {
            src[c][2 + j] = values[c][*from];
        }
    }
    let window = |i: usize| i.saturating_sub(2)..(i + 3).min(CELLS);
    let mut across = vec![[0f32; Q]; n_cells];
    for cy in 0..CELLS {
        for cx in 0..CELLS {
            let out = &mut across[cy * CELLS + cx];
            for nx in window(cx) {
                let v = &src[cy * CELLS + nx];
                for q in 0..Q {
                    out[q] += v[q];
                }
            }
        }
    }
    for cy in 0..CELLS {
        for cx in 0..CELLS {
            let c = cy * CELLS + cx;
            if !valid[c] {
                continue;
            }
            let mut win = [0f32; Q];
            for ny in window(cy) {
                let v = &across[ny * CELLS + cx];
                for q in 0..Q {
                    win[q] += v[q];
                }
            }
            let n = win[0];
            // Brightness against the neighbourhood (exposure and haze cancel out).
            values[c][8] = values[c][7] / (win[1] / n + 0.02);
            // Context: features averaged over the neighbourhood (plots are tens of cells across;
            // a lone cell's look is noisy).
            for (j, (_, to)) in CONTEXT.iter().enumerate() {
                values[c][*to] = win[2 + j] / n;
            }
        }
    }
    TileFeatures {
        values,
        valid,
        has_nir: nir.is_some(),
    }
}

/// How much redder (red over green) and bluer (blue over green) than the neighbourhood's foliage
/// a pixel must be to count as a pale, pink or purple speck (a flower on the leaves, mixed with
/// them in a 7 cm pixel), and how much redder for a red one (or soil). Ratios of ratios: a white balance (a gain per band) and the exposure cancel.
const FLOWER_RED: f32 = 1.4;
const FLOWER_BLUE: f32 = 1.15;
const REDDER: f32 = 2.0;

/// The structure features (32–37) of every valid cell, measured against the foliage of the
/// cell's 5 × 5-cell neighbourhood (its greener pixels, see `cell_sums`): the share of pixels
/// much bluer or much redder than that foliage and at least as bright (flowers standing out of
/// the leaves), the cell's blue and red over green against the foliage's (log ratios), and the
/// relative brightness step between neighbouring pixels at one pixel (7 cm at the classification
/// zoom) and its ratio to the step at two pixels (fine structure — petals, leaflets — against
/// coarse). Every one is a ratio of same-band quantities, so it does not move with a gain per
/// band (white balance, exposure); haze only shrinks it.
fn structure_features(
    t: &AnalysisTile,
    luts: &BandLuts,
    acc: &[Acc],
    valid: &[bool],
    values: &mut [[f32; N_FEATURES]],
) {
    let red = t.plane(Role::Red).expect("analysis tiles have red");
    let green = t.plane(Role::Green).expect("analysis tiles have green");
    let blue = t.plane(Role::Blue).expect("analysis tiles have blue");
    // The foliage of each 5 × 5-cell neighbourhood: sums of its plant pixels' r, g, b, v.
    let window = |i: usize| i.saturating_sub(2)..(i + 3).min(CELLS);
    let n_cells = CELLS * CELLS;
    let src: Vec<[f32; 5]> = acc
        .iter()
        .map(|a| [a.s[25], a.s[21], a.s[22], a.s[23], a.s[24]])
        .collect();
    let mut across = vec![[0f32; 5]; n_cells];
    for cy in 0..CELLS {
        for cx in 0..CELLS {
            let out = &mut across[cy * CELLS + cx];
            for nx in window(cx) {
                let v = &src[cy * CELLS + nx];
                for q in 0..5 {
                    out[q] += v[q];
                }
            }
        }
    }
    let (mut r, mut g, mut b, mut v, mut w) =
        ([0f32; PX], [0f32; PX], [0f32; PX], [0f32; PX], [false; PX]);
    for cy in 0..CELLS {
        for cx in 0..CELLS {
            let c = cy * CELLS + cx;
            if !valid[c] {
                continue;
            }
            let mut win = [0f32; 5];
            for ny in window(cy) {
                let a = &across[ny * CELLS + cx];
                for q in 0..5 {
                    win[q] += a[q];
                }
            }
            let a = &acc[c];
            // Without foliage around, the cell itself is the reference (no contrast).
            let (fr, fg, fb, fv) = if win[0] > 0.0 && win[2] > 0.0 {
                (win[1], win[2], win[3], win[4] / win[0])
            } else {
                (a.s[13], a.s[14].max(1e-6), a.s[15], a.s[4] / a.n)
            };
            let (rg, bg) = (fr / fg, fb / fg);
            for y in 0..CELL {
                let row = (cy * CELL + y) * 256 + cx * CELL;
                for x in 0..CELL {
                    let i = row + x;
                    let o = y * CELL + x;
                    r[o] = luts.red[red[i] as usize];
                    g[o] = luts.green[green[i] as usize];
                    b[o] = luts.blue[blue[i] as usize];
                    v[o] = r[o].max(g[o]).max(b[o]);
                    w[o] = t.mask[i] != 0;
                }
            }
            let (mut n, mut bluer, mut redder) = (0f32, 0f32, 0f32);
            // The strongest speck, kept as a ratio (its log is taken once per cell).
            let (mut peak, mut leafy) = ((-1f32).exp(), 0f32);
            let (mut e1, mut n1, mut e2, mut n2) = (0f32, 0f32, 0f32, 0f32);
            let step = |p: usize, q: usize| (v[p] - v[q]).abs() / (v[p] + v[q] + 0.02);
            for y in 0..CELL {
                for x in 0..CELL {
                    let o = y * CELL + x;
                    if !w[o] {
                        continue;
                    }
                    n += 1.0;
                    // Red and blue over green against the foliage's.
                    let gi = g[o].max(1e-4);
                    let rr = r[o] / (gi * rg.max(1e-4));
                    let bb = b[o] / (gi * bg.max(1e-4));
                    if rr > FLOWER_RED && bb > FLOWER_BLUE && v[o] >= 0.9 * fv {
                        bluer += 1.0;
                    }
                    if rr > REDDER {
                        redder += 1.0;
                    }
                    peak = peak.max(rr * bb);
                    if (rr - 1.0).abs() < 0.15 && (bb - 1.0).abs() < 0.15 {
                        leafy += 1.0;
                    }
                    for (dx, dy) in [(1, 0), (0, 1)] {
                        if x + dx < CELL && y + dy < CELL && w[o + dy * CELL + dx] {
                            e1 += step(o, o + dy * CELL + dx);
                            n1 += 1.0;
                        }
                        if x + 2 * dx < CELL && y + 2 * dy < CELL && w[o + 2 * (dy * CELL + dx)] {
                            e2 += step(o, o + 2 * (dy * CELL + dx));
                            n2 += 1.0;
                        }
                    }
                }
            }
            let f = &mut values[c];
            let n = n.max(1.0);
            f[32] = bluer / n;
            f[33] = redder / n;
            let cg = a.s[14].max(1e-6);
            f[34] = ((a.s[15] / cg).max(1e-4) / bg.max(1e-4))
                .ln()
                .clamp(-3.0, 3.0);
            f[35] = ((a.s[13] / cg).max(1e-4) / rg.max(1e-4))
                .ln()
                .clamp(-3.0, 3.0);
            let e1 = e1 / n1.max(1.0);
            let e2 = e2 / n2.max(1.0);
            f[36] = e1;
            f[37] = e1 / (e2 + 0.01);
            f[40] = peak.ln().clamp(-1.0, 3.0);
            f[41] = leafy / n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(
        px: impl Fn(usize, usize) -> [u16; 4],
        mask: impl Fn(usize, usize) -> bool,
    ) -> AnalysisTile {
        let mut planes = vec![vec![0u16; 65536]; 4];
        let mut m = vec![0u8; 65536];
        for y in 0..256 {
            for x in 0..256 {
                let p = px(x, y);
                for b in 0..4 {
                    planes[b][y * 256 + x] = p[b];
                }
                m[y * 256 + x] = if mask(x, y) { 255 } else { 0 };
            }
        }
        AnalysisTile {
            sample_bytes: 1,
            roles: vec![Role::Red, Role::Green, Role::Blue, Role::Nir],
            planes,
            mask: m,
        }
    }

    #[test]
    fn green_canopy_and_white_specks_are_told_apart() {
        let lut = Domain::for_tile(1, 0.0).lut(255);
        let lut = BandLuts::uniform(lut);
        // Left half: uniform green canopy with high NIR. Right half: grey-green canopy with a
        // white speck every 4th pixel.
        let t = tile(
            |x, y| {
                if x < 128 {
                    [60, 140, 50, 200]
                } else if (x + y) % 4 == 0 {
                    [240, 240, 235, 200]
                } else {
                    [110, 130, 120, 150]
                }
            },
            |_, _| true,
        );
        let f = tile_features(&t, &lut);
        let green = f.values[5 * CELLS + 2];
        let poppyish = f.values[5 * CELLS + 20];
        let idx = |name: &str| NAMES.iter().position(|n| *n == name).unwrap();
        assert!(green[idx("excess_green")] > poppyish[idx("excess_green")]);
        assert!(
            poppyish[idx("speck_density")] > 0.2,
            "{}",
            poppyish[idx("speck_density")]
        );
        assert_eq!(green[idx("speck_density")], 0.0);
        assert!(green[idx("ndvi")] > 0.4);
        assert!(poppyish[idx("texture")] > green[idx("texture")]);
    }

    /// The straightforward two-pass version the vectorised one replaced: the reference.
    fn reference_accumulators(t: &AnalysisTile, luts: &BandLuts) -> Vec<Acc> {
        let lut = &luts.red;
        let red = t.plane(Role::Red).expect("analysis tiles have red");
        let green = t.plane(Role::Green).expect("analysis tiles have green");
        let blue = t.plane(Role::Blue).expect("analysis tiles have blue");
        let nir = t.plane(Role::Nir);
        let n_cells = CELLS * CELLS;
        // Pass 1: per-cell means of brightness (for the relative features of pass 2).
        let mut mean_v = vec![0f32; n_cells];
        let mut count = vec![0f32; n_cells];
        for y in 0..256 {
            let cy = y / CELL;
            for x in 0..256 {
                let i = y * 256 + x;
                if t.mask[i] == 0 {
                    continue;
                }
                // The table is monotonic: the brightest band's value is the value of the largest sample.
                let v = lut[red[i].max(green[i]).max(blue[i]) as usize];
                let c = cy * CELLS + x / CELL;
                mean_v[c] += v;
                count[c] += 1.0;
            }
        }
        for (m, n) in mean_v.iter_mut().zip(&count) {
            if *n > 0.0 {
                *m /= n;
            }
        }
        // Pass 2: sums per cell.
        let mut acc = vec![Acc::default(); n_cells];
        for y in 0..256 {
            let cy = y / CELL;
            for x in 0..256 {
                let i = y * 256 + x;
                if t.mask[i] == 0 {
                    continue;
                }
                let c = cy * CELLS + x / CELL;
                let (r, g, b) = (
                    lut[red[i] as usize],
                    lut[green[i] as usize],
                    lut[blue[i] as usize],
                );
                // One division per pixel: chroma by the reciprocal of the sum; saturation tests as
                // products (its cell value is a ratio of sums).
                let inv = 1.0 / (r + g + b + 1e-4);
                let (rc, gc, bc) = (r * inv, g * inv, b * inv);
                let exg = 2.0 * gc - rc - bc;
                let v = r.max(g).max(b);
                let range = v - r.min(g).min(b);
                let bright = v > mean_v[c] * 1.2 + 0.02;
                let white = bright && range < 0.22 * v;
                let magenta = r > g * 1.08 && b > g * 1.02 && range > 0.12 * v;
                let speck = white || (bright && magenta);
                let ndvi = match nir {
                    Some(n) => {
                        let nv = lut[n[i] as usize];
                        (nv - r) / (nv + r + 1e-4)
                    }
                    None => 0.0,
                };
                let a = &mut acc[c];
                a.n += 1.0;
                a.s[0] += rc;
                a.s[1] += gc;
                a.s[2] += bc;
                a.s[3] += exg;
                a.s[4] += v;
                a.s[5] += v * v;
                a.s[6] += exg * exg;
                a.s[7] += range;
                a.s[8] += f32::from(speck);
                a.s[9] += f32::from(magenta);
                a.s[10] += f32::from(white);
                a.s[11] += ndvi;
                a.s[12] += ndvi * ndvi;
                a.s[13] += r;
                a.s[14] += g;
                a.s[15] += b;
            }
        }
        acc
    }

    #[test]
    fn the_vectorised_pass_matches_the_reference() {
        let lut = Domain::for_tile(1, 0.0).lut(255);
        let lut = BandLuts::uniform(lut);
        let lut16 = Domain::for_tile(2, 9000.0).lut(u16::MAX as usize);
        let lut16 = BandLuts::uniform(lut16);
        // Pseudo-random pixels (a small LCG), a ragged footprint edge, with and without NIR.
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u16
        };
        for (sample_bytes, lut) in [(1u8, &lut), (2, &lut16)] {
            let max = if sample_bytes == 1 { 256 } else { 12000 };
            let mut t = tile(|_, _| [0; 4], |x, y| x * 3 + y > 40);
            for p in t.planes.iter_mut() {
                for v in p.iter_mut() {
                    *v = next() % max;
                }
            }
            t.sample_bytes = sample_bytes;
            for nir in [true, false] {
                if !nir {
                    t.roles.truncate(3);
                    t.planes.truncate(3);
                }
                let a = cell_accumulators::<true>(&t, lut);
                let b = reference_accumulators(&t, lut);
                for (c, (x, y)) in a.iter().zip(&b).enumerate() {
                    assert_eq!(x.n, y.n, "cell {c}");
                    for k in 0..16 {
                        let tol = 1e-4 * y.s[k].abs().max(1.0);
                        assert!(
                            (x.s[k] - y.s[k]).abs() <= tol,
                            "cell {c} sum {k}: {} vs {}",
                            x.s[k],
                            y.s[k]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn neighbourhood_features_match_a_direct_sum() {
        let lut = Domain::for_tile(1, 0.0).lut(255);
        let lut = BandLuts::uniform(lut);
        let t = tile(
            |x, y| {
                let j = ((x * 31 + y * 17) % 23) as u16;
                [60 + j * 3, 100 + j, 40 + j * 2, 150 + j]
            },
            |x, y| (x / 8 + y / 8) % 5 != 0 && x + y > 30,
        );
        let f = tile_features(&t, &lut);
        for cy in 0..CELLS {
            for cx in 0..CELLS {
                let c = cy * CELLS + cx;
                if !f.valid[c] {
                    continue;
                }
                let (mut n, mut bright, mut ctx) = (0f32, 0f32, [0f32; CONTEXT.len()]);
                for ny in cy.saturating_sub(2)..(cy + 3).min(CELLS) {
                    for nx in cx.saturating_sub(2)..(cx + 3).min(CELLS) {
                        let k = ny * CELLS + nx;
                        if f.valid[k] {
                            n += 1.0;
                            bright += f.values[k][7];
                            for (j, (from, _)) in CONTEXT.iter().enumerate() {
                                ctx[j] += f.values[k][*from];
                            }
                        }
                    }
                }
                let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * b.abs().max(1.0);
                let want = f.values[c][7] / (bright / n + 0.02);
                assert!(
                    close(f.values[c][8], want),
                    "cell {c}: {} vs {want}",
                    f.values[c][8]
                );
                for (j, (_, to)) in CONTEXT.iter().enumerate() {
                    assert!(
                        close(f.values[c][*to], ctx[j] / n),
                        "cell {c} {}",
                        NAMES[*to]
                    );
                }
            }
        }
    }

    #[test]
    fn cells_mostly_outside_the_footprint_are_not_classified() {
        let lut = Domain::for_tile(1, 0.0).lut(255);
        let lut = BandLuts::uniform(lut);
        let t = tile(|_, _| [100, 100, 100, 100], |x, _| x >= 4);
        let f = tile_features(&t, &lut);
        assert!(f.valid[0], "half a cell is enough");
        let t = tile(|_, _| [100, 100, 100, 100], |x, _| x >= 5);
        let f = tile_features(&t, &lut);
        assert!(!f.valid[0]);
        assert!(f.valid[1]);
    }

    #[test]
    fn structure_features_see_flowers_on_leaves_whatever_the_white_balance() {
        let lut = Domain::for_tile(1, 0.0).lut(255);
        let lut = BandLuts::uniform(lut);
        // Left: blue-green leaves with a pink speck every 5th pixel; right: the same leaves alone.
        // Then the same under a warm cast and less exposure (a gain per band).
        let scene = |gain: [f32; 3]| {
            tile(
                move |x, y| {
                    let j = ((x * 7 + y * 13) % 11) as f32;
                    let px = if x < 128 && (x * 3 + y) % 5 == 0 {
                        [200.0, 120.0, 170.0]
                    } else {
                        [80.0 + j, 120.0 + j, 100.0 + j]
                    };
                    [
                        (px[0] * gain[0]) as u16,
                        (px[1] * gain[1]) as u16,
                        (px[2] * gain[2]) as u16,
                        150,
                    ]
                },
                |_, _| true,
            )
        };
        let idx = |name: &str| NAMES.iter().position(|n| *n == name).unwrap();
        let (flower, leaves) = (10 * CELLS + 6, 10 * CELLS + 25);
        let plain = tile_features(&scene([1.0, 1.0, 1.0]), &lut);
        let warm = tile_features(&scene([1.1, 0.8, 0.6]), &lut);
        for f in [&plain, &warm] {
            assert!(f.values[flower][idx("flower_specks")] > 0.15);
            assert_eq!(f.values[leaves][idx("flower_specks")], 0.0);
            assert!(
                f.values[flower][idx("speck_peak")] > f.values[leaves][idx("speck_peak")] + 0.5
            );
            assert!(f.values[leaves][idx("foliage_share")] > 0.9);
        }
        // The colour ones do not move with a gain per band; the brightness steps (36, 37: of the
        // brightest band) only not with one gain for all.
        let darker = tile_features(&scene([0.7, 0.7, 0.7]), &lut);
        for (k, name) in NAMES.iter().enumerate().skip(32) {
            let other = if k == 36 || k == 37 { &darker } else { &warm };
            for c in [flower, leaves] {
                let (a, b) = (plain.values[c][k], other.values[c][k]);
                assert!(
                    (a - b).abs() < 0.05 + 0.05 * a.abs(),
                    "{}: {a} vs {b}",
                    name
                );
            }
        }
        // Left out for a model that does not read them.
        let off = tile_features_with(&scene([1.0, 1.0, 1.0]), &lut, false);
        assert_eq!(off.values[flower][idx("flower_specks")], 0.0);
    }

    #[test]
    fn features_do_not_move_with_overall_light() {
        let lut = Domain::for_tile(1, 0.0).lut(255);
        let lut = BandLuts::uniform(lut);
        let scene = |k: f32| {
            tile(
                move |x, y| {
                    let base = [90.0, 120.0, 70.0, 160.0];
                    let j = ((x * 7 + y * 13) % 17) as f32;
                    base.map(|v| ((v + j) * k) as u16)
                },
                |_, _| true,
            )
        };
        let a = tile_features(&scene(1.0), &lut);
        let b = tile_features(&scene(1.3), &lut);
        for k in [0, 1, 2, 3, 5, 8, 15] {
            let (x, y) = (a.values[100][k], b.values[100][k]);
            assert!((x - y).abs() < 0.03, "{}: {x} vs {y}", NAMES[k]);
        }
    }
}
