//! `vigil sample-imagery` writes georeferenced scenes that GDAL reads back as asked (size, bands,
//! band roles, CRS, corners), whose ground truth lands where the pixels are: in UTM 48N and in
//! VN-2000 / UTM 48N (EPSG:3405) alike.

use std::path::Path;
use std::process::Command;

use gdal::Dataset;
use gdal::Metadata;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use serde_json::Value;

fn vigil(args: &[&str]) -> std::process::Output {
    eprintln!("vigil {args:?}");
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("VIGIL_LOG", "warn")
        .output()
        .expect("run vigil")
}

fn vigil_ok(args: &[&str]) {
    let out = vigil(args);
    assert!(
        out.status.success(),
        "vigil {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have_gdalinfo() -> bool {
    let ok = Command::new("gdalinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("VIGIL_SKIP_EXTERNAL").as_deref() == Ok("1"),
            "gdalinfo (gdal-bin) is missing: run `make test`, which installs it"
        );
        eprintln!("skipped: gdalinfo missing and VIGIL_SKIP_EXTERNAL=1");
    }
    ok
}

fn gdalinfo(path: &Path) -> Value {
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        .output()
        .expect("gdalinfo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("gdalinfo -json")
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// gdalinfo's corner coordinates agree with the geotransform and the size; returns the geotransform.
fn check_corners(info: &Value, size: usize, gsd: f64) -> [f64; 6] {
    let gt: Vec<f64> = info["geoTransform"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    assert_eq!((gt[1], gt[2], gt[4], gt[5]), (gsd, 0.0, 0.0, -gsd));
    let c = &info["cornerCoordinates"];
    let n = size as f64;
    let expect = [
        ("upperLeft", gt[0], gt[3]),
        ("lowerRight", gt[0] + n * gt[1], gt[3] + n * gt[5]),
        ("upperRight", gt[0] + n * gt[1], gt[3]),
        ("lowerLeft", gt[0], gt[3] + n * gt[5]),
        ("center", gt[0] + n / 2.0 * gt[1], gt[3] + n / 2.0 * gt[5]),
    ];
    for (k, x, y) in expect {
        assert!(
            (f(&c[k][0]) - x).abs() < 1e-3 && (f(&c[k][1]) - y).abs() < 1e-3,
            "{k}: {} vs {x},{y}",
            c[k]
        );
    }
    [gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]]
}

/// The lon/lat bbox of gdalinfo's `wgs84Extent`.
fn wgs84_bbox(info: &Value) -> [f64; 4] {
    let ring = info["wgs84Extent"]["coordinates"][0].as_array().unwrap();
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for p in ring {
        b[0] = b[0].min(f(&p[0]));
        b[1] = b[1].min(f(&p[1]));
        b[2] = b[2].max(f(&p[0]));
        b[3] = b[3].max(f(&p[1]));
    }
    b
}

/// Every truth polygon is closed, counter-clockwise and inside `bbox`; returns the classes seen.
fn check_truth(truth: &Value, bbox: [f64; 4]) -> Vec<String> {
    let mut classes = Vec::new();
    for feat in truth["features"].as_array().unwrap() {
        let p = &feat["properties"];
        let class = p["class"].as_str().unwrap().to_string();
        assert!(f(&p["area_m2"]) > 0.0);
        assert!(p["plot_id"].as_u64().unwrap() >= 1);
        assert_eq!(class == "poppy", p.get("stage").is_some(), "{p}");
        if class == "poppy" {
            assert!(["flowering", "pre_flowering"].contains(&p["stage"].as_str().unwrap()));
        }
        let ring = feat["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.first(), ring.last());
        let mut twice_area = 0.0;
        for w in ring.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            twice_area += f(&a[0]) * f(&b[1]) - f(&b[0]) * f(&a[1]);
            assert!(
                (bbox[0]..=bbox[2]).contains(&f(&a[0])) && (bbox[1]..=bbox[3]).contains(&f(&a[1])),
                "{class} vertex {a} outside {bbox:?}"
            );
        }
        assert!(
            twice_area > 0.0,
            "{class}: exterior ring must be counter-clockwise"
        );
        let name = match p.get("stage") {
            Some(s) => format!("poppy_{}", s.as_str().unwrap()),
            None => class,
        };
        classes.push(name);
    }
    classes.sort();
    classes.dedup();
    classes
}

#[test]
fn rgba_utm_scene_opens_with_gdal_where_asked() {
    if !have_gdalinfo() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    vigil_ok(&[
        "sample-imagery",
        "--out",
        out,
        "--seed",
        "3",
        "--size",
        "512",
        "--gsd",
        "0.08",
        "--layout",
        "rgba",
        "--crs",
        "EPSG:32648",
        "--name",
        "a",
    ]);
    let tif = dir.path().join("a.tif");
    let info = gdalinfo(&tif);
    assert_eq!(info["size"], serde_json::json!([512, 512]));
    let bands = info["bands"].as_array().unwrap();
    let interp: Vec<&str> = bands
        .iter()
        .map(|b| b["colorInterpretation"].as_str().unwrap())
        .collect();
    assert_eq!(interp, ["Red", "Green", "Blue", "Alpha"]);
    assert!(
        bands
            .iter()
            .all(|b| b["type"] == "Byte" && b["block"] == serde_json::json!([256, 256]))
    );
    assert_eq!(
        info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"],
        "DEFLATE"
    );
    check_corners(&info, 512, 0.08);
    let bbox = wgs84_bbox(&info);
    let (clon, clat) = ((bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0);
    assert!(
        (clon - 105.3).abs() < 1e-5 && (clat - 23.1).abs() < 1e-5,
        "{clon},{clat}"
    );

    let ds = Dataset::open(&tif).unwrap();
    assert_eq!(ds.spatial_ref().unwrap().auth_code().unwrap(), 32648);
    // Alpha is the footprint: nodata at the raster's corners, data at its centre.
    let alpha = ds
        .rasterband(4)
        .unwrap()
        .read_as::<u8>((0, 0), (512, 512), (512, 512), None)
        .unwrap();
    let a = alpha.data();
    assert_eq!((a[0], a[511], a[512 * 511], a[512 * 512 - 1]), (0, 0, 0, 0));
    assert_eq!(a[256 * 512 + 256], 255);

    let truth = read_json(&dir.path().join("a.truth.geojson"));
    let classes = check_truth(&truth, bbox);
    let all: Vec<String> = vigil::sample::Class::ALL
        .iter()
        .map(|c| c.code().to_string())
        .collect();
    let mut all_sorted = all.clone();
    all_sorted.sort();
    assert_eq!(classes, all_sorted);
}

/// Mean of each band over the pixels whose centres lie in each truth polygon, by class code.
fn class_means_from_files(
    tif: &Path,
    truth: &Value,
) -> std::collections::BTreeMap<String, [f64; 4]> {
    let ds = Dataset::open(tif).unwrap();
    let (w, h) = ds.raster_size();
    let gt = ds.geo_transform().unwrap();
    let bands: Vec<Vec<u16>> = (1..=4)
        .map(|i| {
            ds.rasterband(i)
                .unwrap()
                .read_as::<u16>((0, 0), (w, h), (w, h), None)
                .unwrap()
                .data()
                .to_vec()
        })
        .collect();
    let mut wgs84 = SpatialRef::from_epsg(4326).unwrap();
    wgs84.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut srs = ds.spatial_ref().unwrap();
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let to_map = CoordTransform::new(&wgs84, &srs).unwrap();
    let mut sums: std::collections::BTreeMap<String, ([f64; 4], f64)> = Default::default();
    for feat in truth["features"].as_array().unwrap() {
        let p = &feat["properties"];
        let name = match p.get("stage") {
            Some(s) => format!("poppy_{}", s.as_str().unwrap()),
            None => p["class"].as_str().unwrap().to_string(),
        };
        let ring = feat["geometry"]["coordinates"][0].as_array().unwrap();
        let mut xs: Vec<f64> = ring.iter().map(|q| f(&q[0])).collect();
        let mut ys: Vec<f64> = ring.iter().map(|q| f(&q[1])).collect();
        to_map.transform_coords(&mut xs, &mut ys, &mut []).unwrap();
        let px: Vec<(f64, f64)> = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| ((x - gt[0]) / gt[1], (y - gt[3]) / gt[5]))
            .collect();
        let (x0, x1) = px
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
        let (y0, y1) = px
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
        assert!(
            x0 >= 0.0 && y0 >= 0.0 && x1 <= w as f64 && y1 <= h as f64,
            "{name} outside the raster"
        );
        let e = sums.entry(name).or_insert(([0.0; 4], 0.0));
        for row in y0.floor() as usize..(y1.ceil() as usize).min(h) {
            for col in x0.floor() as usize..(x1.ceil() as usize).min(w) {
                if vigil::sample::point_in_ring(&px, col as f64 + 0.5, row as f64 + 0.5) {
                    let i = row * w + col;
                    assert!(bands[3][i] > 0, "truth pixel outside the footprint");
                    for (sum, band) in e.0.iter_mut().zip(&bands) {
                        *sum += band[i] as f64;
                    }
                    e.1 += 1.0;
                }
            }
        }
    }
    sums.into_iter()
        .map(|(k, (s, n))| (k, s.map(|v| v / n)))
        .collect()
}

#[test]
fn rgbn_vn2000_scene_lands_on_the_same_ground_as_utm() {
    if !have_gdalinfo() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let common = [
        "--seed",
        "8",
        "--size",
        "400",
        "--gsd",
        "0.1",
        "--center",
        "105.05,22.35",
    ];
    let mut vn = vec![
        "sample-imagery",
        "--out",
        out,
        "--layout",
        "rgbn",
        "--sixteen-bit",
        "--crs",
        "EPSG:3405",
        "--name",
        "vn",
    ];
    vn.extend(common);
    vigil_ok(&vn);
    let mut utm = vec![
        "sample-imagery",
        "--out",
        out,
        "--layout",
        "rgbn",
        "--crs",
        "EPSG:32648",
        "--name",
        "utm",
    ];
    utm.extend(common);
    vigil_ok(&utm);

    let vn_tif = dir.path().join("vn.tif");
    let info = gdalinfo(&vn_tif);
    let bands = info["bands"].as_array().unwrap();
    let descs: Vec<&str> = bands
        .iter()
        .map(|b| b["description"].as_str().unwrap())
        .collect();
    assert_eq!(descs, ["red", "green", "blue", "nir"]);
    assert!(
        bands
            .iter()
            .all(|b| b["type"] == "UInt16" && b["noDataValue"] == 0.0)
    );
    let gt_vn = check_corners(&info, 400, 0.1);
    let ds = Dataset::open(&vn_tif).unwrap();
    assert_eq!(ds.spatial_ref().unwrap().auth_code().unwrap(), 3405);
    assert_eq!(ds.rasterband(4).unwrap().description().unwrap(), "nir");

    let utm_info = gdalinfo(&dir.path().join("utm.tif"));
    let gt_utm = check_corners(&utm_info, 400, 0.1);
    // Different datums: the same ground sits at different projected coordinates…
    assert!((gt_vn[0] - gt_utm[0]).hypot(gt_vn[3] - gt_utm[3]) > 10.0);
    // …but both reproject to the requested lon/lat.
    let (b_vn, b_utm) = (wgs84_bbox(&info), wgs84_bbox(&utm_info));
    for k in 0..4 {
        assert!((b_vn[k] - b_utm[k]).abs() < 2e-6, "{b_vn:?} vs {b_utm:?}");
    }
    let (clon, clat) = ((b_vn[0] + b_vn[2]) / 2.0, (b_vn[1] + b_vn[3]) / 2.0);
    assert!(
        (clon - 105.05).abs() < 1e-5 && (clat - 22.35).abs() < 1e-5,
        "{clon},{clat}"
    );

    // The truth, reprojected back onto the VN-2000 pixels, finds the domain's spectra.
    let truth = read_json(&dir.path().join("vn.truth.geojson"));
    check_truth(&truth, b_vn);
    let m = class_means_from_files(&vn_tif, &truth);
    assert!(m["poppy_flowering"][2] > m["cannabis"][2], "{m:?}");
    assert!(m["cannabis"][3] > m["cabbage"][3], "{m:?}");
    assert!(
        m["cannabis"][3] > m["road"][3] && m["cannabis"][3] > m["roof"][3],
        "{m:?}"
    );
}

#[test]
fn bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (args, needle) in [
        (vec!["--layout", "rgb"], "rgba or rgbn"),
        (vec!["--crs", "EPSG:999999"], "EPSG:999999"),
        (vec!["--center", "105.3"], "LON,LAT"),
        (vec!["--size", "64"], "width 64"),
        (vec!["--classes", "poppy,opium"], "unknown class"),
    ] {
        let mut a = vec!["sample-imagery", "--out", out];
        a.extend(args);
        let o = vigil(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(needle), "{a:?}: {err}");
    }
}
