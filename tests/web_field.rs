//! Issue 16: offline field review in headless Chromium (`tests/browser/field.mjs`): download a
//! commune's package, go offline, reload from the service worker, record three decisions and a
//! photo, come back online and see them synced, a decision another reviewer made meanwhile shown
//! as a conflict, replays that leave no second row, and the package wiped at logout.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{DataDir, TUYEN_QUANG, TestServer, describe_output, ingest_scene, sample_scene};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

#[test]
fn a_reviewer_reviews_a_commune_offline_and_syncs_in_headless_chromium() {
    let Some((browser_dir, script)) = common::browser_script("field.mjs") else {
        return;
    };
    let work = tempfile::Builder::new()
        .prefix("vigil-web-field-")
        .tempdir()
        .expect("tempdir");
    let scene = sample_scene(work.path(), "a", "9003", "105.2,22.0");
    // A second flight beside the first, so the commune holds enough plots for every step.
    let scene_b = sample_scene(work.path(), "b", "9004", "105.203,22.0");
    let data = DataDir::with_boundaries();
    ingest_scene(&data, &scene, "Đợt bay tháng 1", "2026-01-10T02:00:00Z");
    ingest_scene(
        &data,
        &scene_b,
        "Đợt bay tháng 1 (2)",
        "2026-01-11T02:00:00Z",
    );
    let reviewer = data.add_user("bp08", "reviewer", &[TUYEN_QUANG], false);
    let other = data.add_user("bp08b", "reviewer", &[TUYEN_QUANG], false);
    let server = TestServer::serve(data);

    // The commune with the most open flags.
    let q = server.get("/v1/review/queue?limit=500", Some(&reviewer));
    assert_eq!(q.status, 200, "{}", q.describe());
    let mut by_commune = std::collections::BTreeMap::<String, usize>::new();
    for it in q.json()["items"].as_array().cloned().unwrap_or_default() {
        if let Some(c) = it["commune_code"].as_str() {
            *by_commune.entry(c.to_string()).or_default() += 1;
        }
    }
    let (commune, n) = by_commune
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(c, n)| (c.clone(), *n))
        .expect("the scene raised flags in a commune of province 08");
    assert!(
        n >= 4,
        "commune {commune} holds {n} open flags; the test needs 4"
    );

    let screenshot = work.path().join("field.png");
    let (out, timed_out) = common::run_with_timeout(
        Command::new("node")
            .arg(&script)
            .current_dir(&browser_dir)
            .env("VIGIL_URL", server.base_url())
            .env("VIGIL_TOKEN", &reviewer)
            .env("VIGIL_OTHER_TOKEN", &other)
            .env("VIGIL_COMMUNE", &commune)
            .env("VIGIL_SCREENSHOT", &screenshot)
            // For the revocation step: the script disables the reviewer with the CLI.
            .env("VIGIL_BIN", common::VIGIL)
            .env("VIGIL_DATA_DIR", server.data.path())
            .env("VIGIL_REVIEWER", "bp08"),
        SCRIPT_TIMEOUT,
    );
    if timed_out || !out.status.success() {
        let kept = work.keep();
        panic!(
            "node tests/browser/field.mjs {} (commune {commune}, {n} open flags)\n{}\nscreenshot: {}\n--- server stderr ---\n{}",
            if timed_out { "timed out" } else { "failed" },
            describe_output(&out),
            kept.join("field.png").display(),
            server.stderr()
        );
    }
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The server side of a field package: the manifest counts what the reviewer may see, the
/// imagery and basemap are PMTiles archives that read back (GDAL for the vector basemap), another
/// province's reviewer gets no flag of it, a non-reviewer is refused, and the size cap
/// (`[field] package_max_bytes`) is enforced by name.
#[test]
fn field_package_files_read_back_within_jurisdiction_and_the_cap() {
    let work = tempfile::tempdir().expect("tempdir");
    let scene = sample_scene(work.path(), "a", "9003", "105.2,22.0");
    let data = DataDir::with_boundaries();
    ingest_scene(&data, &scene, "Đợt bay tháng 1", "2026-01-10T02:00:00Z");
    let reviewer = data.add_user("bp08", "reviewer", &[TUYEN_QUANG], false);
    let elsewhere = data.add_user("bp24", "reviewer", &["24"], false);
    let viewer = data.add_user("ld08", "viewer", &[TUYEN_QUANG], false);
    let mut server = TestServer::serve(data);

    let q = server
        .get("/v1/review/queue?limit=500", Some(&reviewer))
        .json();
    let commune = q["items"][0]["commune_code"]
        .as_str()
        .expect("a flag with a commune")
        .to_string();
    let open = q["items"]
        .as_array()
        .map(|a| a.iter().filter(|i| i["commune_code"] == commune).count())
        .unwrap_or(0);
    let path = format!("/v1/field-package?commune={commune}");
    let r = server.get(&path, Some(&reviewer));
    assert_eq!(r.status, 200, "{}", r.describe());
    let m = r.json();
    assert_eq!(m["manifest"]["flags"], open, "{m}");
    assert!(
        m["manifest"]["bytes_total_estimate"].as_u64().unwrap_or(0) > 0,
        "{m}"
    );
    assert_eq!(m["manifest"]["max_bytes"], 200u64 << 20, "{m}");
    assert!(
        m["manifest"]["expires_at"]
            .as_str()
            .is_some_and(|s| s.starts_with("20")),
        "{m}"
    );
    let other = server.get(&path, Some(&elsewhere));
    assert_eq!(other.status, 200, "{}", other.describe());
    assert_eq!(
        other.json()["manifest"]["flags"],
        0,
        "another province's reviewer: {}",
        other.text()
    );
    let refused = server.get(&path, Some(&viewer));
    assert_eq!(refused.status, 403, "a viewer: {}", refused.describe());

    // The imagery: a raster PMTiles v3 archive of PNG tiles.
    let img = server.get(
        &format!("/v1/exports/imagery.pmtiles?commune={commune}"),
        Some(&reviewer),
    );
    assert_eq!(img.status, 200, "{}", img.describe());
    let b = &img.body;
    assert_eq!(&b[..7], b"PMTiles", "magic");
    assert_eq!(b[7], 3, "version");
    assert_eq!(b[99], 2, "tile type PNG");
    let addressed = u64::from_le_bytes(b[72..80].try_into().expect("8 bytes"));
    assert!(addressed > 0, "no imagery tile in the package");
    // The basemap: land and the communes, read back by GDAL.
    let base = server.get(
        &format!("/v1/exports/basemap.pmtiles?commune={commune}"),
        Some(&reviewer),
    );
    assert_eq!(base.status, 200, "{}", base.describe());
    let file = work.path().join("basemap.pmtiles");
    std::fs::write(&file, &base.body).expect("write");
    let out = Command::new(common::venv_python())
        .args([
            "-c",
            "import json,sys,pyogrio; p=sys.argv[1]; print(json.dumps({l[0]: int(pyogrio.read_info(p, layer=l[0])['features']) for l in pyogrio.list_layers(p)}))",
        ])
        .arg(&file)
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", describe_output(&out));
    let layers: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(layers["land"].as_u64().unwrap_or(0) > 0, "{layers}");
    assert!(layers["communes"].as_u64().unwrap_or(0) > 0, "{layers}");

    // A phone photo without a position of its own takes the device's fix sent with it.
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        64,
        48,
        image::Rgb([58, 125, 44]),
    ))
    .write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .expect("encode a JPEG");
    let flag = q["items"][0]["id"].as_i64().expect("a flag id");
    let post = |query: &str| {
        server.request(
            "POST",
            &format!("/v1/flags/{flag}/evidence{query}"),
            Some(&reviewer),
            &[("Content-Type", "image/jpeg")],
            Some(&jpeg),
        )
    };
    let r = post("?lon=105.2");
    assert_eq!(r.status, 400, "{}", r.describe());
    assert!(r.text().contains("lon and lat"), "{}", r.text());
    let r = post("?lon=205.2&lat=22.0");
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.text().contains("lon"), "{}", r.text());
    let r = post("?lon=105.2&lat=22.0&accuracy_m=8");
    assert_eq!(r.status, 201, "{}", r.describe());
    let e = r.json();
    let e = if e["evidence"].is_object() {
        e["evidence"].clone()
    } else {
        e
    };
    assert_eq!(e["location"], serde_json::json!([105.2, 22.0]), "{e}");
    assert_eq!(e["gps_accuracy_m"], 8.0, "{e}");
    let codes: Vec<&str> = e["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(|x| x["code"].as_str()).collect())
        .unwrap_or_default();
    assert!(codes.contains(&"gps_from_device"), "{e}");

    // The cap, set low: the manifest shows it and the imagery is refused by name.
    server.terminate(Duration::from_secs(10));
    server
        .data
        .write_config("[field]\npackage_max_bytes = 1000\npackage_days = 2\n");
    server.restart();
    let m = server.get(&path, Some(&reviewer)).json();
    assert_eq!(m["manifest"]["max_bytes"], 1000, "{m}");
    let img = server.get(
        &format!("/v1/exports/imagery.pmtiles?commune={commune}"),
        Some(&reviewer),
    );
    assert_eq!(img.status, 413, "{}", img.describe());
    assert!(img.text().contains("package_max_bytes"), "{}", img.text());
}
