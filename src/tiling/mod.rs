//! Survey tiling: one pass over the source, warped onto the WebMercatorQuad grid at the zoom
//! matching its ground resolution, cut into 256 × 256 display and analysis tiles, then
//! overviews down to the zoom where the whole survey fits one tile.
//!
//! The work is split into *blocks* of 8 × 8 native tiles aligned to the grid. A worker thread per
//! core (each with its own GDAL dataset handle) takes blocks from a shared counter: it reads the
//! source window under the block, warps it into a 2048² RGBA canvas, writes the 64 display and
//! analysis tiles, then halves the canvas three times for the overview tiles that lie wholly in
//! the block (zoom − 1 … − 3). Memory per worker is one canvas and one source window, whatever
//! the image size. Coarser overviews are made from the tiles below them once every block is done.
//!
//! The warp inverts GDAL/PROJ's exact transform on a 32-pixel grid over each block and
//! interpolates between grid nodes (as GDAL's approximate transformer does; the error is far below
//! a pixel at drone scales), then samples the nearest source pixel — analysis bands keep their
//! exact values, and at the native zoom target pixels are finer than source pixels.

pub mod chip;
pub mod footprint;
pub mod image_ops;
pub mod layout;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use gdal::spatial_ref::CoordTransform;

use crate::config::TileFormat;
use crate::grid::{self, ORIGIN_SHIFT, TILE_SIZE, Tile};
use crate::ingest::raster::{self, RasterError, Role, SampleType, SourceInfo, Validity};
use layout::{AnalysisTile, SurveyDir};

/// Native tiles per block side (a power of two: blocks make whole overview tiles).
pub const BLOCK_TILES: u32 = 8;
const BLOCK_LEVELS: u8 = 3; // log2(BLOCK_TILES)
const BLOCK_PX: usize = (BLOCK_TILES * TILE_SIZE) as usize;
const T: usize = TILE_SIZE as usize;
/// Spacing of exactly transformed points in the warp grid, in target pixels.
const GRID_STEP: usize = 32;
const GRID_N: usize = BLOCK_PX / GRID_STEP + 1;
/// Longest side of the footprint mask, in pixels.
const FOOTPRINT_MAX_PX: usize = 2048;

/// The inclusive tile range of one zoom level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LevelRange {
    pub z: u8,
    pub min_x: u32,
    pub min_y: u32,
    pub max_x: u32,
    pub max_y: u32,
}

impl LevelRange {
    pub fn contains(&self, t: Tile) -> bool {
        t.z == self.z
            && (self.min_x..=self.max_x).contains(&t.x)
            && (self.min_y..=self.max_y).contains(&t.y)
    }

    fn tiles(&self) -> impl Iterator<Item = Tile> + '_ {
        (self.min_y..=self.max_y)
            .flat_map(move |y| (self.min_x..=self.max_x).map(move |x| Tile { z: self.z, x, y }))
    }
}

/// What the tiler will do with a source.
#[derive(Debug, Clone)]
pub struct Plan {
    pub native_zoom: u8,
    pub min_zoom: u8,
    /// EPSG:3857 bounds of the source outline.
    pub mercator_bbox: [f64; 4],
    /// Tile ranges from `min_zoom` to `native_zoom`.
    pub levels: Vec<LevelRange>,
    /// Blocks (in block coordinates: native tile / 8) touching the native range.
    pub blocks: Vec<(u32, u32)>,
    /// Overview levels made inside blocks.
    pub block_levels: u8,
}

impl Plan {
    pub fn level(&self, z: u8) -> Option<&LevelRange> {
        self.levels.iter().find(|l| l.z == z)
    }

    /// Tiles of the overview levels built from stored children (below the in-block levels).
    pub fn upper_tile_count(&self) -> u64 {
        self.levels
            .iter()
            .filter(|l| l.z + self.block_levels < self.native_zoom)
            .map(|l| u64::from(l.max_x - l.min_x + 1) * u64::from(l.max_y - l.min_y + 1))
            .sum()
    }
}

/// Works out zooms, ranges and blocks.
pub fn plan(info: &SourceInfo) -> Result<Plan, RasterError> {
    let src = info.spatial_ref()?;
    let merc = raster::web_mercator();
    let to_merc = CoordTransform::new(&src, &merc).map_err(|e| {
        RasterError::UnknownCrs(format!(
            "no transformation from {} to Web Mercator: {e}",
            info.crs_name
        ))
    })?;
    let (w, h) = (info.width as f64, info.height as f64);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let steps = 32;
    for i in 0..=steps {
        let t = f64::from(i) / f64::from(steps);
        for (c, r) in [(t * w, 0.0), (t * w, h), (0.0, t * h), (w, t * h)] {
            let (x, y) = info.pixel_to_crs(c, r);
            xs.push(x);
            ys.push(y);
        }
    }
    to_merc
        .transform_coords(&mut xs, &mut ys, &mut [])
        .map_err(|e| RasterError::UnknownCrs(format!("projecting the outline: {e}")))?;
    let fold = |v: &[f64], f: fn(f64, f64) -> f64, init: f64| v.iter().copied().fold(init, f);
    let bbox = [
        fold(&xs, f64::min, f64::MAX).max(-ORIGIN_SHIFT),
        fold(&ys, f64::min, f64::MAX).max(-ORIGIN_SHIFT),
        fold(&xs, f64::max, f64::MIN).min(ORIGIN_SHIFT),
        fold(&ys, f64::max, f64::MIN).min(ORIGIN_SHIFT),
    ];
    let native = grid::zoom_for_ground_resolution(info.gsd_m, info.center[1]);
    let range = |z: u8| {
        // Shrink by a hair so an outline exactly on a tile edge does not add a row of empty tiles.
        let eps = grid::resolution(z) * 1e-6;
        let (x0, y0, x1, y1) = grid::tile_range_mercator(
            [bbox[0] + eps, bbox[1] + eps, bbox[2] - eps, bbox[3] - eps],
            z,
        );
        LevelRange {
            z,
            min_x: x0,
            min_y: y0,
            max_x: x1,
            max_y: y1,
        }
    };
    let mut min_zoom = native;
    while min_zoom > 0 {
        let r = range(min_zoom);
        if r.min_x == r.max_x && r.min_y == r.max_y {
            break;
        }
        min_zoom -= 1;
    }
    let levels: Vec<LevelRange> = (min_zoom..=native).map(range).collect();
    let top = *levels.last().expect("at least the native level");
    let mut blocks = Vec::new();
    for by in top.min_y / BLOCK_TILES..=top.max_y / BLOCK_TILES {
        for bx in top.min_x / BLOCK_TILES..=top.max_x / BLOCK_TILES {
            blocks.push((bx, by));
        }
    }
    Ok(Plan {
        native_zoom: native,
        min_zoom,
        mercator_bbox: bbox,
        levels,
        blocks,
        block_levels: BLOCK_LEVELS.min(native - min_zoom),
    })
}

/// Where and how to write tiles.
#[derive(Debug, Clone)]
pub struct Options {
    pub tiles_dir: PathBuf,
    pub format: TileFormat,
    pub threads: usize,
}

/// The stage a tiling is in, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Tile,
    Overviews,
    Footprint,
}

impl Stage {
    pub fn code(self) -> &'static str {
        match self {
            Stage::Tile => "tile",
            Stage::Overviews => "overviews",
            Stage::Footprint => "footprint",
        }
    }
}

/// Told about progress; asked whether to stop.
pub trait Observer: Sync {
    fn progress(&self, stage: Stage, done: u64, total: u64);
    fn cancelled(&self) -> bool;
}

/// Why tiling stopped.
#[derive(Debug, thiserror::Error)]
pub enum TilingError {
    #[error(transparent)]
    Raster(#[from] RasterError),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    OutsideJurisdiction(String),
    /// Outside every imported province, by an uploader without a national jurisdiction.
    #[error("{0}")]
    OutsideProvinces(String),
    #[error("{0}")]
    Io(String),
    /// The classifier could not run (e.g. the configured model file is not a model); the
    /// imagery itself was fine.
    #[error("{0}")]
    Classify(String),
    /// The finished job could not be recorded (the caller's store failed); the tiles were fine.
    #[error("{0}")]
    Store(String),
}

impl TilingError {
    pub fn code(&self) -> &'static str {
        match self {
            TilingError::Raster(e) => e.code(),
            TilingError::Cancelled => "cancelled",
            TilingError::OutsideJurisdiction(_) => "outside_jurisdiction",
            TilingError::OutsideProvinces(_) => "outside_provinces",
            TilingError::Io(_) => "internal",
            TilingError::Classify(_) => "classify_failed",
            TilingError::Store(_) => "store_failed",
        }
    }
}

/// A finished tiling.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub plan: Plan,
    pub display_tiles: u64,
    pub analysis_tiles: u64,
    pub bytes: u64,
    pub footprint: geo::MultiPolygon<f64>,
    /// (stage, seconds).
    pub timings: Vec<(Stage, f64)>,
}

fn io(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> TilingError {
    move |e| TilingError::Io(format!("{context}: {e}"))
}

/// Tiles `info` into `TILES_DIR/{survey}` (through a `.part` directory renamed at the end).
pub fn run(
    info: &SourceInfo,
    survey: &str,
    opts: &Options,
    obs: &dyn Observer,
) -> Result<Outcome, TilingError> {
    let plan = plan(info)?;
    let staging = SurveyDir::staging(&opts.tiles_dir, survey);
    let final_dir = SurveyDir::new(&opts.tiles_dir, survey);
    remove_dir_if_exists(&staging.root)?;
    remove_dir_if_exists(&final_dir.root)?;
    std::fs::create_dir_all(&staging.root).map_err(io(staging.root.display()))?;
    let outcome = tile_into(info, &plan, &staging, opts, obs);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging.root);
            return Err(e);
        }
    };
    if outcome.display_tiles == 0 {
        // Nothing visible anywhere: refuse rather than serve an empty survey.
        let _ = std::fs::remove_dir_all(&staging.root);
        return Err(TilingError::Raster(RasterError::Empty(
            "the image holds no visible pixels: every tile would be empty".into(),
        )));
    }
    sync_filesystem(&staging.root);
    std::fs::rename(&staging.root, &final_dir.root).map_err(io(format!(
        "renaming {} to {}",
        staging.root.display(),
        final_dir.root.display()
    )))?;
    Ok(outcome)
}

/// Removes a directory tree if it is there.
pub fn remove_dir_if_exists(p: &Path) -> Result<(), TilingError> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(TilingError::Io(format!("removing {}: {e}", p.display()))),
    }
}

/// Flushes the tiles to disk before the store says the survey is ready (`syncfs` on Linux).
fn sync_filesystem(p: &Path) {
    #[cfg(target_os = "linux")]
    if let Ok(f) = std::fs::File::open(p) {
        use std::os::fd::AsRawFd;
        // SAFETY: `syncfs` only reads the descriptor, which `f` keeps open for the call.
        unsafe {
            libc::syncfs(f.as_raw_fd());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = p;
}

struct Shared<'a> {
    info: &'a SourceInfo,
    plan: &'a Plan,
    dir: &'a SurveyDir,
    opts: &'a Options,
    obs: &'a dyn Observer,
    next: AtomicUsize,
    done: AtomicU64,
    stop: AtomicBool,
    error: Mutex<Option<TilingError>>,
    display: AtomicU64,
    analysis: AtomicU64,
    bytes: AtomicU64,
    mask: Mutex<footprint::Mask>,
    /// Zoom of the footprint mask's source level and the extra reduction applied.
    mask_zoom: u8,
    mask_shift: u32,
    lut: Vec<u8>,
}

impl Shared<'_> {
    fn fail(&self, e: TilingError) {
        self.stop.store(true, Ordering::SeqCst);
        let mut slot = self.error.lock().expect("error slot");
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    fn should_stop(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        if self.obs.cancelled() {
            self.fail(TilingError::Cancelled);
            return true;
        }
        false
    }

    fn write(
        &self,
        path: &Path,
        bytes: &[u8],
        dirs: &mut HashSet<PathBuf>,
    ) -> Result<(), TilingError> {
        if let Some(parent) = path.parent()
            && !dirs.contains(parent)
        {
            std::fs::create_dir_all(parent).map_err(io(parent.display()))?;
            dirs.insert(parent.to_path_buf());
        }
        std::fs::write(path, bytes).map_err(io(path.display()))?;
        self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn display_lut(info: &SourceInfo) -> Vec<u8> {
    let mut lut = vec![0u8; 65_536];
    match (info.sample, info.stretch) {
        (SampleType::U16, Some((lo, hi))) => {
            let span = f64::from(hi - lo).max(1.0);
            for (v, out) in lut.iter_mut().enumerate() {
                let t = (v as f64 - f64::from(lo)) / span;
                *out = (t.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        _ => {
            for (v, out) in lut.iter_mut().enumerate() {
                *out = v.min(255) as u8;
            }
        }
    }
    lut
}

fn tile_into(
    info: &SourceInfo,
    plan: &Plan,
    dir: &SurveyDir,
    opts: &Options,
    obs: &dyn Observer,
) -> Result<Outcome, TilingError> {
    let threads = opts.threads.max(1);
    let mask_zoom = plan.native_zoom - plan.block_levels;
    let mr = plan.level(mask_zoom).expect("mask level is planned");
    let (mw, mh) = (
        (mr.max_x - mr.min_x + 1) as usize * T,
        (mr.max_y - mr.min_y + 1) as usize * T,
    );
    let mut mask_shift = 0;
    while (mw.max(mh) >> mask_shift) > FOOTPRINT_MAX_PX {
        mask_shift += 1;
    }
    let mask_bounds = {
        let a = Tile {
            z: mask_zoom,
            x: mr.min_x,
            y: mr.max_y,
        }
        .bounds_mercator();
        let b = Tile {
            z: mask_zoom,
            x: mr.max_x,
            y: mr.min_y,
        }
        .bounds_mercator();
        [a[0], a[1], b[2], b[3]]
    };
    let shared = Shared {
        info,
        plan,
        dir,
        opts,
        obs,
        next: AtomicUsize::new(0),
        done: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        error: Mutex::new(None),
        display: AtomicU64::new(0),
        analysis: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        mask: Mutex::new(footprint::Mask::new(
            (mw >> mask_shift).max(1),
            (mh >> mask_shift).max(1),
            mask_bounds,
        )),
        mask_zoom,
        mask_shift,
        lut: display_lut(info),
    };
    let mut timings = Vec::new();

    // Native tiles and in-block overviews.
    let t0 = Instant::now();
    let total = plan.blocks.len() as u64;
    obs.progress(Stage::Tile, 0, total);
    std::thread::scope(|s| {
        for _ in 0..threads.min(plan.blocks.len()) {
            s.spawn(|| block_worker(&shared));
        }
    });
    if let Some(e) = shared.error.lock().expect("error slot").take() {
        return Err(e);
    }
    timings.push((Stage::Tile, t0.elapsed().as_secs_f64()));

    // Overviews above the blocks, level by level, from the tiles below.
    let t1 = Instant::now();
    let upper: Vec<&LevelRange> = plan
        .levels
        .iter()
        .rev()
        .filter(|l| l.z + plan.block_levels < plan.native_zoom)
        .collect();
    let total_upper = plan.upper_tile_count();
    shared.done.store(0, Ordering::SeqCst);
    obs.progress(Stage::Overviews, 0, total_upper);
    for level in upper {
        let tiles: Vec<Tile> = level.tiles().collect();
        shared.next.store(0, Ordering::SeqCst);
        std::thread::scope(|s| {
            for _ in 0..threads.min(tiles.len()) {
                s.spawn(|| overview_worker(&shared, &tiles, total_upper));
            }
        });
        if let Some(e) = shared.error.lock().expect("error slot").take() {
            return Err(e);
        }
    }
    timings.push((Stage::Overviews, t1.elapsed().as_secs_f64()));

    let t2 = Instant::now();
    obs.progress(Stage::Footprint, 0, 1);
    // The footprint from the source's valid-data mask at its own resolution (within a pixel of
    // the image); the tiles' coarse mask only if GDAL cannot outline it.
    let mask = shared.mask.into_inner().expect("mask");
    let footprint = match crate::ingest::raster::open(&info.path)
        .and_then(|ds| crate::ingest::footprint::source_footprint(&ds, info))
    {
        Ok(f) if !f.0.is_empty() => f,
        Ok(_) => footprint::outline(&mask),
        Err(e) => {
            tracing::warn!(error = %e, "footprint from the source failed; using the tiles' mask");
            footprint::outline(&mask)
        }
    };
    timings.push((Stage::Footprint, t2.elapsed().as_secs_f64()));
    Ok(Outcome {
        plan: plan.clone(),
        display_tiles: shared.display.load(Ordering::SeqCst),
        analysis_tiles: shared.analysis.load(Ordering::SeqCst),
        bytes: shared.bytes.load(Ordering::SeqCst),
        footprint,
        timings,
    })
}

/// What a worker keeps between blocks.
struct Worker<'a> {
    ds: gdal::Dataset,
    to_src: CoordTransform,
    inverse: [f64; 6],
    /// Band indices read per block: analysis roles, then alpha when it marks the footprint.
    bands: Vec<usize>,
    analysis_roles: Vec<Role>,
    window: Vec<Vec<u16>>,
    mask_window: Vec<u8>,
    canvas: Vec<u8>,
    dirs: HashSet<PathBuf>,
    shared: &'a Shared<'a>,
}

fn block_worker(shared: &Shared<'_>) {
    let mut w = match Worker::new(shared) {
        Ok(w) => w,
        Err(e) => return shared.fail(e),
    };
    let total = shared.plan.blocks.len() as u64;
    loop {
        if shared.should_stop() {
            return;
        }
        let i = shared.next.fetch_add(1, Ordering::SeqCst);
        let Some(&block) = shared.plan.blocks.get(i) else {
            return;
        };
        if let Err(e) = w.block(block) {
            return shared.fail(e);
        }
        let done = shared.done.fetch_add(1, Ordering::SeqCst) + 1;
        shared.obs.progress(Stage::Tile, done, total);
    }
}

impl<'a> Worker<'a> {
    fn new(shared: &'a Shared<'a>) -> Result<Worker<'a>, TilingError> {
        let info = shared.info;
        let ds = raster::open(&info.path)?;
        let src = info.spatial_ref()?;
        let to_src = CoordTransform::new(&raster::web_mercator(), &src).map_err(|e| {
            RasterError::UnknownCrs(format!("no transformation to {}: {e}", info.crs_name))
        })?;
        let analysis_roles = info.analysis_roles();
        let mut bands: Vec<usize> = analysis_roles
            .iter()
            .map(|r| info.band(*r).expect("present"))
            .collect();
        if let Validity::Alpha(a) = info.validity {
            bands.push(a);
        }
        Ok(Worker {
            ds,
            to_src,
            inverse: info.inverse_geotransform(),
            window: vec![Vec::new(); bands.len()],
            bands,
            analysis_roles,
            mask_window: Vec::new(),
            canvas: vec![0u8; BLOCK_PX * BLOCK_PX * 4],
            dirs: HashSet::new(),
            shared,
        })
    }

    /// Source (col, row) of the warp grid's nodes over a block, NaN where PROJ failed.
    fn grid(&self, bx: u32, by: u32) -> (Vec<f64>, Vec<f64>) {
        let z = self.shared.plan.native_zoom;
        let res = grid::resolution(z);
        let minx = -ORIGIN_SHIFT + f64::from(bx * BLOCK_TILES * TILE_SIZE) * res;
        let maxy = ORIGIN_SHIFT - f64::from(by * BLOCK_TILES * TILE_SIZE) * res;
        let mut xs = Vec::with_capacity(GRID_N * GRID_N);
        let mut ys = Vec::with_capacity(GRID_N * GRID_N);
        for j in 0..GRID_N {
            for i in 0..GRID_N {
                xs.push(minx + ((i * GRID_STEP) as f64 + 0.5) * res);
                ys.push(maxy - ((j * GRID_STEP) as f64 + 0.5) * res);
            }
        }
        if self
            .to_src
            .transform_coords(&mut xs, &mut ys, &mut [])
            .is_err()
        {
            // Some points failed: transform one by one, marking the failures.
            for k in 0..xs.len() {
                let (mut x, mut y) = ([xs[k]], [ys[k]]);
                if self
                    .to_src
                    .transform_coords(&mut x, &mut y, &mut [])
                    .is_ok()
                {
                    (xs[k], ys[k]) = (x[0], y[0]);
                } else {
                    (xs[k], ys[k]) = (f64::NAN, f64::NAN);
                }
            }
        }
        let g = &self.inverse;
        let cols = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| g[0] + x * g[1] + y * g[2])
            .collect();
        let rows = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| g[3] + x * g[4] + y * g[5])
            .collect();
        (cols, rows)
    }

    fn block(&mut self, (bx, by): (u32, u32)) -> Result<(), TilingError> {
        let shared = self.shared;
        let info = shared.info;
        let native = shared
            .plan
            .level(shared.plan.native_zoom)
            .expect("native level");
        let (cols, rows) = self.grid(bx, by);
        // The source window under the block.
        let (mut c0, mut r0, mut c1, mut r1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (c, r) in cols.iter().zip(&rows) {
            if c.is_finite() && r.is_finite() {
                c0 = c0.min(*c);
                c1 = c1.max(*c);
                r0 = r0.min(*r);
                r1 = r1.max(*r);
            }
        }
        let clamp = |v: f64, hi: usize| (v.max(0.0) as usize).min(hi);
        let (wx0, wy0) = (
            clamp(c0.floor() - 1.0, info.width),
            clamp(r0.floor() - 1.0, info.height),
        );
        let (wx1, wy1) = (
            clamp(c1.ceil() + 1.0, info.width),
            clamp(r1.ceil() + 1.0, info.height),
        );
        if c0 == f64::MAX || wx0 >= wx1 || wy0 >= wy1 {
            return Ok(()); // the block misses the image
        }
        let (ww, wh) = (wx1 - wx0, wy1 - wy0);
        // Sparse files: a window no block of which was written holds nothing to tile; skip it
        // before reading or warping a pixel.
        let empty = self.bands.iter().all(|b| {
            self.ds
                .rasterband(*b)
                .is_ok_and(|band| raster::window_is_empty(&band, (wx0, wy0), (ww, wh)))
        });
        if empty {
            return Ok(());
        }
        for (k, b) in self.bands.iter().enumerate() {
            let band = self
                .ds
                .rasterband(*b)
                .map_err(|e| RasterError::Corrupt(format!("band {b}: {e}")))?;
            let buf = &mut self.window[k];
            buf.resize(ww * wh, 0);
            band.read_into_slice::<u16>((wx0 as isize, wy0 as isize), (ww, wh), (ww, wh), buf, None)
                .map_err(|e| {
                    RasterError::Corrupt(format!(
                        "reading pixels {wx0}..{wx1} × {wy0}..{wy1} of band {b} failed (corrupt or truncated file?): {e}"
                    ))
                })?;
        }
        if info.validity == Validity::MaskBand {
            let band = self
                .ds
                .rasterband(self.bands[0])
                .map_err(|e| RasterError::Corrupt(e.to_string()))?;
            let mb = band
                .open_mask_band()
                .map_err(|e| RasterError::Corrupt(e.to_string()))?;
            self.mask_window.resize(ww * wh, 0);
            mb.read_into_slice::<u8>(
                (wx0 as isize, wy0 as isize),
                (ww, wh),
                (ww, wh),
                &mut self.mask_window,
                None,
            )
            .map_err(|e| RasterError::Corrupt(format!("reading the mask band: {e}")))?;
        }

        self.canvas.fill(0);
        let nb = self.analysis_roles.len();
        let alpha_k = matches!(info.validity, Validity::Alpha(_)).then_some(nb);
        let nodata = match info.validity {
            Validity::NoData(v) if (0.0..=65_535.0).contains(&v) && v.fract() == 0.0 => {
                Some(v as u16)
            }
            _ => None,
        };
        let lut = &shared.lut;
        let n = T * T;
        let mut planes: Vec<Vec<u16>> = vec![vec![0u16; n]; nb];
        let mut mask = vec![0u8; n];
        for ty in 0..BLOCK_TILES {
            for tx in 0..BLOCK_TILES {
                let tile = Tile {
                    z: native.z,
                    x: bx * BLOCK_TILES + tx,
                    y: by * BLOCK_TILES + ty,
                };
                if !native.contains(tile) {
                    continue;
                }
                let mut any = false;
                for row in 0..T {
                    let py = ty as usize * T + row;
                    let gj = py / GRID_STEP;
                    let fy = (py % GRID_STEP) as f64 / GRID_STEP as f64;
                    for cell in 0..T / GRID_STEP {
                        let gi = tx as usize * (T / GRID_STEP) + cell;
                        let at = |v: &[f64], j: usize, i: usize| v[j * GRID_N + i];
                        let lerp = |v: &[f64], i: usize| {
                            at(v, gj, i) + (at(v, gj + 1, i) - at(v, gj, i)) * fy
                        };
                        let (ca, cb) = (lerp(&cols, gi), lerp(&cols, gi + 1));
                        let (ra, rb) = (lerp(&rows, gi), lerp(&rows, gi + 1));
                        if !(ca.is_finite() && cb.is_finite() && ra.is_finite() && rb.is_finite()) {
                            continue;
                        }
                        // 32.32 fixed point from here: an add and a shift per pixel instead of
                        // two float floors (libm calls on baseline x86-64).
                        const ONE: f64 = (1u64 << 32) as f64;
                        let c0 = ((ca - wx0 as f64) * ONE) as i64;
                        let r0 = ((ra - wy0 as f64) * ONE) as i64;
                        let dc = ((cb - ca) / GRID_STEP as f64 * ONE) as i64;
                        let dr = ((rb - ra) / GRID_STEP as f64 * ONE) as i64;
                        for k in 0..GRID_STEP {
                            let c = (c0 + dc * k as i64) >> 32;
                            let r = (r0 + dr * k as i64) >> 32;
                            if c < 0 || r < 0 || c as usize >= ww || r as usize >= wh {
                                continue;
                            }
                            let si = r as usize * ww + c as usize;
                            let valid = match info.validity {
                                Validity::Alpha(_) => self.window[alpha_k.expect("alpha")][si] != 0,
                                Validity::MaskBand => self.mask_window[si] != 0,
                                Validity::NoData(_) => match nodata {
                                    Some(nd) => {
                                        !(self.window[0][si] == nd
                                            && self.window[1][si] == nd
                                            && self.window[2][si] == nd)
                                    }
                                    None => true,
                                },
                                Validity::All => true,
                            };
                            if !valid {
                                continue;
                            }
                            any = true;
                            let px = cell * GRID_STEP + k;
                            let ti = row * T + px;
                            for (b, plane) in planes.iter_mut().enumerate() {
                                plane[ti] = self.window[b][si];
                            }
                            mask[ti] = 255;
                            let ci =
                                ((ty as usize * T + row) * BLOCK_PX + tx as usize * T + px) * 4;
                            self.canvas[ci] = lut[self.window[0][si] as usize];
                            self.canvas[ci + 1] = lut[self.window[1][si] as usize];
                            self.canvas[ci + 2] = lut[self.window[2][si] as usize];
                            self.canvas[ci + 3] = 255;
                        }
                    }
                }
                if any {
                    let at = AnalysisTile {
                        sample_bytes: info.sample.bytes() as u8,
                        roles: self.analysis_roles.clone(),
                        planes: std::mem::take(&mut planes),
                        mask: std::mem::take(&mut mask),
                    };
                    let path = shared.dir.analysis(tile);
                    shared.write(&path, &at.encode(), &mut self.dirs)?;
                    shared.analysis.fetch_add(1, Ordering::Relaxed);
                    planes = at.planes;
                    mask = at.mask;
                    planes.iter_mut().for_each(|p| p.fill(0));
                    mask.fill(0);
                    self.emit(tile, tx as usize * T, ty as usize * T)?;
                }
            }
        }
        // Overviews inside the block.
        let mut size = BLOCK_PX;
        for l in 1..=shared.plan.block_levels {
            image_ops::halve_in_place(&mut self.canvas, BLOCK_PX, size, size);
            size /= 2;
            let per_side = BLOCK_TILES >> l;
            for j in 0..per_side {
                for i in 0..per_side {
                    let tile = Tile {
                        z: native.z - l,
                        x: bx * per_side + i,
                        y: by * per_side + j,
                    };
                    self.emit(tile, i as usize * T, j as usize * T)?;
                }
            }
        }
        self.add_to_footprint(bx, by, size);
        Ok(())
    }

    /// Encodes and writes the canvas tile at `(x0, y0)` unless it is empty.
    fn emit(&mut self, tile: Tile, x0: usize, y0: usize) -> Result<(), TilingError> {
        if let Some(rgba) = image_ops::cut_tile(&self.canvas, BLOCK_PX, x0, y0) {
            let fmt = self.shared.opts.format;
            let bytes = image_ops::encode(&rgba, fmt).map_err(TilingError::Io)?;
            let path = self.shared.dir.display(tile, fmt.extension());
            self.shared.write(&path, &bytes, &mut self.dirs)?;
            self.shared.display.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Marks the block's valid pixels (from its coarsest in-block level, `size` px square at the
    /// top left of the canvas) in the footprint mask.
    fn add_to_footprint(&self, bx: u32, by: u32, size: usize) {
        let shared = self.shared;
        let mr = shared.plan.level(shared.mask_zoom).expect("mask level");
        let per_side = BLOCK_TILES >> shared.plan.block_levels;
        // The block's top left in mask pixels. With fewer than three in-block levels (a small
        // survey) a block spans several mask-zoom tiles and may start before the level's first
        // one: those pixels lie outside the mask and are skipped, the rest keep their place
        // (clamping the origin at 0 shifted them out of the mask: an empty footprint).
        let ox = (i64::from(bx * per_side) - i64::from(mr.min_x)) * T as i64;
        let oy = (i64::from(by * per_side) - i64::from(mr.min_y)) * T as i64;
        let mut hits = Vec::new();
        for y in 0..size {
            for x in 0..size {
                if self.canvas[(y * BLOCK_PX + x) * 4 + 3] != 0 {
                    let (mx, my) = (ox + x as i64, oy + y as i64);
                    if mx >= 0 && my >= 0 {
                        hits.push((
                            (mx as usize) >> shared.mask_shift,
                            (my as usize) >> shared.mask_shift,
                        ));
                    }
                }
            }
        }
        if !hits.is_empty() {
            let mut m = shared.mask.lock().expect("mask");
            for (x, y) in hits {
                m.set(x, y);
            }
        }
    }
}

fn overview_worker(shared: &Shared<'_>, tiles: &[Tile], total: u64) {
    let mut dirs = HashSet::new();
    let fmt = shared.opts.format;
    let mut canvas = vec![0u8; 2 * T * 2 * T * 4];
    loop {
        if shared.should_stop() {
            return;
        }
        let i = shared.next.fetch_add(1, Ordering::SeqCst);
        let Some(&tile) = tiles.get(i) else { return };
        canvas.fill(0);
        let mut any = false;
        for (k, child) in tile.children().into_iter().enumerate() {
            let path = shared.dir.display(child, fmt.extension());
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return shared.fail(TilingError::Io(format!("{}: {e}", path.display()))),
            };
            let rgba = match image_ops::decode(&bytes) {
                Ok(r) => r,
                Err(e) => return shared.fail(TilingError::Io(format!("{}: {e}", path.display()))),
            };
            any = true;
            let (ox, oy) = ((k % 2) * T, (k / 2) * T);
            for y in 0..T {
                let dst = ((oy + y) * 2 * T + ox) * 4;
                canvas[dst..dst + T * 4].copy_from_slice(&rgba[y * T * 4..(y + 1) * T * 4]);
            }
        }
        if any {
            image_ops::halve_in_place(&mut canvas, 2 * T, 2 * T, 2 * T);
            if let Some(rgba) = image_ops::cut_tile(&canvas, 2 * T, 0, 0) {
                let res = image_ops::encode(&rgba, fmt)
                    .map_err(TilingError::Io)
                    .and_then(|bytes| {
                        shared.write(
                            &shared.dir.display(tile, fmt.extension()),
                            &bytes,
                            &mut dirs,
                        )
                    });
                if let Err(e) = res {
                    return shared.fail(e);
                }
                shared.display.fetch_add(1, Ordering::Relaxed);
            }
        }
        let done = shared.done.fetch_add(1, Ordering::SeqCst) + 1;
        shared.obs.progress(Stage::Overviews, done, total);
    }
}

/// Sets GDAL's block cache once per process.
pub fn configure_gdal(cache_mib: usize) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain setter of a process-wide integer, called before any tiling reads.
        unsafe { gdal_sys::GDALSetCacheMax64((cache_mib as i64) << 20) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::raster::{Limits, inspect};

    struct Quiet;
    impl Observer for Quiet {
        fn progress(&self, _: Stage, _: u64, _: u64) {}
        fn cancelled(&self) -> bool {
            false
        }
    }

    #[test]
    fn sample_scene_tiles_and_footprint() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-imagery");
        for name in ["poppy-utm48n-rgba.tif", "mixed-vn2000-rgbn.tif"] {
            let info = inspect(
                &root.join(name),
                &Limits {
                    max_pixels: 1 << 30,
                },
                None,
            )
            .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let opts = Options {
                tiles_dir: dir.path().to_path_buf(),
                format: TileFormat::Png,
                threads: 2,
            };
            let t = std::time::Instant::now();
            let out = run(&info, "s1", &opts, &Quiet).unwrap();
            eprintln!(
                "{name}: {:?} z{}..{} {} display {} analysis {:?} in {:?}",
                info.roles,
                out.plan.min_zoom,
                out.plan.native_zoom,
                out.display_tiles,
                out.analysis_tiles,
                out.timings,
                t.elapsed()
            );
            assert!(out.analysis_tiles > 0);
            assert!(!out.footprint.0.is_empty());
            assert!(dir.path().join("s1").is_dir());
            assert!(!dir.path().join("s1.part").exists());
        }
    }
}
