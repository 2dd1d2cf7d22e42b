//! From analysis tiles to flagged plots: every tile of a survey is classified cell by cell in
//! parallel into one survey-wide cell grid (so a plot spanning several tiles is one plot), the
//! target classes are cleaned with a 3 × 3 majority, joined into 8-connected components,
//! vectorised (runs → union → simplify, as the survey footprint), measured on the ellipsoid, and
//! kept when at least the minimum mapping unit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use geo::{GeodesicArea, MultiPolygon};

use super::features::{self, CELL, CELLS, Domain, N_FEATURES, NAMES};
use super::model::{CANNABIS, Model, N_CLASSES, POPPY};
use super::reader::SurveyReader;
use crate::grid::{self, ORIGIN_SHIFT, TILE_SIZE, Tile};
use crate::tiling::LevelRange;
use crate::tiling::footprint::{self, Mask};
use crate::tiling::layout::SurveyDir;

/// Other vegetation: what cells left out of a target class become.
const OTHER: usize = 2;

/// Cell value for "no data" in the class grid.
pub const NO_DATA: u8 = 255;

/// The classified cells of a survey.
#[derive(Debug, Clone)]
pub struct CellMap {
    pub level: LevelRange,
    pub width: usize,
    pub height: usize,
    /// Most likely class per cell, or [`NO_DATA`].
    pub class: Vec<u8>,
    /// Class probabilities per cell, in [`model::CLASSES`] order.
    pub prob: Vec<[f32; N_CLASSES]>,
    /// Features of the cells whose class is a target (for explaining flags).
    pub target_features: HashMap<usize, [f32; N_FEATURES]>,
    pub has_nir: bool,
    /// Tiles classified, and of them the ones skipped early for holding no vegetation-like cell.
    pub tiles: usize,
}

/// Classifies a survey whose analysis tiles are at `native`, tile by tile at the classification
/// zoom ([`super::scale`]) through its photometric correction ([`super::reader`]).
/// `progress(done, total)` is called as tiles finish; `cancelled()` stops early (returns `None`).
pub fn classify_survey(
    dir: &SurveyDir,
    native: LevelRange,
    domain: Domain,
    model: &Model,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Option<CellMap>, String> {
    let mut reader = SurveyReader::open(dir, native, domain, None)?;
    reader.plant_features = model.reads_plant_features();
    let level = reader.level;
    let tiles = reader.tiles();
    let width = (level.max_x - level.min_x + 1) as usize * CELLS;
    let height = (level.max_y - level.min_y + 1) as usize * CELLS;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    type TileResult = (
        Tile,
        Vec<u8>,
        Vec<[f32; N_CLASSES]>,
        Vec<(usize, [f32; N_FEATURES])>,
        bool,
    );
    let results: Mutex<Vec<TileResult>> = Mutex::new(Vec::new());
    let error: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(tiles.len().max(1)) {
            s.spawn(|| {
                let mut scratch: Vec<usize> = Vec::new();
                loop {
                    if cancelled() || error.lock().expect("error").is_some() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&t) = tiles.get(i) else { return };
                    let got = if let Some(net) = model.cnn() {
                        reader.features_and_pixels(t).map(|o| {
                            o.map(|(f, px, mask)| {
                                let mut p = vec![[0f32; N_CLASSES]; CELLS * CELLS];
                                net.predict_tile(&px, &mask, &mut p);
                                (f, Some(p))
                            })
                        })
                    } else {
                        reader.features(t).map(|o| o.map(|f| (f, None)))
                    };
                    let (f, net_probs) = match got {
                        Ok(Some(f)) => f,
                        Ok(None) => {
                            progress(done.fetch_add(1, Ordering::SeqCst) + 1, tiles.len());
                            continue;
                        }
                        Err(e) => {
                            *error.lock().expect("error") = Some(e);
                            return;
                        }
                    };
                    let head = model.head(f.has_nir);
                    scratch.clear();
                    scratch.extend((0..CELLS * CELLS).filter(|c| f.valid[*c]));
                    let xs: Vec<[f32; N_FEATURES]> = scratch.iter().map(|&c| f.values[c]).collect();
                    let mut probs = vec![[0f32; N_CLASSES]; xs.len()];
                    match &net_probs {
                        Some(p) => {
                            for (o, &c) in probs.iter_mut().zip(&scratch) {
                                *o = p[c];
                            }
                        }
                        None => head.predict_batch(&xs, &mut probs),
                    }
                    let mut cls = vec![NO_DATA; CELLS * CELLS];
                    let mut pr = vec![[0f32; N_CLASSES]; CELLS * CELLS];
                    let mut keep = Vec::new();
                    for (&c, &p) in scratch.iter().zip(&probs) {
                        let best = (0..N_CLASSES)
                            .max_by(|a, b| p[*a].total_cmp(&p[*b]))
                            .expect("classes");
                        cls[c] = best as u8;
                        pr[c] = p;
                        if best == POPPY || best == CANNABIS {
                            keep.push((c, f.values[c]));
                        }
                    }
                    results
                        .lock()
                        .expect("results")
                        .push((t, cls, pr, keep, f.has_nir));
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1, tiles.len());
                }
            });
        }
    });
    if let Some(e) = error.into_inner().expect("error") {
        return Err(e);
    }
    if cancelled() {
        return Ok(None);
    }
    let mut map = CellMap {
        level,
        width,
        height,
        class: vec![NO_DATA; width * height],
        prob: vec![[0.0; N_CLASSES]; width * height],
        target_features: HashMap::new(),
        has_nir: false,
        tiles: tiles.len(),
    };
    for (t, cls, pr, keep, nir) in results.into_inner().expect("results") {
        map.has_nir |= nir;
        let ox = (t.x - level.min_x) as usize * CELLS;
        let oy = (t.y - level.min_y) as usize * CELLS;
        for cy in 0..CELLS {
            let row = (oy + cy) * width + ox;
            map.class[row..row + CELLS].copy_from_slice(&cls[cy * CELLS..(cy + 1) * CELLS]);
            map.prob[row..row + CELLS].copy_from_slice(&pr[cy * CELLS..(cy + 1) * CELLS]);
        }
        for (c, f) in keep {
            map.target_features
                .insert((oy + c / CELLS) * width + ox + c % CELLS, f);
        }
    }
    Ok(Some(map))
}

/// A plot found in a survey.
#[derive(Debug, Clone)]
pub struct FoundPlot {
    /// `poppy` or `cannabis`.
    pub class: &'static str,
    pub geometry: MultiPolygon<f64>,
    pub area_m2: f64,
    /// Mean probability of the class over the plot's cells.
    pub confidence: f64,
    /// Mean probability of every class over the plot's cells, in [`model::CLASSES`] order.
    pub probabilities: [f64; N_CLASSES],
    pub cells: usize,
    /// The features that most set the plot apart, as (name, z-score against the training data).
    pub drivers: Vec<(String, f32)>,
}

/// Features a reviewer can read, for the explanation.
const EXPLAINED: [&str; 9] = [
    "speck_density",
    "magenta_density",
    "white_density",
    "excess_green",
    "g_chroma",
    "blue_excess",
    "texture",
    "saturation",
    "ndvi",
];

/// Morphological opening of each target class with a 3 × 3 square: erodes, then dilates back
/// inside the class. Strips of one or two cells (about a metre: a road's bright edge against
/// grass, the rim of a roof) vanish; a plot of 40 m² and more is ten cells across and keeps its
/// shape.
fn open_targets(class: &mut [u8], w: usize, h: usize) {
    for t in [POPPY as u8, CANNABIS as u8] {
        let inside = |c: &[u8], x: usize, y: usize| -> bool {
            x > 0
                && y > 0
                && x + 1 < w
                && y + 1 < h
                && (y - 1..=y + 1).all(|ny| (x - 1..=x + 1).all(|nx| c[ny * w + nx] == t))
        };
        let mut core = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                core[y * w + x] = class[y * w + x] == t && inside(class, x, y);
            }
        }
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if class[i] != t {
                    continue;
                }
                let near_core = (y.saturating_sub(1)..(y + 2).min(h))
                    .any(|ny| (x.saturating_sub(1)..(x + 2).min(w)).any(|nx| core[ny * w + nx]));
                if !near_core {
                    class[i] = OTHER as u8;
                }
            }
        }
    }
}

/// Finds plots in a classified survey.
pub fn extract(map: &CellMap, model: &Model, min_area_m2: f64) -> Vec<FoundPlot> {
    let (w, h) = (map.width, map.height);
    // 3 × 3 majority for the target classes: a cell joins a class most of its neighbours have,
    // and leaves it when few do (removes specks and fills pinholes).
    let mut cleaned = map.class.clone();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if map.class[i] == NO_DATA {
                continue;
            }
            let mut n = [0u8; N_CLASSES];
            let mut valid = 0u8;
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let c = map.class[ny * w + nx];
                    if c != NO_DATA {
                        n[c as usize] += 1;
                        valid += 1;
                    }
                }
            }
            let here = map.class[i] as usize;
            for t in [POPPY, CANNABIS] {
                if n[t] * 2 > valid {
                    cleaned[i] = t as u8;
                } else if here == t && n[t] * 3 < valid {
                    cleaned[i] = OTHER as u8;
                }
            }
        }
    }
    open_targets(&mut cleaned, w, h);
    let res = grid::resolution(map.level.z);
    let cell_m = res * CELL as f64;
    let minx = -ORIGIN_SHIFT + f64::from(map.level.min_x) * f64::from(TILE_SIZE) * res;
    let maxy = ORIGIN_SHIFT - f64::from(map.level.min_y) * f64::from(TILE_SIZE) * res;
    let head = model.head(map.has_nir);
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for start in 0..w * h {
        let class = cleaned[start] as usize;
        if seen[start] || !(class == POPPY || class == CANNABIS) {
            continue;
        }
        // Flood fill (8-connected).
        let mut stack = vec![start];
        seen[start] = true;
        let mut cells = Vec::new();
        while let Some(i) = stack.pop() {
            cells.push(i);
            let (x, y) = (i % w, i / w);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let k = ny * w + nx;
                    if !seen[k] && cleaned[k] as usize == class {
                        seen[k] = true;
                        stack.push(k);
                    }
                }
            }
        }
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for &i in &cells {
            x0 = x0.min(i % w);
            x1 = x1.max(i % w);
            y0 = y0.min(i / w);
            y1 = y1.max(i / w);
        }
        // Cheap pre-check before vectorising: the cells' area in metres on the ground.
        let lat = grid::mercator_to_lon_lat(0.0, maxy - (y0 as f64) * cell_m)[1];
        let ground = cells.len() as f64 * (cell_m * lat.to_radians().cos()).powi(2);
        if ground < min_area_m2 * 0.5 {
            continue;
        }
        let (mw, mh) = (x1 - x0 + 1, y1 - y0 + 1);
        let bounds = [
            minx + x0 as f64 * cell_m,
            maxy - (y1 + 1) as f64 * cell_m,
            minx + (x1 + 1) as f64 * cell_m,
            maxy - y0 as f64 * cell_m,
        ];
        let mut mask = Mask::new(mw, mh, bounds);
        for &i in &cells {
            mask.set(i % w - x0, i / w - y0);
        }
        let geometry = footprint::outline(&mask);
        let area_m2 = geometry.geodesic_area_unsigned();
        if area_m2 < min_area_m2 {
            continue;
        }
        let mut probabilities = [0f64; N_CLASSES];
        for &i in &cells {
            for (k, p) in probabilities.iter_mut().enumerate() {
                *p += f64::from(map.prob[i][k]);
            }
        }
        probabilities
            .iter_mut()
            .for_each(|p| *p /= cells.len() as f64);
        let slot = class;
        let confidence = cells
            .iter()
            .map(|&i| f64::from(map.prob[i][slot]))
            .sum::<f64>()
            / cells.len() as f64;
        // Drivers: mean z-score of explained features over the plot's cells.
        let mut sums = [0f64; N_FEATURES];
        let mut n = 0f64;
        for i in &cells {
            if let Some(f) = map.target_features.get(i) {
                for (s, v) in sums.iter_mut().zip(f) {
                    *s += f64::from(*v);
                }
                n += 1.0;
            }
        }
        let mut drivers: Vec<(String, f32)> = Vec::new();
        if n > 0.0 {
            for name in EXPLAINED {
                let Some(k) = NAMES.iter().position(|x| *x == name) else {
                    continue;
                };
                // (A boosted-tree RGB head reads features past the NIR ones, never those.)
                if k >= head.n_inputs || (head.bands == "rgb" && !features::rgb_feature(k)) {
                    continue;
                }
                let z = ((sums[k] / n) as f32 - head.mean[k]) / head.std[k];
                drivers.push((name.to_string(), (z * 100.0).round() / 100.0));
            }
            drivers.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            drivers.truncate(3);
        }
        out.push(FoundPlot {
            class: if class == POPPY { "poppy" } else { "cannabis" },
            geometry,
            area_m2,
            confidence,
            probabilities,
            cells: cells.len(),
            drivers,
        });
    }
    out
}
