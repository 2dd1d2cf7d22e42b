//! Survey orthomosaics through GDAL: open a file, check it is something Vigil can tile, and
//! describe it (`inspect`), then read windows of it for the tiler (`Source`).
//!
//! What is refused, each with its own [`RasterError`] code: files GDAL cannot open or read to the
//! end (`corrupt`), no geotransform (`not_georeferenced`), no usable CRS (`unknown_crs`), band
//! layouts without red, green and blue (`band_layout`), sample types other than 8/16-bit unsigned
//! (`unsupported_type`), and more pixels than `ingest.max_pixels` (`too_many_pixels`), checked
//! from the header before a pixel is decoded.

use std::path::{Path, PathBuf};

use gdal::raster::{ColorInterpretation, GdalDataType};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::{Dataset, Metadata};

/// What a band holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Red,
    Green,
    Blue,
    Nir,
    RedEdge,
    Alpha,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Red => "red",
            Role::Green => "green",
            Role::Blue => "blue",
            Role::Nir => "nir",
            Role::RedEdge => "rededge",
            Role::Alpha => "alpha",
        }
    }

    /// A role from a name given by a user (`--bands red,green,blue,nir`) or a band description
    /// written by WebODM, DJI Terra, Pix4D, MicaSense or Vigil's own sample writer.
    pub fn from_name(name: &str) -> Option<Role> {
        let n: String = name
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        Some(match n.as_str() {
            "r" | "red" | "redband" => Role::Red,
            "g" | "green" | "greenband" => Role::Green,
            "b" | "blue" | "blueband" => Role::Blue,
            "n" | "nir" | "nearinfrared" | "nearir" | "infrared" | "nirband" => Role::Nir,
            "re" | "rededge" | "rededgeband" | "edge" => Role::RedEdge,
            "a" | "alpha" | "alphaband" | "mask" => Role::Alpha,
            _ => return None,
        })
    }

    /// Analysis band order: what the classifier reads, in this order, when present.
    pub const ANALYSIS: [Role; 5] = [Role::Red, Role::Green, Role::Blue, Role::Nir, Role::RedEdge];
}

/// Sample type of the colour bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleType {
    U8,
    U16,
}

impl SampleType {
    pub fn bytes(self) -> usize {
        match self {
            SampleType::U8 => 1,
            SampleType::U16 => 2,
        }
    }
}

/// How pixels outside the footprint are marked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validity {
    /// Alpha band (1-based index): 0 outside.
    Alpha(usize),
    /// A mask band GDAL keeps beside the data (internal TIFF mask or `.msk`).
    MaskBand,
    /// A nodata value: outside where red, green and blue all equal it.
    NoData(f64),
    /// Everything inside the image is valid.
    All,
}

/// Why a file was refused. `code()` is the stable machine-readable name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RasterError {
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    NotGeoreferenced(String),
    #[error("{0}")]
    UnknownCrs(String),
    #[error("{0}")]
    BandLayout(String),
    #[error("{0}")]
    UnsupportedType(String),
    #[error("{0}")]
    TooManyPixels(String),
    /// No pixel holds data (a sparse GeoTIFF whose blocks were never written).
    #[error("{0}")]
    Empty(String),
}

impl RasterError {
    pub fn code(&self) -> &'static str {
        match self {
            RasterError::Corrupt(_) => "corrupt",
            RasterError::NotGeoreferenced(_) => "not_georeferenced",
            RasterError::UnknownCrs(_) => "unknown_crs",
            RasterError::BandLayout(_) => "band_layout",
            RasterError::UnsupportedType(_) => "unsupported_type",
            RasterError::TooManyPixels(_) => "too_many_pixels",
            RasterError::Empty(_) => "empty",
        }
    }
}

/// A source raster that passed every check.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub path: PathBuf,
    pub driver: String,
    pub width: usize,
    pub height: usize,
    pub sample: SampleType,
    /// 1-based band index per role present.
    pub roles: Vec<(Role, usize)>,
    pub validity: Validity,
    pub geotransform: [f64; 6],
    /// The source CRS as WKT (what the tiler builds its transform from).
    pub crs_wkt: String,
    /// `EPSG:n` when the CRS has an EPSG code, else its name.
    pub crs_name: String,
    pub epsg: Option<u32>,
    /// Acquisition time found in the file's metadata (`TIFFTAG_DATETIME`, `ACQUISITIONDATETIME`),
    /// RFC 3339.
    pub acquired_at: Option<String>,
    /// Ground sample distance at the image centre, metres.
    pub gsd_m: f64,
    /// Centre of the image, lon/lat.
    pub center: [f64; 2],
    /// Bounds of the image outline, lon/lat `[w, s, e, n]`.
    pub bbox: [f64; 4],
    /// Display stretch for 16-bit sources: (low, high) sample values mapped to 0 and 255.
    pub stretch: Option<(u16, u16)>,
}

impl SourceInfo {
    pub fn band(&self, role: Role) -> Option<usize> {
        self.roles.iter().find(|(r, _)| *r == role).map(|(_, b)| *b)
    }

    /// The analysis bands present, in [`Role::ANALYSIS`] order.
    pub fn analysis_roles(&self) -> Vec<Role> {
        Role::ANALYSIS
            .into_iter()
            .filter(|r| self.band(*r).is_some())
            .collect()
    }

    pub fn megapixels(&self) -> f64 {
        (self.width * self.height) as f64 / 1e6
    }

    /// Source pixel `(col, row)` → source CRS coordinates.
    pub fn pixel_to_crs(&self, col: f64, row: f64) -> (f64, f64) {
        let g = &self.geotransform;
        (
            g[0] + col * g[1] + row * g[2],
            g[3] + col * g[4] + row * g[5],
        )
    }

    /// The inverse geotransform: source CRS → pixel `(col, row)`.
    pub fn inverse_geotransform(&self) -> [f64; 6] {
        let g = &self.geotransform;
        let det = g[1] * g[5] - g[2] * g[4];
        let (a, b, d, e) = (g[5] / det, -g[2] / det, -g[4] / det, g[1] / det);
        [-(a * g[0] + b * g[3]), a, b, -(d * g[0] + e * g[3]), d, e]
    }

    /// Opens the CRS with x/y (lon/lat) axis order.
    pub fn spatial_ref(&self) -> Result<SpatialRef, RasterError> {
        let mut srs = SpatialRef::from_wkt(&self.crs_wkt)
            .map_err(|e| RasterError::UnknownCrs(format!("the file's CRS cannot be used: {e}")))?;
        srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        Ok(srs)
    }
}

/// Limits applied while inspecting.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_pixels: u64,
}

/// EPSG:3857 with x/y axis order.
pub fn web_mercator() -> SpatialRef {
    let mut s = SpatialRef::from_epsg(3857).expect("EPSG:3857 is known to PROJ");
    s.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    s
}

/// Whether GDAL knows that a window of a band holds no data at all — blocks of a sparse GeoTIFF
/// that were never written — without reading a pixel (`GDALGetDataCoverageStatus`). `false` when
/// the driver cannot tell.
pub fn window_is_empty(
    band: &gdal::raster::RasterBand<'_>,
    (x, y): (usize, usize),
    (w, h): (usize, usize),
) -> bool {
    const DATA: i32 = 0x02;
    const EMPTY: i32 = 0x04;
    let to_i32 = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    // SAFETY: the band handle is valid while `band` lives; no percentage is asked for.
    let status = unsafe {
        gdal_sys::GDALGetDataCoverageStatus(
            band.c_rasterband(),
            to_i32(x),
            to_i32(y),
            to_i32(w),
            to_i32(h),
            0,
            std::ptr::null_mut(),
        )
    };
    status & EMPTY != 0 && status & DATA == 0
}

/// A sample type in words, for messages people read.
fn type_words(t: GdalDataType) -> &'static str {
    match t {
        GdalDataType::UInt8 => "8-bit unsigned integer",
        GdalDataType::UInt16 => "16-bit unsigned integer",
        GdalDataType::Int16 => "16-bit signed integer",
        GdalDataType::UInt32 => "32-bit unsigned integer",
        GdalDataType::Int32 => "32-bit signed integer",
        GdalDataType::UInt64 => "64-bit unsigned integer",
        GdalDataType::Int64 => "64-bit signed integer",
        GdalDataType::Float32 => "32-bit floating point",
        GdalDataType::Float64 => "64-bit floating point",
        _ => "unknown",
    }
}

/// Opens a raster read-only, naming the file when GDAL cannot.
pub fn open(path: &Path) -> Result<Dataset, RasterError> {
    let opts = gdal::DatasetOptions {
        open_flags: gdal::GdalOpenFlags::GDAL_OF_RASTER | gdal::GdalOpenFlags::GDAL_OF_READONLY,
        ..Default::default()
    };
    Dataset::open_ex(path, opts).map_err(|e| {
        let e = e.to_string();
        // GDAL's "returned a NULL pointer. Error msg: ''" says nothing more than the first part.
        let why = match e.split_once("Error msg: ") {
            Some((_, m)) if !m.trim_matches(['\'', ' ']).is_empty() => {
                format!(": {}", m.trim_matches(['\'', ' ']))
            }
            _ => String::new(),
        };
        // The file name only: the server's paths are nobody's business.
        let name = path
            .file_name()
            .map_or_else(|| "the file".into(), |n| n.to_string_lossy().to_string());
        let why = why.replace(&path.display().to_string(), &name);
        RasterError::Corrupt(format!(
            "{name} is not a raster image GDAL can read (expected a GeoTIFF/COG orthomosaic){why}"
        ))
    })
}

/// Checks a file and describes it. `bands` overrides the roles read from the file (one name per
/// band, e.g. `["red", "green", "blue", "nir"]`).
pub fn inspect(
    path: &Path,
    limits: &Limits,
    bands: Option<&[Role]>,
) -> Result<SourceInfo, RasterError> {
    inspect_with(path, limits, bands, true)
}

/// The cheap checks of [`inspect`] — GDAL opens it, header, georeferencing, CRS, bands, sample
/// type, size limit, data present, first and last rows readable — without the 16-bit stretch
/// (which reads the whole image at a reduced size). For answering an upload at once.
pub fn check(
    path: &Path,
    limits: &Limits,
    bands: Option<&[Role]>,
) -> Result<SourceInfo, RasterError> {
    inspect_with(path, limits, bands, false)
}

fn inspect_with(
    path: &Path,
    limits: &Limits,
    bands: Option<&[Role]>,
    stretch: bool,
) -> Result<SourceInfo, RasterError> {
    let ds = open(path)?;
    let (width, height) = ds.raster_size();
    let pixels = width as u64 * height as u64;
    if pixels > limits.max_pixels {
        return Err(RasterError::TooManyPixels(format!(
            "the image is {width} × {height} = {pixels} pixels, over the limit of {} (ingest.max_pixels)",
            limits.max_pixels
        )));
    }
    if width == 0 || height == 0 {
        return Err(RasterError::Corrupt("the image has no pixels".into()));
    }
    let count = ds.raster_count();
    // Georeferencing.
    let gt = ds.geo_transform().map_err(|_| {
        RasterError::NotGeoreferenced(
            "the image has no geotransform (not georeferenced): export the orthomosaic as a GeoTIFF \
             with its coordinate system"
                .into(),
        )
    })?;
    let det = gt[1] * gt[5] - gt[2] * gt[4];
    if gt == [0.0, 1.0, 0.0, 0.0, 0.0, 1.0] || !det.is_finite() || det.abs() < 1e-300 {
        return Err(RasterError::NotGeoreferenced(
            "the image's geotransform is the identity or degenerate (not georeferenced)".into(),
        ));
    }
    let wkt = ds.projection();
    if wkt.trim().is_empty() {
        return Err(RasterError::UnknownCrs(
            "the image has a geotransform but no coordinate reference system".into(),
        ));
    }
    let mut srs = SpatialRef::from_wkt(&wkt)
        .map_err(|e| RasterError::UnknownCrs(format!("the image's CRS is not understood: {e}")))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    if !(srs.is_projected() || srs.is_geographic()) {
        return Err(RasterError::UnknownCrs(format!(
            "the image's CRS {:?} is neither projected nor geographic (a local engineering CRS?)",
            srs.name().unwrap_or_default()
        )));
    }
    let epsg = srs
        .auth_name()
        .filter(|a| a.eq_ignore_ascii_case("EPSG"))
        .and_then(|_| srs.auth_code().ok())
        .map(|c| c as u32);
    let crs_name = match epsg {
        Some(c) => format!("EPSG:{c}"),
        None => srs.name().unwrap_or_else(|| "unnamed CRS".into()),
    };
    // A file whose every band is known to hold no data (a sparse GeoTIFF never written to) is
    // refused here, before any work is spent on it.
    let all_empty = (1..=count).all(|i| {
        ds.rasterband(i)
            .is_ok_and(|b| window_is_empty(&b, (0, 0), (width, height)))
    });
    if count > 0 && all_empty {
        return Err(RasterError::Empty(format!(
            "the image ({width} × {height} pixels) holds no data: none of its blocks were written"
        )));
    }
    // Bands.
    let mut first_type = None;
    let mut found: Vec<Option<Role>> = Vec::with_capacity(count);
    for i in 1..=count {
        let band = ds
            .rasterband(i)
            .map_err(|e| RasterError::Corrupt(format!("band {i}: {e}")))?;
        let t = band.band_type();
        match t {
            GdalDataType::UInt8 | GdalDataType::UInt16 => {}
            other => {
                return Err(RasterError::UnsupportedType(format!(
                    "band {i} holds {} samples; Vigil takes 8- or 16-bit unsigned imagery \
                     (export reflectance stacks scaled to 16-bit unsigned integers)",
                    type_words(other)
                )));
            }
        }
        let role = match band.color_interpretation() {
            ColorInterpretation::RedBand => Some(Role::Red),
            ColorInterpretation::GreenBand => Some(Role::Green),
            ColorInterpretation::BlueBand => Some(Role::Blue),
            ColorInterpretation::AlphaBand => Some(Role::Alpha),
            ColorInterpretation::PaletteIndex => {
                return Err(RasterError::BandLayout(
                    "the image is paletted; Vigil needs true-colour bands (red, green, blue)"
                        .into(),
                ));
            }
            _ => band.description().ok().and_then(|d| Role::from_name(&d)),
        };
        if role != Some(Role::Alpha) {
            match first_type {
                None => first_type = Some(t),
                Some(f) if f != t => {
                    return Err(RasterError::UnsupportedType(format!(
                        "band {i} holds {} samples but earlier bands hold {}; all colour bands must share one type",
                        type_words(t),
                        type_words(f)
                    )));
                }
                _ => {}
            }
        }
        found.push(role);
    }
    if let Some(over) = bands {
        if over.len() != count {
            return Err(RasterError::BandLayout(format!(
                "{} band roles were given but the image has {count} bands",
                over.len()
            )));
        }
        found = over.iter().copied().map(Some).collect();
    } else if count == 3 && found.iter().all(Option::is_none) {
        // A plain 3-band image with no interpretation: RGB by convention (as GDAL itself assumes).
        found = vec![Some(Role::Red), Some(Role::Green), Some(Role::Blue)];
    }
    let mut roles: Vec<(Role, usize)> = Vec::new();
    for (i, r) in found.iter().enumerate() {
        if let Some(r) = r {
            if let Some((_, prev)) = roles.iter().find(|(x, _)| x == r) {
                return Err(RasterError::BandLayout(format!(
                    "bands {prev} and {} are both {}; give the roles with --bands / \"bands\"",
                    i + 1,
                    r.code()
                )));
            }
            roles.push((*r, i + 1));
        }
    }
    let missing: Vec<&str> = [Role::Red, Role::Green, Role::Blue]
        .into_iter()
        .filter(|r| !roles.iter().any(|(x, _)| x == r))
        .map(Role::code)
        .collect();
    // A band nobody named could be alpha or NIR: guessing would either lose the footprint or
    // feed the classifier an alpha channel, so it is refused until the uploader says.
    let unnamed: Vec<String> = found
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_none())
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    if !missing.is_empty() || !unnamed.is_empty() {
        let seen: Vec<String> = found
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}={}", i + 1, r.map_or("?", Role::code)))
            .collect();
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!("no {} band found", missing.join(", ")));
        }
        if !unnamed.is_empty() {
            problems.push(format!("band(s) {} have no role", unnamed.join(", ")));
        }
        return Err(RasterError::BandLayout(format!(
            "unsupported band layout ({count} bands: {}): {} from colour interpretation or band \
             descriptions; Vigil needs red, green and blue (plus optional nir, rededge, alpha) \
             — name the bands in the file or give them with --bands / \"bands\"",
            seen.join(", "),
            problems.join(" and ")
        )));
    }
    let sample = match first_type {
        Some(GdalDataType::UInt16) => SampleType::U16,
        _ => SampleType::U8,
    };
    // Footprint marking.
    let red_band = ds
        .rasterband(roles[0].1)
        .map_err(|e| RasterError::Corrupt(e.to_string()))?;
    let validity = if let Some((_, a)) = roles.iter().find(|(r, _)| *r == Role::Alpha) {
        Validity::Alpha(*a)
    } else if let Some(nd) = red_band.no_data_value() {
        Validity::NoData(nd)
    } else {
        match red_band.mask_flags() {
            Ok(f) if f.is_per_dataset() && !f.is_all_valid() && !f.is_alpha() && !f.is_nodata() => {
                Validity::MaskBand
            }
            _ => Validity::All,
        }
    };
    // Where it is: outline → lon/lat, GSD at the centre.
    let info = SourceInfo {
        path: path.to_path_buf(),
        driver: ds.driver().short_name(),
        width,
        height,
        sample,
        roles,
        validity,
        geotransform: gt,
        crs_wkt: wkt,
        crs_name,
        epsg,
        acquired_at: acquisition_time(&ds),
        gsd_m: 0.0,
        center: [0.0, 0.0],
        bbox: [0.0; 4],
        stretch: None,
    };
    let mut info = locate(info, &srs)?;
    check_readable(&ds, &info)?;
    if stretch && info.sample == SampleType::U16 {
        info.stretch = Some(stretch_u16(&ds, &info)?);
    }
    Ok(info)
}

/// Fills `center`, `bbox` and `gsd_m`.
fn locate(mut info: SourceInfo, srs: &SpatialRef) -> Result<SourceInfo, RasterError> {
    let wgs = crate::ingest::crs::wgs84();
    let to_wgs = CoordTransform::new(srs, &wgs).map_err(|e| {
        RasterError::UnknownCrs(format!(
            "no transformation from {} to WGS 84: {e}",
            info.crs_name
        ))
    })?;
    let (w, h) = (info.width as f64, info.height as f64);
    let steps = 16;
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        for (c, r) in [(t * w, 0.0), (t * w, h), (0.0, t * h), (w, t * h)] {
            let (x, y) = info.pixel_to_crs(c, r);
            xs.push(x);
            ys.push(y);
        }
    }
    // The centre and one pixel east / south of it, for the GSD.
    for (c, r) in [
        (w / 2.0, h / 2.0),
        (w / 2.0 + 1.0, h / 2.0),
        (w / 2.0, h / 2.0 + 1.0),
    ] {
        let (x, y) = info.pixel_to_crs(c, r);
        xs.push(x);
        ys.push(y);
    }
    to_wgs
        .transform_coords(&mut xs, &mut ys, &mut [])
        .map_err(|e| {
            RasterError::UnknownCrs(format!(
                "the image's corners cannot be placed on the globe from {}: {e}",
                info.crs_name
            ))
        })?;
    let n = xs.len();
    let outline = n - 3;
    let (mut west, mut south, mut east, mut north) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for i in 0..outline {
        west = west.min(xs[i]);
        east = east.max(xs[i]);
        south = south.min(ys[i]);
        north = north.max(ys[i]);
    }
    if !(west.is_finite() && east.is_finite() && south >= -90.0 && north <= 90.0)
        || east - west > 180.0
    {
        return Err(RasterError::NotGeoreferenced(format!(
            "the image's georeferencing puts it at an impossible place ({west:.4}, {south:.4}) – ({east:.4}, {north:.4})"
        )));
    }
    info.bbox = [west, south, east, north];
    info.center = [xs[n - 3], ys[n - 3]];
    let ground = |i: usize| haversine_m(xs[n - 3], ys[n - 3], xs[i], ys[i]);
    info.gsd_m = ground(n - 2).min(ground(n - 1));
    if !(info.gsd_m > 0.0005 && info.gsd_m < 10_000.0) {
        return Err(RasterError::NotGeoreferenced(format!(
            "the image's pixels come out {:.6} m wide on the ground; check its georeferencing",
            info.gsd_m
        )));
    }
    Ok(info)
}

fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let r = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// Reads the first and last rows of every used band: a truncated or corrupt file fails here,
/// before a job is queued, rather than half-way through tiling.
fn check_readable(ds: &Dataset, info: &SourceInfo) -> Result<(), RasterError> {
    let w = info.width;
    let mut buf = vec![0u16; w];
    for (role, b) in &info.roles {
        let band = ds
            .rasterband(*b)
            .map_err(|e| RasterError::Corrupt(format!("band {b}: {e}")))?;
        for row in [0, info.height - 1] {
            band.read_into_slice::<u16>((0, row as isize), (w, 1), (w, 1), &mut buf, None)
                .map_err(|e| {
                    RasterError::Corrupt(format!(
                        "the file is corrupt or truncated: reading row {row} of the {} band failed: {e}",
                        role.code()
                    ))
                })?;
        }
    }
    Ok(())
}

/// A 2–98 % stretch over red, green and blue together (keeps the colour balance), from a
/// decimated read (GDAL uses overviews when the file has them).
fn stretch_u16(ds: &Dataset, info: &SourceInfo) -> Result<(u16, u16), RasterError> {
    let scale = (info.width.max(info.height) as f64 / 512.0).max(1.0);
    let (bw, bh) = (
        ((info.width as f64 / scale) as usize).max(1),
        ((info.height as f64 / scale) as usize).max(1),
    );
    let mut hist = vec![0u64; 65_536];
    let mut buf = vec![0u16; bw * bh];
    for role in [Role::Red, Role::Green, Role::Blue] {
        let b = info.band(role).expect("checked");
        let band = ds
            .rasterband(b)
            .map_err(|e| RasterError::Corrupt(e.to_string()))?;
        band.read_into_slice::<u16>((0, 0), (info.width, info.height), (bw, bh), &mut buf, None)
            .map_err(|e| RasterError::Corrupt(format!("reading the {} band: {e}", role.code())))?;
        for &v in &buf {
            hist[v as usize] += 1;
        }
    }
    // Zero is usually fill outside the footprint: leave it out.
    hist[0] = 0;
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return Ok((0, 65_535));
    }
    let pick = |q: f64| {
        let target = (total as f64 * q) as u64;
        let mut acc = 0;
        for (v, c) in hist.iter().enumerate() {
            acc += c;
            if acc > target {
                return v as u16;
            }
        }
        65_535
    };
    let (lo, hi) = (pick(0.02), pick(0.98));
    Ok(if hi > lo {
        (lo, hi)
    } else {
        (lo, lo.saturating_add(1))
    })
}

/// `TIFFTAG_DATETIME` ("2026:03:14 09:30:00") or `ACQUISITIONDATETIME` as RFC 3339 UTC.
fn acquisition_time(ds: &Dataset) -> Option<String> {
    let raw = ds
        .metadata_item("ACQUISITIONDATETIME", "IMAGERY")
        .or_else(|| ds.metadata_item("TIFFTAG_DATETIME", ""))?;
    parse_exif_time(&raw)
}

/// Parses the EXIF/TIFF date form or RFC 3339 into RFC 3339 with millisecond precision.
pub fn parse_exif_time(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let fixed = if raw.len() >= 19 && raw.as_bytes()[4] == b':' && raw.as_bytes()[7] == b':' {
        format!(
            "{}-{}-{}T{}Z",
            &raw[0..4],
            &raw[5..7],
            &raw[8..10],
            &raw[11..19]
        )
    } else {
        raw.to_string()
    };
    let t =
        time::OffsetDateTime::parse(&fixed, &time::format_description::well_known::Rfc3339).ok()?;
    Some(crate::time_util::rfc3339(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_from_common_tools() {
        for (name, role) in [
            ("Red", Role::Red),
            ("NIR", Role::Nir),
            ("Near Infrared", Role::Nir),
            ("RedEdge", Role::RedEdge),
            ("red edge", Role::RedEdge),
            ("Alpha", Role::Alpha),
            ("b", Role::Blue),
        ] {
            assert_eq!(Role::from_name(name), Some(role), "{name}");
        }
        assert_eq!(Role::from_name("thermal"), None);
    }

    #[test]
    fn exif_dates_become_rfc3339() {
        assert_eq!(
            parse_exif_time("2026:03:14 09:30:00").as_deref(),
            Some("2026-03-14T09:30:00.000Z")
        );
        assert_eq!(parse_exif_time("yesterday"), None);
    }
}
