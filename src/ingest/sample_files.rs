//! Writes a generated sample scene (`crate::sample`) as files: a georeferenced GeoTIFF centred on a
//! lon/lat in any CRS GDAL knows (UTM, VN-2000, …) and its ground truth as GeoJSON in EPSG:4326.
//! This is what `vigil sample-imagery` runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use gdal::spatial_ref::CoordTransform;
use serde_json::{Value, json};

use super::crs::{CrsError, ToWgs84, spatial_ref, wgs84};
use super::raster_write::{BandRole, GeoRaster, RasterWriteError, write_geotiff};
use crate::hotspots::import::PointTransform;
use crate::sample::{self, SampleError, Scene, SceneSpec};

/// Band layout of the written GeoTIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandLayout {
    /// Red, green, blue and alpha (the footprint), like a WebODM orthomosaic.
    Rgba,
    /// Red, green, blue and near-infrared, nodata 0 outside the footprint.
    Rgbn,
}

impl fmt::Display for BandLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BandLayout::Rgba => "rgba",
            BandLayout::Rgbn => "rgbn",
        })
    }
}

impl FromStr for BandLayout {
    type Err = String;

    fn from_str(s: &str) -> Result<BandLayout, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rgba" => Ok(BandLayout::Rgba),
            "rgbn" => Ok(BandLayout::Rgbn),
            other => Err(format!("unknown band layout {other:?}; rgba or rgbn")),
        }
    }
}

/// A WGS 84 position given as `LON,LAT`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

impl FromStr for LonLat {
    type Err = String;

    fn from_str(s: &str) -> Result<LonLat, String> {
        let bad = || format!("{s:?} is not LON,LAT in degrees (e.g. 105.3,23.1)");
        let (a, b) = s.split_once(',').ok_or_else(bad)?;
        let lon: f64 = a.trim().parse().map_err(|_| bad())?;
        let lat: f64 = b.trim().parse().map_err(|_| bad())?;
        if !(-180.0..=180.0).contains(&lon) || !(-85.0..=85.0).contains(&lat) {
            return Err(format!(
                "{s:?}: longitude must be within ±180 and latitude within ±85"
            ));
        }
        Ok(LonLat { lon, lat })
    }
}

/// A mountain commune area on the Tuyên Quang / Hà Giang border, where poppy is grown.
pub const DEFAULT_CENTER: LonLat = LonLat {
    lon: 105.3,
    lat: 23.1,
};

/// What to write.
#[derive(Debug, Clone)]
pub struct SampleRequest {
    pub out_dir: PathBuf,
    /// File stem; default `sample-<seed>-<layout>-<crs>`.
    pub name: Option<String>,
    pub spec: SceneSpec,
    pub layout: BandLayout,
    /// 16-bit reflectance × 10 000 instead of 8-bit display values.
    pub sixteen_bit: bool,
    pub crs: String,
    pub center: LonLat,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct SampleWritten {
    pub tif: PathBuf,
    pub truth: PathBuf,
    pub geotransform: [f64; 6],
    pub plots: usize,
}

/// Why a sample could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SampleFilesError {
    #[error("{0}")]
    Sample(#[from] SampleError),
    #[error("{0}")]
    Crs(#[from] CrsError),
    #[error("cannot place {lon},{lat} in {crs}: {message}")]
    Project {
        lon: f64,
        lat: f64,
        crs: String,
        message: String,
    },
    #[error("{0}")]
    Write(#[from] RasterWriteError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid name {0:?}: use letters, digits, '-', '_' and '.'")]
    Name(String),
}

/// Generates the scene and writes `<out_dir>/<name>.tif` and `<out_dir>/<name>.truth.geojson`.
pub fn write_sample(req: &SampleRequest) -> Result<SampleWritten, SampleFilesError> {
    let name = match &req.name {
        Some(n) => n.clone(),
        None => default_name(req),
    };
    let name_ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        return Err(SampleFilesError::Name(name));
    }
    let scene = sample::generate(&req.spec)?;
    let geotransform = geotransform(req)?;
    let io_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| SampleFilesError::Io { path, source }
    };
    std::fs::create_dir_all(&req.out_dir).map_err(io_err(&req.out_dir))?;
    let tif = req.out_dir.join(format!("{name}.tif"));
    let truth = req.out_dir.join(format!("{name}.truth.geojson"));
    write_raster(&tif, &scene, req, geotransform)?;
    let doc = truth_geojson(&scene, req, geotransform)?;
    let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| SampleFilesError::Io {
        path: truth.display().to_string(),
        source: e.into(),
    })?;
    std::fs::write(&truth, bytes).map_err(io_err(&truth))?;
    Ok(SampleWritten {
        tif,
        truth,
        geotransform,
        plots: scene.plots.len(),
    })
}

fn default_name(req: &SampleRequest) -> String {
    let crs: String = if req.crs.contains('+') || req.crs.len() > 24 {
        "custom".into()
    } else {
        req.crs
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    format!("sample-{}-{}-{crs}", req.spec.seed, req.layout)
}

/// North-up geotransform with the scene's centre on `req.center`.
fn geotransform(req: &SampleRequest) -> Result<[f64; 6], SampleFilesError> {
    let target = spatial_ref(&req.crs)?;
    let project_err = |message: String| SampleFilesError::Project {
        lon: req.center.lon,
        lat: req.center.lat,
        crs: req.crs.clone(),
        message,
    };
    let t = CoordTransform::new(&wgs84(), &target).map_err(|e| project_err(e.to_string()))?;
    let (mut xs, mut ys) = ([req.center.lon], [req.center.lat]);
    t.transform_coords(&mut xs, &mut ys, &mut [])
        .map_err(|e| project_err(e.to_string()))?;
    let (cx, cy) = (xs[0], ys[0]);
    if !(cx.is_finite() && cy.is_finite()) {
        return Err(project_err(
            "the transformation gave no finite position".into(),
        ));
    }
    let gsd = req.spec.gsd;
    // A geographic CRS takes degrees: convert the ground resolution at the centre's latitude.
    let (rx, ry) = if target.is_geographic() {
        (
            gsd / (111_320.0 * req.center.lat.to_radians().cos()),
            gsd / 110_574.0,
        )
    } else {
        (gsd, gsd)
    };
    let (w, h) = (req.spec.width as f64, req.spec.height as f64);
    Ok([cx - w / 2.0 * rx, rx, 0.0, cy + h / 2.0 * ry, 0.0, -ry])
}

fn write_raster(
    path: &Path,
    scene: &Scene,
    req: &SampleRequest,
    geotransform: [f64; 6],
) -> Result<(), SampleFilesError> {
    let (w, h) = (scene.width(), scene.height());
    let fourth = match req.layout {
        BandLayout::Rgba => BandRole::Alpha,
        BandLayout::Rgbn => BandRole::Nir,
    };
    let roles = [BandRole::Red, BandRole::Green, BandRole::Blue, fourth];
    let nodata = (req.layout == BandLayout::Rgbn).then_some(0.0);
    if req.sixteen_bit {
        let alpha: Vec<u16> = scene.alpha.iter().map(|&a| u16::from(a) * 257).collect();
        let bands: Vec<(BandRole, &[u16])> = roles
            .iter()
            .enumerate()
            .map(|(b, &role)| {
                let data: &[u16] = if role == BandRole::Alpha {
                    &alpha
                } else {
                    &scene.reflectance[b]
                };
                (role, data)
            })
            .collect();
        write_geotiff(
            path,
            &GeoRaster {
                width: w,
                height: h,
                crs: &req.crs,
                geotransform,
                bands,
                nodata,
            },
        )?;
    } else {
        let eight: Vec<Vec<u8>> = roles
            .iter()
            .enumerate()
            .map(|(b, &role)| {
                if role == BandRole::Alpha {
                    scene.alpha.clone()
                } else {
                    scene.band_u8(b)
                }
            })
            .collect();
        let bands = roles
            .iter()
            .zip(&eight)
            .map(|(&r, d)| (r, d.as_slice()))
            .collect();
        write_geotiff(
            path,
            &GeoRaster {
                width: w,
                height: h,
                crs: &req.crs,
                geotransform,
                bands,
                nodata,
            },
        )?;
    }
    Ok(())
}

/// The plots as a GeoJSON FeatureCollection in lon/lat (RFC 7946: exterior rings counter-clockwise),
/// with the scene's parameters as a foreign member `vigil_sample`.
fn truth_geojson(
    scene: &Scene,
    req: &SampleRequest,
    gt: [f64; 6],
) -> Result<Value, SampleFilesError> {
    let to_wgs84 = ToWgs84::new(&req.crs)?;
    let mut features = Vec::with_capacity(scene.plots.len());
    for p in &scene.plots {
        let mut pts: Vec<(f64, f64)> = p
            .ring
            .iter()
            .map(|&(x, y)| (gt[0] + x * gt[1] + y * gt[2], gt[3] + x * gt[4] + y * gt[5]))
            .collect();
        to_wgs84
            .to_wgs84(&mut pts)
            .map_err(|message| SampleFilesError::Project {
                lon: req.center.lon,
                lat: req.center.lat,
                crs: req.crs.clone(),
                message,
            })?;
        // RFC 7946: exterior rings counter-clockwise in lon/lat.
        if signed_area(&pts) < 0.0 {
            pts.reverse();
        }
        if let Some(&first) = pts.first() {
            pts.push(first);
        }
        let ring: Vec<[f64; 2]> = pts
            .iter()
            .map(|&(lon, lat)| [round(lon, 1e8), round(lat, 1e8)])
            .collect();
        let mut props = serde_json::Map::new();
        props.insert("plot_id".into(), json!(p.id));
        props.insert("class".into(), json!(p.class.truth_class()));
        if let Some(stage) = p.class.stage() {
            props.insert("stage".into(), json!(stage));
        }
        props.insert("area_m2".into(), json!(round(p.area_m2, 100.0)));
        if p.interplanted {
            props.insert("interplanted_with".into(), json!("cabbage"));
        }
        features.push(json!({
            "type": "Feature",
            "id": p.id,
            "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }));
    }
    let c = &scene.conditions;
    Ok(json!({
        "type": "FeatureCollection",
        "vigil_sample": {
            "seed": scene.spec.seed,
            "width": scene.width(),
            "height": scene.height(),
            "gsd_m": scene.spec.gsd,
            "crs": req.crs,
            "layout": req.layout.to_string(),
            "bits": if req.sixteen_bit { 16 } else { 8 },
            "center": [req.center.lon, req.center.lat],
            "condition": scene.spec.condition.map_or("normal", |c| c.name()),
            "conditions": {
                "light": round(c.light as f64, 1000.0),
                "haze": round(c.haze as f64, 1000.0),
                "white_balance": c.white_balance.map(|v| round(v as f64, 1000.0)),
                "shadow_azimuth_deg": round(c.shadow_azimuth_deg as f64, 10.0),
                "shadow_length_m": round(c.shadow_length_m as f64, 100.0),
            },
        },
        "features": features,
    }))
}

fn signed_area(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        / 2.0
}

fn round(v: f64, k: f64) -> f64 {
    (v * k).round() / k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_or_say_what_is_wrong() {
        assert_eq!(
            "105.3, 23.1".parse::<LonLat>().unwrap(),
            LonLat {
                lon: 105.3,
                lat: 23.1
            }
        );
        assert!("105.3".parse::<LonLat>().unwrap_err().contains("LON,LAT"));
        assert!("200,10".parse::<LonLat>().unwrap_err().contains("±180"));
        assert_eq!("RGBN".parse::<BandLayout>(), Ok(BandLayout::Rgbn));
        assert!(
            "rgb"
                .parse::<BandLayout>()
                .unwrap_err()
                .contains("rgba or rgbn")
        );
    }

    fn request(dir: &Path, crs: &str, layout: BandLayout) -> SampleRequest {
        SampleRequest {
            out_dir: dir.to_path_buf(),
            name: None,
            spec: SceneSpec {
                width: 320,
                height: 256,
                gsd: 0.1,
                ..SceneSpec::new(9)
            },
            layout,
            sixteen_bit: false,
            crs: crs.into(),
            center: DEFAULT_CENTER,
        }
    }

    #[test]
    fn utm_and_vn2000_scenes_cover_the_same_ground() {
        let dir = tempfile::tempdir().unwrap();
        let utm = write_sample(&request(dir.path(), "EPSG:32648", BandLayout::Rgba)).unwrap();
        let vn = write_sample(&request(dir.path(), "EPSG:3405", BandLayout::Rgbn)).unwrap();
        assert!(utm.tif.ends_with("sample-9-rgba-epsg32648.tif"));
        assert!(vn.truth.ends_with("sample-9-rgbn-epsg3405.truth.geojson"));
        // VN-2000's datum puts the same ground at different projected coordinates…
        let shift = (utm.geotransform[0] - vn.geotransform[0])
            .hypot(utm.geotransform[3] - vn.geotransform[3]);
        assert!(shift > 10.0, "{shift}");
        // …and both truths (same seed, same plots) land on the same lon/lat to within centimetres.
        let read =
            |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
        let (a, b) = (read(&utm.truth), read(&vn.truth));
        let (fa, fb) = (
            a["features"].as_array().unwrap(),
            b["features"].as_array().unwrap(),
        );
        assert_eq!(fa.len(), fb.len());
        for (x, y) in fa.iter().zip(fb) {
            let (ra, rb) = (
                &x["geometry"]["coordinates"][0],
                &y["geometry"]["coordinates"][0],
            );
            for (p, q) in ra.as_array().unwrap().iter().zip(rb.as_array().unwrap()) {
                let dlon = (p[0].as_f64().unwrap() - q[0].as_f64().unwrap()).abs();
                let dlat = (p[1].as_f64().unwrap() - q[1].as_f64().unwrap()).abs();
                assert!(dlon < 1e-6 && dlat < 1e-6, "{p} vs {q}");
                assert!((p[0].as_f64().unwrap() - 105.3).abs() < 0.001);
                assert!((p[1].as_f64().unwrap() - 23.1).abs() < 0.001);
            }
        }
    }

    #[test]
    fn bad_names_and_crs_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = request(dir.path(), "EPSG:32648", BandLayout::Rgba);
        req.name = Some("../escape".into());
        assert!(matches!(write_sample(&req), Err(SampleFilesError::Name(_))));
        req.name = None;
        req.crs = "EPSG:999999".into();
        assert!(
            write_sample(&req)
                .unwrap_err()
                .to_string()
                .contains("EPSG:999999")
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
