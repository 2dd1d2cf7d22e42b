//! Field exports read back by GDAL, the way a GIS or a phone app would read them: GPX
//! (`waypoints`, `tracks`), KML and GeoJSON through `ogrinfo`/`ogr2ogr`, MBTiles through
//! `gdalinfo`/`gdallocationinfo`. Names, Vietnamese descriptions with characters that need XML
//! escaping, and coordinates (within 1e-7°) must survive; empty selections must still open.
//! GDAL's tools come from Debian's `gdal-bin`; a missing tool fails the test (see `common`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use geo::{LineString, MultiPolygon, polygon};
use serde_json::{Value, json};
use vigil::config::TileFormat;
use vigil::export::mbtiles::{self, LayerType, MbtilesMeta};
use vigil::export::{self, ExportFlag, describe, geojson, gpx, kml};
use vigil::grid::Tile;

const TOL: f64 = 1e-7;

/// Flags with a holed polygon, a two-part multipolygon, escaping-hungry names, and one whose
/// waypoint is NaN (left out of every format).
fn flags() -> Vec<ExportFlag> {
    let holed = polygon![
        exterior: [(x: 105.316_012_345_6, y: 23.363_1), (x: 105.317_2, y: 23.363_05), (x: 105.317_1, y: 23.364_3), (x: 105.315_9, y: 23.364_2)],
        interiors: [[(x: 105.3163, y: 23.3634), (x: 105.3166, y: 23.3634), (x: 105.3165, y: 23.3637)]],
    ];
    let part_a = polygon![(x: 105.20, y: 23.25), (x: 105.201, y: 23.25), (x: 105.201, y: 23.251)];
    let part_b = polygon![(x: 105.205, y: 23.255), (x: 105.2062, y: 23.255), (x: 105.2062, y: 23.2561), (x: 105.205, y: 23.2561)];
    let base = ExportFlag {
        id: 101,
        class: "poppy".into(),
        status: "new".into(),
        confidence: 0.91,
        area_m2: 15_321.7,
        point: [105.3165, 23.3637],
        outline: MultiPolygon::new(vec![holed]),
        survey_id: "srv-2025-01".into(),
        acquired_at: Some("2025-01-15T09:30:00+07:00".into()),
        commune_name: Some("Xã Lũng Cú".into()),
        province_name: Some("Hà Giang".into()),
        replanting_of: None,
    };
    vec![
        base.clone(),
        ExportFlag {
            id: 102,
            class: "cannabis".into(),
            status: "needs_field_check".into(),
            confidence: 0.64,
            area_m2: 180.0,
            point: [105.2005, 23.2504],
            outline: MultiPolygon::new(vec![part_a, part_b]),
            commune_name: Some("Xã \"Sủng Là\" & <Sà Phìn>".into()),
            province_name: Some("Hà Giang 'cũ'".into()),
            replanting_of: Some(7),
            acquired_at: None,
            ..base.clone()
        },
        ExportFlag {
            id: 103,
            status: "eradicated".into(),
            point: [104.9, 22.8],
            outline: MultiPolygon::new(vec![]),
            commune_name: None,
            province_name: None,
            ..base.clone()
        },
        ExportFlag {
            id: 104,
            point: [f64::NAN, 23.0],
            ..base
        },
    ]
}

/// The flags every format should contain (104 has no usable waypoint).
fn written() -> Vec<ExportFlag> {
    flags().into_iter().filter(|f| f.id != 104).collect()
}

fn gdal_present(tool: &str) -> bool {
    !common::external_tool_missing(
        common::runs(tool, &["--version"]),
        &format!("GDAL `{tool}` (Debian package gdal-bin)"),
    )
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian package gdal-bin): {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// GDAL options that make the KML files open with the plain `KML` driver rather than `LIBKML`
/// (GDAL prefers LIBKML when it is built in; GIS users may have either).
const PLAIN_KML: [&str; 3] = ["--config", "GDAL_SKIP", "LIBKML"];

/// `ogrinfo -ro -al -so`: per layer, its name, feature count and geometry type.
fn layers(path: &Path) -> Vec<(String, u64, String)> {
    layers_with(&[], path)
}

fn layers_with(options: &[&str], path: &Path) -> Vec<(String, u64, String)> {
    let args: Vec<&str> = options
        .iter()
        .copied()
        .chain(["-ro", "-al", "-so", s(path)])
        .collect();
    let text = run("ogrinfo", &args);
    let mut out = Vec::new();
    for block in text.split("\nLayer name: ").skip(1) {
        let name = block.lines().next().unwrap_or("").trim().to_owned();
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let count = field("Feature Count:").parse().unwrap_or(u64::MAX);
        out.push((name, count, field("Geometry:")));
    }
    out
}

/// One layer as GDAL reads it, converted to GeoJSON by `ogr2ogr`.
fn read_layer(path: &Path, layer: &str) -> Vec<Value> {
    read_layer_with(&[], path, layer)
}

fn read_layer_with(options: &[&str], path: &Path, layer: &str) -> Vec<Value> {
    let args: Vec<&str> = options
        .iter()
        .copied()
        .chain(["-f", "GeoJSON", "/vsistdout/", s(path), layer])
        .collect();
    let text = run("ogr2ogr", &args);
    let v: Value = serde_json::from_str(&text).expect("ogr2ogr GeoJSON");
    v["features"].as_array().expect("features").clone()
}

fn xy(v: &Value) -> [f64; 2] {
    [v[0].as_f64().unwrap(), v[1].as_f64().unwrap()]
}

fn close(a: [f64; 2], b: [f64; 2]) -> bool {
    (a[0] - b[0]).abs() <= TOL && (a[1] - b[1]).abs() <= TOL
}

/// A ring's distinct points, sorted: the same ring whatever its start and direction.
fn ring_key(points: impl IntoIterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
    let mut v: Vec<[f64; 2]> = points.into_iter().collect();
    if v.len() > 1 && close(v[0], v[v.len() - 1]) {
        v.pop();
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

fn same_rings(a: &[Vec<[f64; 2]>], b: &[Vec<[f64; 2]>]) -> bool {
    a.len() == b.len()
        && a.iter().all(|ra| {
            b.iter()
                .any(|rb| ra.len() == rb.len() && ra.iter().zip(rb).all(|(p, q)| close(*p, *q)))
        })
}

/// Every ring of a flag's outline.
fn flag_rings(f: &ExportFlag) -> Vec<Vec<[f64; 2]>> {
    let key = |r: &LineString<f64>| ring_key(r.0.iter().map(|c| [c.x, c.y]));
    f.outline
        .0
        .iter()
        .flat_map(|p| std::iter::once(key(p.exterior())).chain(p.interiors().iter().map(key)))
        .collect()
}

/// The rings of a GeoJSON Polygon/MultiPolygon/MultiLineString geometry.
fn geometry_rings(g: &Value) -> Vec<Vec<[f64; 2]>> {
    let c = &g["coordinates"];
    let lines: Vec<&Value> = match g["type"].as_str() {
        Some("Polygon") | Some("MultiLineString") => c.as_array().unwrap().iter().collect(),
        Some("MultiPolygon") => c
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p.as_array().unwrap())
            .collect(),
        other => panic!("unexpected geometry {other:?}"),
    };
    lines
        .into_iter()
        .map(|l| ring_key(l.as_array().unwrap().iter().map(xy)))
        .collect()
}

fn by_name<'a>(features: &'a [Value], key: &str, name: &str) -> &'a Value {
    features
        .iter()
        .find(|f| f["properties"][key] == name)
        .unwrap_or_else(|| panic!("no feature with {key} = {name}"))
}

#[test]
fn gpx_reads_back_as_waypoints_and_closed_tracks() {
    if !gdal_present("ogrinfo") || !gdal_present("ogr2ogr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.gpx");
    std::fs::write(&path, gpx::write(&flags(), "Lũng Cú & <Sủng Là>")).unwrap();

    let l = layers(&path);
    let layer = |n: &str| {
        l.iter()
            .find(|(name, ..)| name == n)
            .unwrap_or_else(|| panic!("{n} in {l:?}"))
    };
    assert_eq!(layer("waypoints").1, 3);
    assert_eq!(layer("waypoints").2, "Point");
    assert_eq!(layer("tracks").1, 2, "one track per flag with an outline");
    assert_eq!(layer("tracks").2, "Multi Line String");

    let wpts = read_layer(&path, "waypoints");
    for f in written() {
        let w = by_name(&wpts, "name", &format!("V{}", f.id));
        assert_eq!(w["properties"]["desc"], describe(&f), "V{}", f.id);
        assert!(
            close(xy(&w["geometry"]["coordinates"]), f.point),
            "V{}",
            f.id
        );
    }
    let w101 = by_name(&wpts, "name", "V101");
    assert_eq!(w101["properties"]["time"], "2025-01-15T02:30:00Z");
    assert_eq!(w101["properties"]["sym"], "Flag, Red");

    let tracks = read_layer(&path, "tracks");
    for f in written().iter().filter(|f| !f.outline.0.is_empty()) {
        let t = by_name(&tracks, "name", &format!("V{}", f.id));
        let segments = t["geometry"]["coordinates"].as_array().unwrap();
        for seg in segments {
            let pts = seg.as_array().unwrap();
            assert!(
                close(xy(&pts[0]), xy(&pts[pts.len() - 1])),
                "segment of V{} is closed",
                f.id
            );
        }
        assert!(
            same_rings(&geometry_rings(&t["geometry"]), &flag_rings(f)),
            "V{}",
            f.id
        );
    }
}

#[test]
fn kml_reads_back_with_points_polygons_and_extended_data() {
    if !gdal_present("ogrinfo") || !gdal_present("ogr2ogr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.kml");
    std::fs::write(&path, kml::write(&flags(), "Lũng Cú & <Sủng Là>")).unwrap();

    let l = layers(&path);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0].0, "Lũng Cú & <Sủng Là>", "the folder is the layer");
    assert_eq!(l[0].1, 3);

    let features = read_layer(&path, &l[0].0);
    for f in written() {
        let p = by_name(&features, "Name", &format!("V{}", f.id));
        let props = &p["properties"];
        assert_eq!(props["description"], describe(&f), "V{}", f.id);
        assert_eq!(props["class"], f.class.as_str());
        assert_eq!(props["status"], f.status.as_str());
        assert_eq!(props["survey"], f.survey_id.as_str());
        assert_eq!(props["id"].to_string().trim_matches('"'), f.id.to_string());
        let g = &p["geometry"];
        if f.outline.0.is_empty() {
            assert_eq!(
                g["type"], "Point",
                "V{}: no MultiGeometry without an outline",
                f.id
            );
            assert!(close(xy(&g["coordinates"]), f.point), "V{}", f.id);
            continue;
        }
        assert_eq!(g["type"], "GeometryCollection");
        let parts = g["geometries"].as_array().unwrap();
        assert_eq!(parts[0]["type"], "Point");
        assert!(close(xy(&parts[0]["coordinates"]), f.point), "V{}", f.id);
        let rings: Vec<Vec<[f64; 2]>> = parts[1..].iter().flat_map(geometry_rings).collect();
        assert!(same_rings(&rings, &flag_rings(&f)), "V{}", f.id);
        assert_eq!(parts.len() - 1, f.outline.0.len(), "one Polygon per part");
    }
    let v102 = by_name(&features, "Name", "V102");
    assert_eq!(v102["properties"]["commune"], "Xã \"Sủng Là\" & <Sà Phìn>");
    assert_eq!(
        v102["properties"]["replanting_of"]
            .to_string()
            .trim_matches('"'),
        "7"
    );

    // The plain KML driver (no ExtendedData, same names, descriptions and geometry).
    let plain = layers_with(&PLAIN_KML, &path);
    assert_eq!(plain.len(), 1, "{plain:?}");
    assert_eq!(plain[0].1, 3);
    let features = read_layer_with(&PLAIN_KML, &path, &plain[0].0);
    for f in written() {
        let p = by_name(&features, "Name", &format!("V{}", f.id));
        assert_eq!(p["properties"]["Description"], describe(&f), "V{}", f.id);
        let g = &p["geometry"];
        let point = if f.outline.0.is_empty() {
            &g["coordinates"]
        } else {
            &g["geometries"][0]["coordinates"]
        };
        assert!(close(xy(point), f.point), "V{}", f.id);
    }
}

#[test]
fn geojson_reads_back_as_multipolygons_with_properties() {
    if !gdal_present("ogrinfo") || !gdal_present("ogr2ogr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.geojson");
    std::fs::write(&path, geojson::write(&flags())).unwrap();

    let l = layers(&path);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!((l[0].1, l[0].2.as_str()), (3, "Multi Polygon"));

    let features = read_layer(&path, &l[0].0);
    for f in written() {
        let feat = by_name(&features, "name", &format!("V{}", f.id));
        let p = &feat["properties"];
        assert_eq!(p["description"], describe(&f));
        // GDAL reads `id` as a field; ogr2ogr writes that field back as the feature id.
        assert_eq!(feat["id"], f.id);
        assert_eq!(p["class"], f.class.as_str());
        assert_eq!(p["status"], f.status.as_str());
        assert_eq!(p["survey_id"], f.survey_id.as_str());
        assert!(close(
            [p["lon"].as_f64().unwrap(), p["lat"].as_f64().unwrap()],
            f.point
        ));
        if f.outline.0.is_empty() {
            assert_eq!(feat["geometry"], Value::Null, "V{}", f.id);
        } else {
            assert!(
                same_rings(&geometry_rings(&feat["geometry"]), &flag_rings(&f)),
                "V{}",
                f.id
            );
        }
    }
    let v102 = by_name(&features, "name", "V102");
    assert_eq!(v102["properties"]["replanting_of"], 7);
    assert_eq!(v102["properties"]["province"], "Hà Giang 'cũ'");
}

#[test]
fn empty_selections_give_files_gdal_opens() {
    if !gdal_present("ogrinfo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("empty.gpx", gpx::write(&[], "Trống")),
        ("empty.kml", kml::write(&[], "Trống")),
        ("empty.geojson", geojson::write(&[])),
    ];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let l = layers(&path);
        assert!(l.iter().all(|(_, n, _)| *n == 0), "{name}: {l:?}");
        if name.ends_with(".gpx") {
            assert!(l.iter().any(|(n, ..)| n == "waypoints"), "{name}: {l:?}");
            assert!(l.iter().any(|(n, ..)| n == "tracks"), "{name}: {l:?}");
        } else {
            assert_eq!(l.len(), 1, "{name}: {l:?}");
        }
        if name.ends_with(".kml") {
            let plain = layers_with(&PLAIN_KML, &path);
            assert_eq!(
                plain.len(),
                1,
                "{name} with the plain KML driver: {plain:?}"
            );
            assert_eq!(plain[0].1, 0);
        }
    }
}

#[test]
fn the_skipped_flag_is_reported() {
    let skipped = export::check(&flags());
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].id, 104);
    assert_eq!(
        skipped[0].to_string(),
        "flag 104: waypoint left out, a coordinate is not a finite number"
    );
}

/// A 256 × 256 opaque PNG of one colour.
fn png(rgb: [u8; 3]) -> Vec<u8> {
    let rgba: Vec<u8> = std::iter::repeat_n([rgb[0], rgb[1], rgb[2], 255], 256 * 256)
        .flatten()
        .collect();
    vigil::tiling::image_ops::encode(&rgba, TileFormat::Png).unwrap()
}

fn colour(i: usize) -> [u8; 3] {
    [(i * 23 % 256) as u8, 255 - (i * 41 % 256) as u8, 90]
}

fn meta(bounds: [f64; 4]) -> MbtilesMeta {
    MbtilesMeta {
        name: "Ảnh bay Lũng Cú".into(),
        format: TileFormat::Png,
        bounds,
        zooms: 15..=16,
        layer_type: LayerType::Overlay,
        description: "Ảnh bay không người lái, xuất cho tổ công tác".into(),
        attribution: "Vigil".into(),
    }
}

#[test]
fn mbtiles_opens_in_gdal_with_tiles_where_they_belong() {
    if !gdal_present("gdalinfo") || !gdal_present("gdallocationinfo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imagery.mbtiles");
    let bbox = flags()[0].bbox().unwrap();
    let tiles = mbtiles::tiles_covering(&[bbox], 300.0, 15..=16, 100).unwrap();
    let deepest: Vec<Tile> = tiles.iter().copied().filter(|t| t.z == 16).collect();
    assert!(
        deepest.len() >= 4,
        "the margin reaches neighbouring tiles: {tiles:?}"
    );
    let bounds = mbtiles::tiles_bounds(&tiles).unwrap();
    let summary = mbtiles::write(
        &path,
        &meta(bounds),
        tiles
            .iter()
            .enumerate()
            .map(|(i, &t)| Ok::<_, std::io::Error>((t, png(colour(i))))),
    )
    .unwrap();
    assert_eq!(summary.tiles, tiles.len() as u64);
    assert_eq!(summary.zooms_written, Some(15..=16));

    let info: Value = serde_json::from_str(&run("gdalinfo", &["-json", s(&path)])).unwrap();
    assert_eq!(info["driverShortName"], "MBTiles");
    let md = &info["metadata"][""];
    assert_eq!(md["ZOOM_LEVEL"], "16", "{md}");
    assert_eq!(md["name"], "Ảnh bay Lũng Cú");
    assert_eq!(md["format"], "png");
    assert_eq!(md["type"], "overlay");
    // One overview per shallower zoom.
    assert_eq!(
        info["bands"][0]["overviews"].as_array().map(Vec::len),
        Some(1),
        "{}",
        info["bands"][0]
    );
    // GDAL crops the raster to the `bounds` metadata at `maxzoom`; here those are the planned
    // z16 tiles, margin included, so the raster is exactly those tiles.
    let xs: BTreeSet<u32> = deepest.iter().map(|t| t.x).collect();
    let ys: BTreeSet<u32> = deepest.iter().map(|t| t.y).collect();
    assert_eq!(
        deepest.len(),
        xs.len() * ys.len(),
        "a full rectangle of tiles"
    );
    assert_eq!(info["size"], json!([xs.len() * 256, ys.len() * 256]));
    let top_left = Tile {
        z: 16,
        x: xs.first().copied().unwrap(),
        y: ys.first().copied().unwrap(),
    };
    let [minx, _, _, maxy] = top_left.bounds_mercator();
    let gt: Vec<f64> = info["geoTransform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let res = vigil::grid::resolution(16);
    assert!(
        (gt[0] - minx).abs() < 0.01 && (gt[3] - maxy).abs() < 0.01,
        "origin {gt:?}"
    );
    assert!(
        (gt[1] - res).abs() < 1e-9 && (gt[5] + res).abs() < 1e-9,
        "pixel size {gt:?}"
    );
    let ext = &info["wgs84Extent"]["coordinates"][0];
    let lons: Vec<f64> = ext
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_f64().unwrap())
        .collect();
    let lats: Vec<f64> = ext
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (got, want) in [
        (min(&lons), bounds[0]),
        (min(&lats), bounds[1]),
        (max(&lons), bounds[2]),
        (max(&lats), bounds[3]),
    ] {
        assert!((got - want).abs() <= TOL, "extent {got} vs bounds {want}");
    }

    // Each z16 tile's own colour at its centre: the TMS row flip is right.
    for (i, t) in tiles.iter().enumerate().filter(|(_, t)| t.z == 16) {
        let [w, s_, e, n] = t.bounds_lon_lat();
        let (lon, lat) = ((w + e) / 2.0, (s_ + n) / 2.0);
        let out = run(
            "gdallocationinfo",
            &[
                "-valonly",
                "-wgs84",
                s(&path),
                &lon.to_string(),
                &lat.to_string(),
            ],
        );
        let got: Vec<u8> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
        let c = colour(i);
        assert_eq!(got[..3], c, "tile {t:?} at {lon},{lat}");
    }
}

#[test]
fn empty_mbtiles_is_a_valid_package() {
    if !gdal_present("gdalinfo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.mbtiles");
    let bbox = flags()[0].bbox().unwrap();
    let none = std::iter::empty::<Result<(Tile, Vec<u8>), std::io::Error>>();
    let summary = mbtiles::write(&path, &meta(bbox), none).unwrap();
    assert_eq!(summary.tiles, 0);
    // GDAL (checked with 3.6) opens a package without tiles: the raster is the `bounds` at
    // `maxzoom`, all transparent, with the metadata intact.
    let info: Value = serde_json::from_str(&run("gdalinfo", &["-json", s(&path)])).unwrap();
    assert_eq!(info["driverShortName"], "MBTiles");
    assert_eq!(info["metadata"][""]["ZOOM_LEVEL"], "16");
    assert_eq!(info["metadata"][""]["minzoom"], "15");
    let width = info["size"][0].as_u64().unwrap();
    assert!(width > 0, "{}", info["size"]);
}
