//! Training the vegetation model from labelled scenes (`vigil train`).
//!
//! Each scene (a GeoTIFF and its truth GeoJSON, as `vigil sample-imagery` writes them) goes
//! through the real ingest path — inspection, warp and tiling — so the model learns from exactly
//! the analysis tiles it will classify. Cells wholly inside one truth plot are labelled with the
//! plot's class group (poppy, cannabis, other vegetation, non-vegetation); cells wholly outside
//! every plot are background vegetation; cells on plot edges are left out. Classes are balanced by
//! capping cells per class and scene, then a head is fitted per band set by mini-batch Adam on the
//! softmax cross-entropy with L2, with class weights.

use std::path::{Path, PathBuf};

use geo::{BoundingRect, Contains, MultiPolygon, Point, Rect};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;

use super::augment::Augment;
use super::cnn;
use super::features::{self, CELL, CELLS, Domain, N_FEATURES, N_RGB};
use super::gbdt;
use super::model::{self, Head, Model, N_CLASSES};
use super::reader::SurveyReader;
use super::scale;
use crate::config::TileFormat;
use crate::grid::{self, Tile};
use crate::ingest::raster::{self, Limits, SampleType};
use crate::tiling::{self, Observer, Stage};

/// A scene and its truth.
#[derive(Debug, Clone)]
pub struct LabelledScene {
    pub tif: PathBuf,
    pub truth: PathBuf,
}

/// The class group a truth class trains.
pub fn group_of(truth_class: &str) -> Option<usize> {
    Some(match truth_class {
        "poppy" => 0,
        "cannabis" => 1,
        "cabbage" | "buckwheat" | "mustard" | "blossoming_tree" | "maize" | "tea" | "forest" => 2,
        "bare_soil" | "roof" | "road" => 3,
        _ => return None,
    })
}

/// One labelled cell.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub x: [f32; N_FEATURES],
    pub class: u8,
    pub nir: bool,
}

struct TruthPlot {
    group: usize,
    bbox: Rect<f64>,
    shape: MultiPolygon<f64>,
}

fn read_truth(path: &Path) -> Result<Vec<TruthPlot>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e| format!("{}: not GeoJSON: {e}", path.display()))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(format!("{}: not a FeatureCollection", path.display()));
    };
    let mut out = Vec::new();
    for (i, f) in fc.features.iter().enumerate() {
        let class = f
            .property("class")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{}: feature {i} has no class", path.display()))?;
        let group = group_of(class)
            .ok_or_else(|| format!("{}: feature {i}: unknown class {class:?}", path.display()))?;
        let geom = f
            .geometry
            .as_ref()
            .ok_or_else(|| format!("{}: feature {i} has no geometry", path.display()))?;
        let g: geo::Geometry<f64> = geom
            .clone()
            .try_into()
            .map_err(|e| format!("{}: feature {i}: {e}", path.display()))?;
        let shape = match g {
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            _ => return Err(format!("{}: feature {i} is not a polygon", path.display())),
        };
        let bbox = shape
            .bounding_rect()
            .ok_or_else(|| format!("{}: feature {i} is empty", path.display()))?;
        out.push(TruthPlot { group, bbox, shape });
    }
    Ok(out)
}

/// Which plot a lon/lat point lies in (its index).
fn plot_at(plots: &[TruthPlot], lon: f64, lat: f64) -> Option<usize> {
    let p = Point::new(lon, lat);
    plots.iter().position(|t| {
        let b = t.bbox;
        lon >= b.min().x
            && lon <= b.max().x
            && lat >= b.min().y
            && lat <= b.max().y
            && t.shape.contains(&p)
    })
}

struct Quiet;
impl Observer for Quiet {
    fn progress(&self, _: Stage, _: u64, _: u64) {}
    fn cancelled(&self) -> bool {
        false
    }
}

/// The sample-to-display mapping used for a survey (training and classification alike).
pub fn domain_for(info: &raster::SourceInfo) -> Domain {
    match (info.sample, info.stretch) {
        (SampleType::U16, Some((_, hi))) => Domain::for_tile(2, f32::from(hi)),
        (SampleType::U16, None) => Domain::for_tile(2, 65_535.0),
        _ => Domain::for_tile(1, 255.0),
    }
}

/// Tiles a scene in `work` and returns its labelled cells, at most `cap` per class and light:
/// once as the scene is, then once under each of `augments` ([`super::augment`]).
pub fn collect(
    scene: &LabelledScene,
    work: &Path,
    threads: usize,
    cap: usize,
    seed: u64,
    augments: &[Augment],
) -> Result<Vec<Sample>, String> {
    let plots = read_truth(&scene.truth)?;
    let (info, dir, native) = tile_scene(scene, work, threads, "svtrain0000000000")?;
    let domain = domain_for(&info);
    let result = (|| {
        let clean = SurveyReader::open(&dir, native, domain, None)?;
        let labels = cell_labels(&clean, &plots);
        let mut out = Vec::new();
        let lights: Vec<Option<&Augment>> = std::iter::once(None)
            .chain(augments.iter().map(Some))
            .collect();
        // Brightness of every cell in the scene's own light, to tell where a random light put a
        // cast shadow.
        let mut clean_brightness: std::collections::HashMap<Tile, Vec<f32>> =
            std::collections::HashMap::new();
        for (k, light) in lights.into_iter().enumerate() {
            let reader = match light {
                None => None,
                Some(a) => Some(SurveyReader::open(&dir, native, domain, Some(a))?),
            };
            let reader = reader.as_ref().unwrap_or(&clean);
            let mut per_class: Vec<Vec<Sample>> = vec![Vec::new(); N_CLASSES];
            for (t, cells) in &labels {
                let Some(f) = reader.features(*t)? else {
                    continue;
                };
                if k == 0 {
                    clean_brightness.insert(*t, f.values.iter().map(|v| v[7]).collect());
                }
                for (c, label) in cells.iter().enumerate() {
                    let Some(mut class) = *label else { continue };
                    if !f.valid[c] {
                        continue;
                    }
                    // A target plot under a cast shadow of the random light: nobody could tell
                    // it from the imagery, and real shadows (blue, dark) must not look like a
                    // crop to the model, so it teaches "other vegetation".
                    let shaded = clean_brightness
                        .get(t)
                        .is_some_and(|b| f.values[c][7] < 0.7 * b[c]);
                    if k > 0 && shaded && (class as usize) < 2 {
                        class = 2;
                    }
                    per_class[class as usize].push(Sample {
                        x: f.values[c],
                        class,
                        nir: f.has_nir,
                    });
                }
            }
            let mut rng = StdRng::seed_from_u64(seed ^ (k as u64) << 40);
            for mut v in per_class {
                v.shuffle(&mut rng);
                v.truncate(cap);
                out.extend(v);
            }
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&dir.root);
    result
}

/// Tiles a scene in `work` and returns, for the pixel network ([`super::cnn`]), its labelled
/// classification tiles — at most `cap` per light, half of them (when there are) tiles holding
/// target cells — once as the scene is and once under each of `augments`, with the labelled
/// cells' features (at most 300 per class and light: the head's feature statistics, for the
/// review panel's drivers). Labels as in [`collect`]: plot edges, invalid and too-dark cells are
/// not trained on, targets under a random cast shadow teach "other vegetation".
pub fn collect_tiles(
    scene: &LabelledScene,
    work: &Path,
    threads: usize,
    cap: usize,
    seed: u64,
    augments: &[Augment],
) -> Result<(Vec<cnn::TrainTile>, Vec<Sample>), String> {
    let plots = read_truth(&scene.truth)?;
    let (info, dir, native) = tile_scene(scene, work, threads, "svtrain0000000000")?;
    let domain = domain_for(&info);
    let result = (|| {
        let clean = SurveyReader::open(&dir, native, domain, None)?;
        let labels = cell_labels(&clean, &plots);
        let (mut tiles_out, mut cells_out) = (Vec::new(), Vec::new());
        let lights: Vec<Option<&Augment>> = std::iter::once(None)
            .chain(augments.iter().map(Some))
            .collect();
        let mut clean_brightness: std::collections::HashMap<Tile, Vec<f32>> =
            std::collections::HashMap::new();
        for (k, light) in lights.into_iter().enumerate() {
            let reader = match light {
                None => None,
                Some(a) => Some(SurveyReader::open(&dir, native, domain, Some(a))?),
            };
            let reader = reader.as_ref().unwrap_or(&clean);
            let mut with_targets = Vec::new();
            let mut without = Vec::new();
            let mut per_class: Vec<Vec<Sample>> = vec![Vec::new(); N_CLASSES];
            for (t, cells) in &labels {
                let Some((f, px, mask)) = reader.features_and_pixels(*t)? else {
                    continue;
                };
                if k == 0 {
                    clean_brightness.insert(*t, f.values.iter().map(|v| v[7]).collect());
                }
                let mut lab = vec![cnn::IGNORE; CELLS * CELLS];
                let (mut any, mut target) = (false, false);
                for (c, label) in cells.iter().enumerate() {
                    let Some(mut class) = *label else { continue };
                    if !f.valid[c] {
                        continue;
                    }
                    let shaded = clean_brightness
                        .get(t)
                        .is_some_and(|b| f.values[c][7] < 0.7 * b[c]);
                    if k > 0 && shaded && (class as usize) < 2 {
                        class = 2;
                    }
                    lab[c] = class;
                    any = true;
                    target |= class < 2;
                    per_class[class as usize].push(Sample {
                        x: f.values[c],
                        class,
                        nir: f.has_nir,
                    });
                }
                if !any {
                    continue;
                }
                let rgb: Vec<u8> = (0..px.len())
                    .map(|i| {
                        if mask[i / 3] == 0 {
                            0
                        } else {
                            ((px[i] * 255.0).round() as u8).max(1)
                        }
                    })
                    .collect();
                let tile = cnn::TrainTile { rgb, labels: lab };
                if target {
                    with_targets.push(tile);
                } else {
                    without.push(tile);
                }
            }
            let mut rng = StdRng::seed_from_u64(seed ^ (k as u64) << 40);
            with_targets.shuffle(&mut rng);
            without.shuffle(&mut rng);
            let a = with_targets
                .len()
                .min(cap.div_ceil(2).max(cap.saturating_sub(without.len())));
            with_targets.truncate(a);
            without.truncate(cap - a);
            tiles_out.extend(with_targets);
            tiles_out.extend(without);
            for mut v in per_class {
                v.shuffle(&mut rng);
                v.truncate(300);
                cells_out.extend(v);
            }
        }
        Ok((tiles_out, cells_out))
    })();
    let _ = std::fs::remove_dir_all(&dir.root);
    result
}

/// Trains a `cnn` model ([`super::cnn`]) from labelled scenes: one head, `rgb` (it reads the
/// red, green and blue pixels of any survey). `VIGIL_TRAIN_TILES=file` caches the labelled
/// tiles as `VIGIL_TRAIN_CELLS` does the cells.
fn train_cnn(
    training: &[LabelledScene],
    work: &Path,
    threads: usize,
    version: &str,
    o: &FitOptions,
    log: &mut dyn FnMut(&str),
) -> Result<Model, String> {
    let cap = 24;
    let cache = std::env::var_os("VIGIL_TRAIN_TILES").map(PathBuf::from);
    let (tiles, mean, std) = match &cache {
        Some(p) if p.exists() => {
            let got = read_tiles(p)?;
            log(&format!(
                "{} training tiles from {}",
                got.0.len(),
                p.display()
            ));
            got
        }
        _ => {
            let (mut tiles, mut cells) = (Vec::new(), Vec::new());
            for (i, s) in training.iter().enumerate() {
                let lights: Vec<Augment> = (0..o.augment)
                    .map(|k| Augment::random(o.seed * 1_000_003 + (i * 31 + k) as u64))
                    .collect();
                let (t, c) = collect_tiles(s, work, threads, cap, o.seed + i as u64, &lights)?;
                log(&format!("  {}: {} tiles", s.tif.display(), t.len()));
                tiles.extend(t);
                cells.extend(c);
            }
            let m = cells.len().max(1) as f32;
            let mut mean = vec![0f32; N_RGB];
            let mut sq = [0f32; N_RGB];
            for s in &cells {
                for i in 0..N_RGB {
                    mean[i] += s.x[i];
                    sq[i] += s.x[i] * s.x[i];
                }
            }
            let std: Vec<f32> = (0..N_RGB)
                .map(|i| {
                    mean[i] /= m;
                    (sq[i] / m - mean[i] * mean[i]).max(0.0).sqrt().max(1e-4)
                })
                .collect();
            if let Some(p) = &cache {
                write_tiles(p, &tiles, &mean, &std)?;
            }
            (tiles, mean, std)
        }
    };
    if tiles.is_empty() {
        return Err("no labelled tiles to train the network on".into());
    }
    let started = std::time::Instant::now();
    let co = cnn::CnnOptions {
        seed: o.seed,
        threads,
        ..cnn::CnnOptions::default()
    };
    let net = cnn::fit(&tiles, &co, log);
    let fit_seconds = started.elapsed().as_secs_f64();
    log(&format!("fitted in {fit_seconds:.1} s"));
    let heads = vec![Head {
        bands: "rgb".into(),
        kind: "cnn".into(),
        n_inputs: N_RGB,
        mean,
        std,
        weights: Vec::new(),
        bias: Vec::new(),
        transposed: Vec::new(),
        forest: None,
        cnn: Some(net),
    }];
    Ok(Model {
        format: Model::format_for(&heads).into(),
        version: version.into(),
        trained_at: crate::time_util::now_rfc3339(),
        training: json!({
            "scenes": training.iter().map(|s| s.tif.file_name().map(|f| f.to_string_lossy().to_string())).collect::<Vec<_>>(),
            "tiles": tiles.len(),
            "kind": "cnn",
            "fit_seconds": fit_seconds,
            "steps": co.steps,
            "colour_inputs": co.colour,
            "crop_randomisation": std::env::var("VIGIL_CNN_AUG").unwrap_or_else(|_| "default".into()),
            "batch": co.batch,
            "crop": co.crop,
            "augment": o.augment,
        }),
        classes: model::CLASSES.iter().map(|c| c.to_string()).collect(),
        heads,
        calibration: None,
    })
}

const TILES_MAGIC: &[u8; 8] = b"VGTILES1";

fn write_tiles(
    path: &Path,
    tiles: &[cnn::TrainTile],
    mean: &[f32],
    std: &[f32],
) -> Result<(), String> {
    let mut out = Vec::with_capacity(tiles.len() * (3 * 65536 + CELLS * CELLS) + 1024);
    out.extend_from_slice(TILES_MAGIC);
    out.extend_from_slice(&(tiles.len() as u64).to_le_bytes());
    for v in mean.iter().chain(std) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for t in tiles {
        out.extend_from_slice(&t.rgb);
        out.extend_from_slice(&t.labels);
    }
    std::fs::write(path, out).map_err(|e| format!("VIGIL_TRAIN_TILES {}: {e}", path.display()))
}

type TileSet = (Vec<cnn::TrainTile>, Vec<f32>, Vec<f32>);

fn read_tiles(path: &Path) -> Result<TileSet, String> {
    let bad = || format!("VIGIL_TRAIN_TILES {}: not a tile file", path.display());
    let data =
        std::fs::read(path).map_err(|e| format!("VIGIL_TRAIN_TILES {}: {e}", path.display()))?;
    if !data.starts_with(TILES_MAGIC) {
        return Err(bad());
    }
    let n = data
        .get(8..16)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .ok_or_else(bad)?;
    let mut at = 16;
    let mut floats = Vec::new();
    for _ in 0..2 * N_RGB {
        let b = data.get(at..at + 4).ok_or_else(bad)?;
        floats.push(f32::from_le_bytes(b.try_into().expect("4 bytes")));
        at += 4;
    }
    let std = floats.split_off(N_RGB);
    let row = 3 * 65536 + CELLS * CELLS;
    let rows = data.get(at..at + n * row).ok_or_else(bad)?;
    let tiles = rows
        .chunks_exact(row)
        .map(|r| cnn::TrainTile {
            rgb: r[..3 * 65536].to_vec(),
            labels: r[3 * 65536..].to_vec(),
        })
        .collect();
    Ok((tiles, floats, std))
}

/// Inspects and tiles a labelled scene under `work` as survey `id` (classifiable resolutions
/// only): its source, tile directory and native level.
fn tile_scene(
    scene: &LabelledScene,
    work: &Path,
    threads: usize,
    id: &str,
) -> Result<
    (
        raster::SourceInfo,
        tiling::layout::SurveyDir,
        tiling::LevelRange,
    ),
    String,
> {
    let info = raster::inspect(
        &scene.tif,
        &Limits {
            max_pixels: 1 << 34,
        },
        None,
    )
    .map_err(|e| e.to_string())?;
    if let Some(why) = scale::unsupported_reason(info.gsd_m) {
        return Err(format!("{}: {why}", scene.tif.display()));
    }
    let opts = tiling::Options {
        tiles_dir: work.to_path_buf(),
        format: TileFormat::Png,
        threads,
    };
    let out = tiling::run(&info, id, &opts, &Quiet).map_err(|e| e.to_string())?;
    let dir = tiling::layout::SurveyDir::new(work, id);
    let native = *out.plan.level(out.plan.native_zoom).expect("native level");
    Ok((info, dir, native))
}

/// The class group of every cell of every classification tile, or `None` where the cell's
/// centre and corners disagree (plot edges).
fn cell_labels(reader: &SurveyReader, plots: &[TruthPlot]) -> Vec<(Tile, Vec<Option<u8>>)> {
    cell_plots(reader, plots)
        .into_iter()
        .map(|(t, cells)| (t, cells.into_iter().map(|c| c.map(|c| c.0)).collect()))
        .collect()
}

/// Per cell: its class group and the index of the truth plot it lies wholly in (`None` between
/// plots), or `None` where the cell's centre and corners disagree (plot edges).
type CellPlot = Option<(u8, Option<usize>)>;

fn cell_plots(reader: &SurveyReader, plots: &[TruthPlot]) -> Vec<(Tile, Vec<CellPlot>)> {
    let z = reader.level.z;
    let res = grid::resolution(z);
    reader
        .tiles()
        .into_iter()
        .map(|t| {
            let b = t.bounds_mercator();
            let cells = (0..CELLS * CELLS)
                .map(|c| {
                    let (cx, cy) = (c % CELLS, c / CELLS);
                    // The cell's centre and corners must agree on the plot.
                    let pts = [
                        (0.5, 0.5),
                        (0.05, 0.05),
                        (0.95, 0.05),
                        (0.05, 0.95),
                        (0.95, 0.95),
                    ];
                    let mut label: Option<Option<usize>> = None;
                    for (dx, dy) in pts {
                        let mx = b[0] + (cx as f64 + dx) * CELL as f64 * res;
                        let my = b[3] - (cy as f64 + dy) * CELL as f64 * res;
                        let [lon, lat] = grid::mercator_to_lon_lat(mx, my);
                        let here = plot_at(plots, lon, lat);
                        match label {
                            None => label = Some(here),
                            Some(l) if l != here => return None,
                            _ => {}
                        }
                    }
                    // Between plots: grass, scrub.
                    let plot = label.flatten();
                    Some((plot.map_or(2, |i| plots[i].group) as u8, plot))
                })
                .collect();
            (t, cells)
        })
        .collect()
}

/// A truth plot's cells: what a reviewer's decision on that plot would teach.
#[derive(Debug, Clone)]
pub struct PlotCells {
    /// Class group (poppy, cannabis, other vegetation, non-vegetation).
    pub class: u8,
    pub cells: Vec<Sample>,
}

/// Tiles a scene in `work` and returns its cells grouped by the truth plot they lie wholly in.
pub fn collect_plots(
    scene: &LabelledScene,
    work: &Path,
    threads: usize,
) -> Result<Vec<PlotCells>, String> {
    let plots = read_truth(&scene.truth)?;
    let (info, dir, native) = tile_scene(scene, work, threads, "svplots0000000000")?;
    let result = (|| {
        let reader = SurveyReader::open(&dir, native, domain_for(&info), None)?;
        let mut by_plot: Vec<PlotCells> = plots
            .iter()
            .map(|p| PlotCells {
                class: p.group as u8,
                cells: Vec::new(),
            })
            .collect();
        for (t, cells) in cell_plots(&reader, &plots) {
            let Some(f) = reader.features(t)? else {
                continue;
            };
            for (c, label) in cells.iter().enumerate() {
                if let (Some((class, Some(i))), true) = (label, f.valid[c]) {
                    by_plot[*i].cells.push(Sample {
                        x: f.values[c],
                        class: *class,
                        nir: f.has_nir,
                    });
                }
            }
        }
        Ok(by_plot
            .into_iter()
            .filter(|p| !p.cells.is_empty())
            .collect())
    })();
    let _ = std::fs::remove_dir_all(&dir.root);
    result
}

/// Fitting options.
#[derive(Debug, Clone)]
pub struct FitOptions {
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
    /// Random lights each training scene is also seen under ([`super::augment`]).
    pub augment: usize,
    /// Head kind: `softmax` (the default) or `gbdt` ([`super::gbdt`]); the default is read from
    /// `VIGIL_MODEL_KIND`, so `VIGIL_MODEL_KIND=gbdt vigil train …` trains boosted trees.
    pub kind: String,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 40,
            batch: 256,
            learning_rate: 0.01,
            l2: 1e-4,
            seed: 1,
            augment: 2,
            kind: std::env::var("VIGIL_MODEL_KIND").unwrap_or_else(|_| "softmax".into()),
        }
    }
}

/// Fits one head on the first `n_inputs` features of `samples`.
pub fn fit(samples: &[Sample], n_inputs: usize, bands: &str, o: &FitOptions) -> Head {
    fit_from(samples, n_inputs, bands, o, None)
}

/// Fine-tunes `base` on `samples` (a province's reviewed plots): same standardisation, weights
/// start at the base's and are pulled back towards them with `anchor` instead of towards zero,
/// so a few dozen plots adjust the decision surface without forgetting what the base learned.
pub fn fine_tune(samples: &[Sample], base: &Head, o: &FitOptions, anchor: f32) -> Head {
    fit_from(samples, base.n_inputs, &base.bands, o, Some((base, anchor)))
}

fn fit_from(
    samples: &[Sample],
    n_inputs: usize,
    bands: &str,
    o: &FitOptions,
    start: Option<(&Head, f32)>,
) -> Head {
    if let Some((h, _)) = start.filter(|(h, _)| h.cnn.is_some()) {
        // A network is not fine-tuned on reviewed cells' features (it reads pixels): kept.
        return h.clone();
    }
    let n = n_inputs;
    let m = samples.len().max(1) as f32;
    // Standardisation (a fine-tuned head keeps its base's).
    let (mean, std) = match start {
        Some((h, _)) => (h.mean.clone(), h.std.clone()),
        None => {
            let mut mean = vec![0f32; n];
            let mut sq = vec![0f32; n];
            for s in samples {
                for i in 0..n {
                    mean[i] += s.x[i];
                    sq[i] += s.x[i] * s.x[i];
                }
            }
            let std: Vec<f32> = (0..n)
                .map(|i| {
                    mean[i] /= m;
                    (sq[i] / m - mean[i] * mean[i]).max(0.0).sqrt().max(1e-4)
                })
                .collect();
            (mean, std)
        }
    };
    // Class weights: inverse frequency, square-rooted.
    let mut counts = [0f32; N_CLASSES];
    for s in samples {
        counts[s.class as usize] += 1.0;
    }
    let cw: Vec<f32> = counts
        .iter()
        .map(|c| {
            if *c > 0.0 {
                (m / (N_CLASSES as f32 * c)).sqrt()
            } else {
                0.0
            }
        })
        .collect();
    let kind = start.map_or(o.kind.as_str(), |(h, _)| h.kind.as_str());
    if kind == "gbdt" {
        let xs: Vec<[f32; N_FEATURES]> = samples.iter().map(|s| s.x).collect();
        let ys: Vec<u8> = samples.iter().map(|s| s.class).collect();
        let ws: Vec<f32> = samples.iter().map(|s| cw[s.class as usize]).collect();
        let go = match start {
            // A province's reviewed cells: a few more shallow-stepped rounds on top of the base's
            // trees, strongly shrunk (the base's trees are kept as they are).
            Some(_) => gbdt::GbdtOptions {
                rounds: 20,
                learning_rate: 0.1,
                lambda: 20.0,
                colsample: 1.0,
                seed: o.seed,
                ..gbdt::GbdtOptions::default()
            },
            None => gbdt::GbdtOptions {
                seed: o.seed,
                ..gbdt::GbdtOptions::default()
            },
        };
        // VIGIL_GBDT_FEATURES=0-22,32-39: the trees may split only on these (for comparing
        // feature sets on the same cells); unset, on the default ones.
        let only = std::env::var("VIGIL_GBDT_FEATURES").ok().map(|v| {
            let mut on = vec![false; n];
            for part in v.split(',').filter(|p| !p.trim().is_empty()) {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                let (a, b): (usize, usize) = (
                    a.trim()
                        .parse()
                        .expect("VIGIL_GBDT_FEATURES: feature numbers"),
                    b.trim()
                        .parse()
                        .expect("VIGIL_GBDT_FEATURES: feature numbers"),
                );
                if a < n && a <= b {
                    on[a..=b.min(n - 1)].fill(true);
                }
            }
            on
        });
        let allowed: Vec<bool> = (0..n)
            .map(|k| {
                (bands != "rgb" || features::rgb_feature(k))
                    && only
                        .as_ref()
                        .map_or(features::gbdt_default_feature(k), |o| o[k])
            })
            .collect();
        let forest = gbdt::fit(
            &xs,
            &ys,
            &ws,
            &allowed,
            &go,
            start.and_then(|(h, _)| h.forest.as_ref()),
        );
        return Head {
            bands: bands.into(),
            kind: "gbdt".into(),
            n_inputs: n,
            mean,
            std,
            weights: Vec::new(),
            bias: Vec::new(),
            transposed: Vec::new(),
            forest: Some(forest),
            cnn: None,
        };
    }
    if kind != "softmax" {
        panic!("unknown model kind {kind:?} (VIGIL_MODEL_KIND: softmax or gbdt)");
    }
    let e = model::expanded_len(n);
    // Expanded inputs once.
    let mut xs = vec![0f32; samples.len() * e];
    for (k, s) in samples.iter().enumerate() {
        model::expand(&s.x[..n], &mean, &std, &mut xs[k * e..(k + 1) * e]);
    }
    let (w0, b0, l2) = match start {
        Some((h, anchor)) => (h.weights.clone(), h.bias.clone(), anchor),
        None => (vec![vec![0f32; e]; N_CLASSES], vec![0f32; N_CLASSES], o.l2),
    };
    let mut w = w0.clone();
    let mut bias = b0.clone();
    // Adam state.
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let mut mw = vec![vec![0f32; e]; N_CLASSES];
    let mut vw = vec![vec![0f32; e]; N_CLASSES];
    let mut mb = [0f32; N_CLASSES];
    let mut vb = [0f32; N_CLASSES];
    let mut gw = vec![vec![0f32; e]; N_CLASSES];
    let mut gb = [0f32; N_CLASSES];
    let mut order: Vec<usize> = (0..samples.len()).collect();
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut step = 0i32;
    for epoch in 0..o.epochs {
        order.shuffle(&mut rng);
        let lr = o.learning_rate * (1.0 - epoch as f32 / o.epochs as f32).max(0.05);
        for batch in order.chunks(o.batch) {
            for g in gw.iter_mut() {
                g.fill(0.0);
            }
            gb.fill(0.0);
            let mut wsum = 0f32;
            for &k in batch {
                let x = &xs[k * e..(k + 1) * e];
                let mut z = [0f32; N_CLASSES];
                for c in 0..N_CLASSES {
                    z[c] = bias[c] + model::dot(&w[c], x);
                }
                model::softmax(&mut z);
                let y = samples[k].class as usize;
                let sw = cw[y];
                wsum += sw;
                for c in 0..N_CLASSES {
                    let d = (z[c] - f32::from(c == y)) * sw;
                    gb[c] += d;
                    for (g, xi) in gw[c].iter_mut().zip(x) {
                        *g += d * xi;
                    }
                }
            }
            step += 1;
            let inv = 1.0 / wsum.max(1e-6);
            let c1 = 1.0 - b1.powi(step);
            let c2 = 1.0 - b2.powi(step);
            for c in 0..N_CLASSES {
                for j in 0..e {
                    let g = gw[c][j] * inv + l2 * (w[c][j] - w0[c][j]);
                    mw[c][j] = b1 * mw[c][j] + (1.0 - b1) * g;
                    vw[c][j] = b2 * vw[c][j] + (1.0 - b2) * g * g;
                    w[c][j] -= lr * (mw[c][j] / c1) / ((vw[c][j] / c2).sqrt() + eps);
                }
                let g = gb[c] * inv;
                mb[c] = b1 * mb[c] + (1.0 - b1) * g;
                vb[c] = b2 * vb[c] + (1.0 - b2) * g * g;
                bias[c] -= lr * (mb[c] / c1) / ((vb[c] / c2).sqrt() + eps);
            }
        }
    }
    let mut head = Head {
        bands: bands.into(),
        kind: "softmax".into(),
        forest: None,
        cnn: None,
        n_inputs: n,
        mean,
        std,
        weights: w,
        bias,
        transposed: Vec::new(),
    };
    head.prepare();
    head
}

/// Cell-level confusion of a head over samples: `[truth][predicted]`.
pub fn confusion(head: &Head, samples: &[Sample]) -> [[u32; N_CLASSES]; N_CLASSES] {
    let mut m = [[0u32; N_CLASSES]; N_CLASSES];
    let mut scratch = vec![0f32; model::expanded_len(head.n_inputs)];
    for s in samples {
        let p = head.predict(&s.x, &mut scratch);
        let best = (0..N_CLASSES)
            .max_by(|a, b| p[*a].total_cmp(&p[*b]))
            .expect("classes");
        m[s.class as usize][best] += 1;
    }
    m
}

/// Recall per class from a confusion matrix.
pub fn recalls(m: &[[u32; N_CLASSES]; N_CLASSES]) -> [f64; N_CLASSES] {
    let mut r = [0.0; N_CLASSES];
    for c in 0..N_CLASSES {
        let total: u32 = m[c].iter().sum();
        r[c] = if total == 0 {
            f64::NAN
        } else {
            f64::from(m[c][c]) / f64::from(total)
        };
    }
    r
}

/// Trains both heads from training scenes and reports cell-level recall on held-out ones.
/// Cells labelled by reviewers' decisions (issue 5): some flags' cells train, the others are
/// held out to measure the effect against the model in use.
#[derive(Debug, Clone, Default)]
pub struct Feedback {
    pub train: Vec<Sample>,
    pub held: Vec<Sample>,
    /// Reviewed flags the cells come from.
    pub flags: usize,
    /// The model the flags were raised with (the baseline of the effect report).
    pub previous: Option<Model>,
}

/// Times each feedback cell is repeated among the generated scenes' cells: a confirmed or
/// rejected field plot is worth more than a drawn one.
pub const FEEDBACK_WEIGHT: usize = 3;

/// Share of `head`'s predictions on `samples` that match their labels.
pub fn accuracy(head: &Head, samples: &[Sample]) -> f64 {
    let m = confusion(head, samples);
    let right: u32 = (0..N_CLASSES).map(|i| m[i][i]).sum();
    let all: u32 = m.iter().flatten().sum();
    if all == 0 {
        0.0
    } else {
        f64::from(right) / f64::from(all)
    }
}

#[allow(clippy::too_many_arguments)]
pub fn train(
    training: &[LabelledScene],
    held_out: &[LabelledScene],
    feedback: &Feedback,
    work: &Path,
    threads: usize,
    version: &str,
    o: &FitOptions,
    log: &mut dyn FnMut(&str),
) -> Result<Model, String> {
    if o.kind == "cnn" {
        if !feedback.train.is_empty() {
            log("reviewers' feedback is not used by the cnn kind (it trains on pixels)");
        }
        return train_cnn(training, work, threads, version, o, log);
    }
    let cap = 4000;
    // VIGIL_TRAIN_CELLS=file: the labelled cells of these scenes are read from the file when it
    // exists and written to it otherwise, so several model kinds train on the very same cells
    // (bench/crossgen.sh) without tiling every scene again.
    let cache = std::env::var_os("VIGIL_TRAIN_CELLS").map(PathBuf::from);
    let cached = match &cache {
        Some(p) if p.exists() => Some(read_cells(p, &o.kind)?),
        _ => None,
    };
    let (mut all, held) = if let Some((all, held)) = cached {
        log(&format!(
            "{} training and {} held-out cells from {}",
            all.len(),
            held.len(),
            cache
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        ));
        (all, held)
    } else {
        let mut all = Vec::new();
        for (i, s) in training.iter().enumerate() {
            let lights: Vec<Augment> = (0..o.augment)
                .map(|k| Augment::random(o.seed * 1_000_003 + (i * 31 + k) as u64))
                .collect();
            let v = collect(s, work, threads, cap, o.seed + i as u64, &lights)?;
            log(&format!("  {}: {} cells", s.tif.display(), v.len()));
            all.extend(v);
        }
        let mut held = Vec::new();
        for (i, s) in held_out.iter().enumerate() {
            held.extend(collect(
                s,
                work,
                threads,
                cap,
                o.seed + 1000 + i as u64,
                &[],
            )?);
        }
        if let Some(p) = &cache {
            write_cells(p, &all, &held)?;
        }
        (all, held)
    };
    if !feedback.train.is_empty() {
        log(&format!(
            "reviewers' feedback: {} cells from {} flags (× {FEEDBACK_WEIGHT}), {} cells held out",
            feedback.train.len(),
            feedback.flags,
            feedback.held.len()
        ));
        for _ in 0..FEEDBACK_WEIGHT {
            all.extend_from_slice(&feedback.train);
        }
    }
    if let Some(path) = std::env::var_os("VIGIL_TRAIN_DUMP") {
        // For studying the features: every training cell as CSV (class, nir, features).
        let mut text = format!("class,nir,{}\n", features::NAMES.join(","));
        for s in &all {
            let row: Vec<String> = s.x.iter().map(|v| format!("{v:.4}")).collect();
            text += &format!("{},{},{}\n", s.class, u8::from(s.nir), row.join(","));
        }
        std::fs::write(&path, text).map_err(|e| format!("VIGIL_TRAIN_DUMP: {e}"))?;
    }
    if !model::KINDS.contains(&o.kind.as_str()) {
        return Err(format!(
            "unknown model kind {:?} (VIGIL_MODEL_KIND: {})",
            o.kind,
            model::KINDS.join(", ")
        ));
    }
    let fit_started = std::time::Instant::now();
    let rgbn: Vec<Sample> = all.iter().filter(|s| s.nir).copied().collect();
    log(&format!(
        "fitting {} rgb head on {} cells",
        o.kind,
        all.len()
    ));
    // Softmax heads read a prefix of the features (the first 23, or 27 with NIR); boosted trees
    // read them all, an RGB head all but the NIR ones.
    let (n_rgb, n_rgbn) = if o.kind == "gbdt" {
        (N_FEATURES, N_FEATURES)
    } else {
        (N_RGB, features::N_RGBN)
    };
    let rgb_head = fit(&all, n_rgb, "rgb", o);
    let mut heads = vec![rgb_head];
    if !rgbn.is_empty() {
        log(&format!("fitting rgbn head on {} cells", rgbn.len()));
        heads.push(fit(&rgbn, n_rgbn, "rgbn", o));
    }
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    log(&format!("fitted in {fit_seconds:.1} s"));
    let mut report = serde_json::Map::new();
    for h in &heads {
        let test: Vec<Sample> = held
            .iter()
            .filter(|s| h.bands == "rgb" || s.nir)
            .copied()
            .collect();
        if test.is_empty() {
            continue;
        }
        let m = confusion(h, &test);
        let r = recalls(&m);
        log(&format!(
            "held-out cell recall ({}): poppy {:.3}, cannabis {:.3}, other vegetation {:.3}, non-vegetation {:.3}",
            h.bands, r[0], r[1], r[2], r[3]
        ));
        report.insert(
            h.bands.clone(),
            json!({ "confusion": m, "recall": r, "cells": test.len() }),
        );
    }
    let mut effect = serde_json::Map::new();
    for h in &heads {
        let test: Vec<Sample> = feedback
            .held
            .iter()
            .filter(|s| s.nir == (h.bands == "rgbn"))
            .copied()
            .collect();
        if test.is_empty() {
            continue;
        }
        let before = feedback
            .previous
            .as_ref()
            .map(|m| accuracy(m.head(h.bands == "rgbn"), &test));
        let after = accuracy(h, &test);
        log(&format!(
            "held-out reviewed cells ({}): {} cells, previous model {} right, new model {:.1} % right",
            h.bands,
            test.len(),
            before.map_or("—".to_string(), |b| format!("{:.1} %", b * 100.0)),
            after * 100.0
        ));
        effect.insert(
            h.bands.clone(),
            json!({ "cells": test.len(), "previous_accuracy": before, "new_accuracy": after }),
        );
    }
    Ok(Model {
        format: Model::format_for(&heads).into(),
        version: version.into(),
        trained_at: crate::time_util::now_rfc3339(),
        training: json!({
            "scenes": training.iter().map(|s| s.tif.file_name().map(|f| f.to_string_lossy().to_string())).collect::<Vec<_>>(),
            "held_out": held_out.iter().map(|s| s.tif.file_name().map(|f| f.to_string_lossy().to_string())).collect::<Vec<_>>(),
            "cells": all.len(),
            "kind": o.kind,
            "fit_seconds": fit_seconds,
            "epochs": o.epochs,
            "held_out_cell_level": report,
            "feedback": {
                "flags": feedback.flags,
                "cells": feedback.train.len(),
                "held_out_cells": feedback.held.len(),
                "weight": FEEDBACK_WEIGHT,
                "previous_model": feedback.previous.as_ref().map(|m| m.version.clone()),
                "effect": effect,
            },
        }),
        classes: model::CLASSES.iter().map(|c| c.to_string()).collect(),
        heads,
        calibration: None,
    })
}

fn write_cells(path: &Path, train: &[Sample], held: &[Sample]) -> Result<(), String> {
    let mut out = Vec::with_capacity((train.len() + held.len()) * (4 * N_FEATURES + 2) + 16);
    out.extend_from_slice(CELLS_MAGIC);
    out.extend_from_slice(&(N_FEATURES as u64).to_le_bytes());
    for set in [train, held] {
        out.extend_from_slice(&(set.len() as u64).to_le_bytes());
        for s in set {
            for v in s.x {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.push(s.class);
            out.push(u8::from(s.nir));
        }
    }
    std::fs::write(path, out).map_err(|e| format!("VIGIL_TRAIN_CELLS {}: {e}", path.display()))
}

const CELLS_MAGIC: &[u8; 8] = b"VGCELLS2";

fn read_cells(path: &Path, kind: &str) -> Result<(Vec<Sample>, Vec<Sample>), String> {
    let bad = || format!("VIGIL_TRAIN_CELLS {}: not a cell file", path.display());
    let data =
        std::fs::read(path).map_err(|e| format!("VIGIL_TRAIN_CELLS {}: {e}", path.display()))?;
    // Files without the tag hold the 27 features before the plant ones; those read with the
    // plant features zero, which only a softmax head (the first 27 at most) may train on.
    let (nf, mut at) = if data.starts_with(CELLS_MAGIC) {
        let nf = data
            .get(8..16)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
            .ok_or_else(bad)?;
        (nf, 16usize)
    } else {
        (features::N_RGBN, 0usize)
    };
    if nf > N_FEATURES || (nf < N_FEATURES && kind != "softmax") {
        return Err(format!(
            "VIGIL_TRAIN_CELLS {}: cells of {nf} features, this build computes {N_FEATURES}",
            path.display()
        ));
    }
    let mut sets = Vec::new();
    let row = 4 * nf + 2;
    for _ in 0..2 {
        let n = data
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
            .ok_or_else(bad)?;
        at += 8;
        let rows = data.get(at..at + n * row).ok_or_else(bad)?;
        at += n * row;
        sets.push(
            rows.chunks_exact(row)
                .map(|r| Sample {
                    x: std::array::from_fn(|k| {
                        if k < nf {
                            f32::from_le_bytes(r[4 * k..4 * k + 4].try_into().expect("4 bytes"))
                        } else {
                            0.0
                        }
                    }),
                    class: r[4 * nf],
                    nir: r[4 * nf + 1] != 0,
                })
                .collect::<Vec<_>>(),
        );
    }
    let held = sets.pop().ok_or_else(bad)?;
    let train = sets.pop().ok_or_else(bad)?;
    Ok((train, held))
}

/// Draws `n` labelled scenes with seeds `seed..`, cycling band layouts (RGBA 8-bit, RGBN 8-bit,
/// RGBN 16-bit), CRSs (UTM 48N, VN-2000), ground resolutions (3–16 cm) and field conditions
/// (normal, haze, shadow, dark, warm, cool, bright) on coprime cycles, so every combination
/// comes round.
pub fn generate_scenes(
    dir: &Path,
    n: usize,
    seed: u64,
    size: usize,
) -> Result<Vec<LabelledScene>, String> {
    use crate::ingest::sample_files::{BandLayout, DEFAULT_CENTER, SampleRequest, write_sample};
    use crate::sample::Condition;
    let kinds = [
        (BandLayout::Rgba, false, "EPSG:32648"),
        (BandLayout::Rgbn, false, "EPSG:3405"),
        (BandLayout::Rgbn, true, "EPSG:32648"),
    ];
    let gsds = [0.03, 0.05, 0.08, 0.12, 0.16];
    (0..n)
        .map(|i| {
            let (layout, sixteen_bit, crs) = kinds[i % kinds.len()];
            let s = seed + i as u64;
            let spec = crate::sample::SceneSpec {
                width: size,
                height: size,
                gsd: gsds[i % gsds.len()],
                condition: Some(Condition::ALL[i % Condition::ALL.len()]),
                ..crate::sample::SceneSpec::new(s)
            };
            let w = write_sample(&SampleRequest {
                out_dir: dir.to_path_buf(),
                name: Some(format!("train-{s}")),
                spec,
                layout,
                sixteen_bit,
                crs: crs.into(),
                center: DEFAULT_CENTER,
            })
            .map_err(|e| e.to_string())?;
            Ok(LabelledScene {
                tif: w.tif,
                truth: w.truth,
            })
        })
        .collect()
}
