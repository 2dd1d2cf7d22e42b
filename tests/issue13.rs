//! Issue 13 (hardening), against the real `vigil` binary: each test names the defect it guards
//! and failed before its fix.
//!
//! 1. a NaN coordinate in a boundary file bricked the data dir;
//! 2. `vigil ingest` beside `vigil serve` was swept as a dead job;
//! 3. the login lock-out could be raced and was forgotten on restart;
//! 4. names went into the map as HTML (CSP headers here; the scripts in `web_text_only`);
//! 5. a sparse GeoTIFF cost minutes and ended `ready` with no tiles;
//! 6. formula injection in `report.csv`;
//! 7. server paths and debug structs in error bodies;
//! 8. smaller ones: import error counts, `Cache-Control` on sources, over-large `limit`, broken
//!    survey files refused at queue time.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{DataDir, TestServer, describe_output, fixture, path_str, vigil_ok};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write fixture");
    p
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

// ---- 1. non-finite coordinates ------------------------------------------------------------------

const NAN_PROVINCE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"99","name":"x"},"geometry":{"type":"Polygon","coordinates":[[[106,20],[107,20],[NaN,21],[106,20]]]}}]}"#;

#[test]
fn issue13_nan_boundary_is_refused_and_a_bad_stored_row_does_not_brick_the_data_dir() {
    let data = DataDir::with_boundaries();
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "nan.geojson", NAN_PROVINCE);
    let out = data.run(
        &["import", "boundaries"],
        &[path_str(&f), "--level", "province"],
    );
    assert!(!out.status.success(), "{}", describe_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("99") && err.contains("not a number"), "{err}");
    // A bow-tie (self-intersecting ring) is refused, naming the feature.
    let bow = write(
        tmp.path(),
        "bow.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"98","name":"bow"},"geometry":{"type":"Polygon","coordinates":[[[106,20],[107,21],[107,20],[106,21],[106,20]]]}}]}"#,
    );
    let out = data.run(
        &["import", "boundaries"],
        &[path_str(&bow), "--level", "province"],
    );
    assert!(!out.status.success(), "{}", describe_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("98") && err.contains("self-intersection"),
        "{err}"
    );
    // Nothing was stored: the CLI still works.
    data.add_user("after_nan", "admin", &[], true);

    // Hotspot files with NaN coordinates are refused too (CSV and KML).
    let csv = write(
        tmp.path(),
        "nan.csv",
        "name,kind,lon,lat,reported_on\nx,khac,NaN,21.8,2025-01-01\n",
    );
    let out = data.import_hotspots(&csv, &[]);
    assert!(!out.status.success(), "{}", describe_output(&out));

    // A row made bad behind the service's back (an old version, a hand edit) is skipped with a
    // warning; the service starts and reports it.
    let store = data.store();
    let db = store.db();
    db.execute(
        "UPDATE boundaries SET geometry = ?1 WHERE level = 'commune' AND code = '02201'",
        [r#"{"type":"Polygon","coordinates":[[[106,20],[107,20],[null,21],[106,20]]]}"#],
    )
    .unwrap();

    drop(store);
    data.add_user("after_corrupt", "admin", &[], true);
    let server = TestServer::serve(data);
    let h = server.get("/healthz", None);
    assert_eq!(h.status, 200, "{}", h.describe());
    let j = h.json();
    let skipped = j["skipped_rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(skipped.len(), 1, "{j}");
    assert_eq!(skipped[0]["table"], "boundaries", "{j}");
    assert!(server.stderr().contains("02201"), "{}", server.stderr());
}

// ---- 2. CLI ingest beside a running server -------------------------------------------------------

#[test]
fn issue13_cli_ingest_beside_a_running_server_is_not_swept() {
    let scenes = tempfile::tempdir().unwrap();
    vigil_ok(&[
        "sample-imagery",
        "--out",
        path_str(scenes.path()),
        "--name",
        "big",
        "--seed",
        "13",
        "--size",
        "2048",
        "--layout",
        "rgbn",
        "--gsd",
        "0.05",
        "--center",
        "105.2,22.0",
    ]);
    let scene = scenes.path().join("big.tif");
    let server = TestServer::start();
    let admin = server.add_user("admin", "admin", &[], true);
    let mut ids = Vec::new();
    for i in 0..3 {
        let out = server.data.run(
            &["ingest"],
            &["--name", &format!("cli {i}"), path_str(&scene)],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line: Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("no JSON line\n{}", describe_output(&out)));
        assert!(
            out.status.success() && line["state"] == "ready",
            "ingest {i}: {line}\n{}\n--- server ---\n{}",
            describe_output(&out),
            server.stderr()
        );
        ids.push(line["survey"].as_str().unwrap().to_string());
    }
    // Give the server's sweep time to run over the finished rows too.
    std::thread::sleep(Duration::from_secs(3));
    for id in &ids {
        let r = server.get(&format!("/v1/surveys/{id}"), Some(&admin));
        assert_eq!(r.status, 200, "{}", r.describe());
        let j = r.json();
        assert_eq!(j["state"], "ready", "{j}");
        assert!(j["error"].is_null(), "a ready survey keeps an error: {j}");
        assert_eq!(j["attempts"], 1, "processed more than once: {j}");
        // The source is sensitive: not cached by shared caches.
        let s = server.get(&format!("/v1/surveys/{id}/source"), Some(&admin));
        assert_eq!(s.status, 200, "{}", s.describe());
        let cc = s.header("cache-control").unwrap_or("");
        assert!(cc.contains("private") && cc.contains("no-store"), "{cc:?}");
    }
    let audit = server.get("/v1/audit?entity=survey&limit=1000", Some(&admin));
    let readies = audit.json()["entries"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["action"] == "ready").count())
        .unwrap_or(0);
    assert_eq!(readies, ids.len(), "{}", audit.text());
}

// ---- 3. login lock-out --------------------------------------------------------------------------

fn login(port: u16, name: &str, password: &str) -> u16 {
    let body = serde_json::to_vec(&json!({ "name": name, "password": password })).unwrap();
    common::http(
        "POST",
        port,
        "/v1/auth/login",
        None,
        &[("Content-Type", "application/json")],
        Some(&body),
    )
    .map(|r| r.status)
    .unwrap_or(0)
}

#[test]
fn issue13_login_lockout_is_atomic_and_survives_a_restart() {
    let data = DataDir::with_boundaries();
    data.add_user("lan", "viewer", &["08"], false);
    let good = "correct horse battery staple 13";
    data.set_password("lan", good);
    let mut server = TestServer::serve(data);
    let port = server.port;
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..40)
            .map(|i| s.spawn(move || login(port, "lan", &format!("wrong {i}"))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= 5,
        "{checked} wrong passwords were checked before the lock: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert_eq!(
        login(server.port, "lan", good),
        429,
        "a locked name let a password in"
    );
    server.restart();
    assert_eq!(
        login(server.port, "lan", good),
        429,
        "the lock-out was forgotten on restart"
    );
}

// ---- 4. CSP ---------------------------------------------------------------------------------------

#[test]
fn issue13_csp_limits_forms_and_base_and_covers_report_html() {
    let server = TestServer::start();
    let admin = server.add_user("admin", "admin", &[], true);
    let r = server.get("/map/", None);
    let csp = r
        .header("content-security-policy")
        .unwrap_or("")
        .to_string();
    for d in ["form-action 'self'", "base-uri 'none'", "script-src 'self'"] {
        assert!(csp.contains(d), "{d} missing from {csp:?}");
    }
    let r = server.get(
        "/v1/reports/report.html?period=2026&province=08",
        Some(&admin),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    let csp = r.header("content-security-policy").unwrap_or("");
    for d in [
        "default-src 'none'",
        "script-src 'none'",
        "form-action 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            csp.contains(d),
            "{d} missing from report.html's CSP {csp:?}"
        );
    }
}

// ---- 5. sparse GeoTIFF ----------------------------------------------------------------------------

/// A 40000² tiled, deflated GeoTIFF with SPARSE_OK: a few hundred bytes on disk; `block` writes one
/// 256² block of data.
fn sparse_geotiff(path: &Path, block: bool) {
    use gdal::DriverManager;
    use gdal::raster::RasterCreationOptions;
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let opts = RasterCreationOptions::from_iter([
        "TILED=YES",
        "COMPRESS=DEFLATE",
        "SPARSE_OK=TRUE",
        "BLOCKXSIZE=256",
        "BLOCKYSIZE=256",
    ]);
    let mut ds = driver
        .create_with_band_type_with_options::<u8, _>(path, 40000, 40000, 3, &opts)
        .unwrap();
    // 5 cm pixels in UTM 48N around 105.2 E, 22.0 N.
    ds.set_geo_transform(&[520_000.0, 0.05, 0.0, 2_435_000.0, 0.0, -0.05])
        .unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32648).unwrap())
        .unwrap();
    for (i, ci) in [
        gdal::raster::ColorInterpretation::RedBand,
        gdal::raster::ColorInterpretation::GreenBand,
        gdal::raster::ColorInterpretation::BlueBand,
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = ds.rasterband(i + 1).unwrap();
        b.set_color_interpretation(ci).unwrap();
        if block {
            let mut buf =
                gdal::raster::Buffer::new((256, 256), vec![100u8 + i as u8 * 20; 256 * 256]);
            b.write((20_000, 20_000), (256, 256), &mut buf).unwrap();
        }
    }
    ds.flush_cache().unwrap();
}

#[test]
fn issue13_sparse_geotiff_without_data_is_refused_as_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("sparse-empty.tif");
    sparse_geotiff(&empty, false);
    assert!(std::fs::metadata(&empty).unwrap().len() < 1_000_000);
    let data = DataDir::with_boundaries();
    let out = data.run(&["ingest"], &[path_str(&empty)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON line\n{}", describe_output(&out)));
    assert!(!out.status.success(), "{}", describe_output(&out));
    assert_eq!(line["state"], "failed", "{line}");
    assert_eq!(line["error"]["code"], "empty", "{line}");

    // One block of data: tiled (only where the data is), not refused.
    let one = tmp.path().join("sparse-one-block.tif");
    sparse_geotiff(&one, true);
    let out = data.run(&["ingest"], &[path_str(&one)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON line\n{}", describe_output(&out)));
    assert_eq!(line["state"], "ready", "{line}\n{}", describe_output(&out));
    assert!(line["tiles"].as_u64().unwrap_or(0) > 0, "{line}");
}

// ---- 6. CSV formula injection ------------------------------------------------------------------

#[test]
fn issue13_report_csv_cells_cannot_start_a_formula() {
    let data = DataDir::empty();
    let provinces = fixture("boundaries/provinces.geojson");
    data.run_ok(
        &["import", "boundaries"],
        &[path_str(&provinces), "--level", "province"],
    );
    let mut communes: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("boundaries/communes.geojson")).unwrap(),
    )
    .unwrap();
    let evil = "=HYPERLINK(\"http://example.invalid\",\"x\")";
    communes["features"][0]["properties"]["name"] = json!(evil);
    communes["features"][1]["properties"]["name"] = json!("@SUM(1+1)");
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "communes.geojson", &communes.to_string());
    data.run_ok(
        &["import", "boundaries"],
        &[path_str(&f), "--level", "commune"],
    );
    let server = TestServer::serve(data);
    let admin = server.add_user("admin", "admin", &[], true);
    let r = server.get(
        "/v1/reports/report.csv?period=2026&province=08",
        Some(&admin),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    let text = r.text();
    let text = text.trim_start_matches('\u{feff}');
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut names = std::collections::BTreeSet::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        for cell in rec.iter() {
            assert!(
                !cell.starts_with(['=', '+', '@', '\t', '\r']),
                "a cell starts a formula: {cell:?}"
            );
            if cell.starts_with('-') {
                assert!(cell.parse::<f64>().is_ok(), "{cell:?}");
            }
        }
        names.insert(rec[2].to_string());
    }
    assert!(names.contains(&format!("'{evil}")), "{names:?}");
    assert!(names.contains("'@SUM(1+1)"), "{names:?}");
}

// ---- 7 + 8. errors in user terms, cheap checks before 202 ---------------------------------------

fn upload(server: &TestServer, token: &str, filename: &str, bytes: &[u8]) -> String {
    let r = server.send_json(
        "POST",
        "/v1/uploads",
        Some(token),
        &json!({ "filename": filename, "size": bytes.len(), "sha256": sha256_hex(bytes), "content_type": "image/tiff" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = server.request(
        "PUT",
        &format!("/v1/uploads/{id}/chunks/0"),
        Some(token),
        &[("Content-Type", "application/octet-stream")],
        Some(bytes),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    let r = server.request(
        "POST",
        &format!("/v1/uploads/{id}/commit"),
        Some(token),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    id
}

fn float_geotiff(path: &Path) {
    let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver
        .create_with_band_type::<f32, _>(path, 64, 64, 3)
        .unwrap();
    ds.set_geo_transform(&[520_000.0, 0.05, 0.0, 2_435_000.0, 0.0, -0.05])
        .unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32648).unwrap())
        .unwrap();
    ds.flush_cache().unwrap();
}

#[test]
fn issue13_broken_survey_files_get_422_at_once_in_user_terms() {
    let server = TestServer::start();
    let op = server.add_user("op", "operator", &["08"], false);
    let data_dir = server.data.path_str().to_string();
    // Not an image at all.
    let id = upload(
        &server,
        &op,
        "broken.tif",
        b"II*\0this is not a tiff at all",
    );
    let r = server.send_json("POST", "/v1/surveys", Some(&op), &json!({ "upload": id }));
    assert_eq!(r.status, 422, "{}", r.describe());
    let detail = r.json()["detail"].as_str().unwrap_or("").to_string();
    assert!(detail.contains("broken.tif"), "{detail}");
    assert!(
        !detail.contains(&data_dir) && !detail.contains("/tmp"),
        "{detail}"
    );
    assert_eq!(r.json()["code"], "corrupt", "{}", r.text());
    // A type Vigil does not take: named in words, not as a Rust value.
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("float.tif");
    float_geotiff(&f);
    let id = upload(&server, &op, "float.tif", &std::fs::read(&f).unwrap());
    let r = server.send_json("POST", "/v1/surveys", Some(&op), &json!({ "upload": id }));
    assert_eq!(r.status, 422, "{}", r.describe());
    let j = r.json();
    assert_eq!(j["code"], "unsupported_type", "{j}");
    let detail = j["detail"].as_str().unwrap_or("");
    assert!(detail.contains("32-bit floating point"), "{detail}");
    assert!(!detail.contains("Float32"), "{detail}");
}

#[test]
fn issue13_import_counts_rows_and_errors_and_limits_saturate() {
    let server = TestServer::start();
    let admin = server.add_user("admin", "admin", &[], true);
    // Two bad rows, two errors each.
    let csv =
        "name,kind,lon,lat,reported_on\n,nope,105.2,21.8,2025-01-01\n,nope,105.3,21.8,2025-01-01\n";
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "bad.csv", csv);
    let out = server.data.import_hotspots(&f, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 bad rows (4 errors)"), "{err}");
    let r = server.request(
        "POST",
        "/v1/import/hotspots",
        Some(&admin),
        &[("Content-Type", "text/csv")],
        Some(csv.as_bytes()),
    );
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.text().contains("2 bad rows (4 errors)"), "{}", r.text());

    for limit in ["1000000000000", "100000000000000000000000"] {
        let r = server.get(
            &format!("/collections/hotspots/items?limit={limit}"),
            Some(&admin),
        );
        assert_eq!(r.status, 200, "limit={limit}: {}", r.describe());
        let r = server.get(
            &format!("/collections/surveys/items?limit={limit}"),
            Some(&admin),
        );
        assert_eq!(r.status, 200, "limit={limit}: {}", r.describe());
        let r = server.get(&format!("/v1/audit?limit={limit}"), Some(&admin));
        assert_eq!(r.status, 200, "limit={limit}: {}", r.describe());
    }
}

// ---- 4. the web map's scripts ---------------------------------------------------------------------

/// Popups and tooltips get DOM nodes (MapLibre's `setDOMContent`; never `setHTML`, which puts a
/// string into `innerHTML`); any `setContent`-style call must pass `textEl(…)` or `h(…)` (or a
/// function returning one), and no script may write HTML.
#[test]
fn issue13_web_scripts_put_data_into_the_page_as_text() {
    let web = common::manifest_dir().join("web");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&web).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|x| x != "js") {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&p).unwrap();
        for bad in [
            ".innerHTML",
            "insertAdjacentHTML",
            ".outerHTML",
            "document.write(",
            ".setHTML(",
        ] {
            for (i, _) in src.match_indices(bad) {
                let line = src[..i].lines().count();
                problems.push(format!("{name}:{line}: {bad}"));
            }
        }
        for call in [
            ".bindTooltip(",
            ".bindPopup(",
            ".setTooltipContent(",
            ".setPopupContent(",
            ".setContent(",
        ] {
            for (i, _) in src.match_indices(call) {
                let arg = src[i + call.len()..].trim_start();
                let arg = arg
                    .strip_prefix("() =>")
                    .map(|a| a.trim_start().trim_start_matches('(').trim_start())
                    .unwrap_or(arg);
                if !(arg.starts_with("textEl(") || arg.starts_with("h(")) {
                    let line = src[..i].lines().count();
                    let shown: String = arg.chars().take(40).collect();
                    problems.push(format!("{name}:{line}: {call}{shown}…"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "data may reach the page as HTML:\n{}",
        problems.join("\n")
    );
}
