//! Border guards' review end to end through the real binary: the queue scoped to the reviewer's
//! province, decisions with reasons and field outcomes, illegal transitions and stale versions
//! refused without change, two reviewers racing on one flag, queue priority, the audit trail,
//! the `flags` layer reflecting decisions at once, and re-planting on a second flight over a plot
//! recorded as eradicated.

mod common;

use std::path::Path;

use common::{DataDir, TestServer, path_str, vigil_ok};
use serde_json::{Value, json};

/// The review tests' seeded scene (`common::review_scene`).
fn scene(dir: &Path) -> String {
    common::review_scene(dir)
}

/// The scene flown in January 2026 into a fresh data dir (with `config` as its vigil.toml), served.
fn flown(config: Option<&str>) -> (tempfile::TempDir, String, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let tif = scene(dir.path());
    let data = DataDir::with_boundaries();
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-01-10T08:00:00Z"],
    );
    if let Some(c) = config {
        data.write_config(c);
    }
    (dir, tif, TestServer::serve(data))
}

fn decide(server: &TestServer, token: &str, id: i64, body: Value) -> common::Response {
    server.send_json(
        "POST",
        &format!("/v1/flags/{id}/decisions"),
        Some(token),
        &body,
    )
}

/// Confirms each queue item as its class, except every third, rejected as a look-alike crop.
fn review_every_third_as_false(server: &TestServer, reviewer: &str, items: &[Value]) {
    for (k, i) in items.iter().enumerate() {
        let id = i["id"].as_i64().unwrap();
        let body = if k % 3 == 2 {
            json!({ "decision": "false_positive", "version": 1, "reason": "lookalike_crop" })
        } else {
            json!({ "decision": format!("confirmed_{}", i["class"].as_str().unwrap()), "version": 1 })
        };
        let r = decide(server, reviewer, id, body);
        assert_eq!(r.status, 201, "{}", r.describe());
    }
}

fn flag(server: &TestServer, token: &str, id: i64) -> Value {
    let r = server.get(&format!("/v1/flags/{id}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.describe());
    r.json()
}

#[test]
fn reviewers_decide_flags_in_their_province() {
    let (_dir, _, server) = flown(None);
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let other = server.add_user("bp24", "reviewer", &["24"], false);
    let operator = server.add_user("uav08", "operator", &["08"], false);
    let viewer = server.add_user("ld08", "viewer", &["08"], false);
    let admin = server.add_user("admin", "admin", &[], true);

    // The queue: open flags of province 08 only, by priority (confidence × area when no level
    // is set and nothing is re-planted).
    let q = server.get("/v1/review/queue?limit=100", Some(&reviewer));
    assert_eq!(q.status, 200, "{}", q.describe());
    let q = q.json();
    let items = q["items"].as_array().unwrap().clone();
    assert!(items.len() >= 3, "{q}");
    assert_eq!(q["total"].as_u64().unwrap() as usize, items.len());
    let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    for i in &items {
        assert_eq!(i["status"], "new");
        assert_eq!(i["province_code"], "08");
        assert_eq!(i["version"], 1);
        assert!(
            i["allowed_decisions"]
                .as_array()
                .unwrap()
                .contains(&json!("confirmed_poppy"))
        );
    }
    assert_eq!(
        server.get("/v1/review/queue", Some(&other)).json()["total"],
        0
    );
    let poppy = server
        .get("/v1/review/queue?class=poppy&limit=100", Some(&reviewer))
        .json();
    assert!(
        poppy["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["class"] == "poppy")
    );
    for bad in [
        "/v1/review/queue?status=done",
        "/v1/review/queue?sort=size",
        "/v1/review/queue?from=yesterday",
        "/v1/review/queue?colour=red",
    ] {
        assert_eq!(server.get(bad, Some(&reviewer)).status, 400, "{bad}");
    }
    let api = server.get("/api", Some(&viewer)).json();
    for path in [
        "/v1/review/queue",
        "/v1/flags/{id}/decisions",
        "/v1/flags/{id}/evidence",
        "/v1/exports/{file}",
    ] {
        assert!(
            api["paths"][path].is_object(),
            "{path} is not in the OpenAPI document"
        );
    }
    let vocab = server.get("/v1/review/vocab", Some(&viewer)).json();
    assert!(
        vocab["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "lookalike_crop")
    );

    let a = items[0]["id"].as_i64().unwrap();
    let b = items[1]["id"].as_i64().unwrap();
    let c = items[2]["id"].as_i64().unwrap();
    let file = flag(&server, &reviewer, a);
    assert_eq!(file["version"], 1);
    assert!(
        file["imagery"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["own"] == true)
    );
    assert!(file["geometry"]["type"].is_string());

    // Wrong role, other province, bad input: refused, nothing changes.
    let confirm = json!({ "decision": "confirmed_poppy", "version": 1 });
    assert_eq!(decide(&server, &operator, a, confirm.clone()).status, 403);
    assert_eq!(decide(&server, &viewer, a, confirm.clone()).status, 403);
    assert_eq!(decide(&server, &other, a, confirm.clone()).status, 404);
    assert_eq!(decide(&server, &reviewer, a, json!({})).status, 422);
    let r = decide(
        &server,
        &reviewer,
        a,
        json!({ "decision": "false_positive", "version": 1 }),
    );
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.text().contains("reason"), "{}", r.text());
    let r = decide(
        &server,
        &reviewer,
        a,
        json!({ "decision": "confirmed_poppy", "version": 1, "colour": "red" }),
    );
    assert_eq!(
        r.status,
        422,
        "unknown fields are refused: {}",
        r.describe()
    );
    // Illegal: a new flag cannot be recorded eradicated without review.
    let r = decide(
        &server,
        &reviewer,
        a,
        json!({ "decision": "eradicated", "version": 1, "eradicated_on": "2026-01-20",
                "area_destroyed_m2": 50.0, "team": "Đồn Biên phòng 1" }),
    );
    assert_eq!(r.status, 409, "{}", r.describe());
    assert!(r.text().contains("cannot be decided"), "{}", r.text());
    assert_eq!(r.json()["code"], "illegal_transition");
    assert_eq!(r.json()["current_status"], "new");
    let same = flag(&server, &reviewer, a);
    assert_eq!(
        (same["status"].clone(), same["version"].clone()),
        (json!("new"), json!(1))
    );
    assert!(same["history"].as_array().unwrap().is_empty());

    // Confirm, then a stale decision on the old version loses with the current version.
    let r = decide(&server, &reviewer, a, confirm.clone());
    assert_eq!(r.status, 201, "{}", r.describe());
    let after = r.json();
    assert_eq!(after["status"], "confirmed_poppy");
    assert_eq!(after["version"], 2);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let r = decide(
        &server,
        &reviewer,
        a,
        json!({ "decision": "false_positive", "version": 1, "reason": "lookalike_crop" }),
    );
    assert_eq!(r.status, 409, "{}", r.describe());
    assert_eq!(r.json()["current_version"], 2);
    assert_eq!(r.json()["code"], "stale_version");
    assert_eq!(flag(&server, &reviewer, a)["status"], "confirmed_poppy");
    // If-Match works as the version too.
    let r = server.request(
        "POST",
        &format!("/v1/flags/{a}/decisions"),
        Some(&reviewer),
        &[("Content-Type", "application/json"), ("If-Match", "\"2\"")],
        Some(r#"{"decision":"needs_field_check","note":"Gửi tổ công tác"}"#.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    // Field outcome: eradicated with date, area and team; dates before the flight are refused.
    let r = decide(
        &server,
        &reviewer,
        a,
        json!({ "decision": "eradicated", "version": 3, "eradicated_on": "2026-01-05",
                "area_destroyed_m2": 60.0, "team": "Đồn Biên phòng 1" }),
    );
    assert_eq!(r.status, 422, "{}", r.describe());
    let r = decide(
        &server,
        &reviewer,
        a,
        json!({ "decision": "eradicated", "version": 3, "eradicated_on": "2026-01-20",
                "area_destroyed_m2": 60.0, "team": "Đồn Biên phòng 1" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    let done = r.json();
    assert_eq!(done["status"], "eradicated");
    assert!(done["allowed_decisions"].as_array().unwrap().is_empty());
    let history = done["history"].as_array().unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| h["decision"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["confirmed_poppy", "needs_field_check", "eradicated"]
    );
    assert_eq!(history[2]["area_destroyed_m2"], 60.0);
    assert_eq!(history[2]["actor"], "bp08");
    let r = decide(
        &server,
        &reviewer,
        a,
        json!({ "decision": "reopen", "version": 4, "note": "x" }),
    );
    assert_eq!(r.status, 409, "eradicated is final: {}", r.describe());

    // The layer reflects the decision at once.
    let layer = server
        .get("/collections/flags/items?status=eradicated", Some(&viewer))
        .json();
    assert_eq!(layer["numberMatched"], 1, "{layer}");
    assert_eq!(layer["features"][0]["id"], a);
    assert_eq!(layer["features"][0]["properties"]["version"], 4);
    // Closed flags leave the queue.
    let open = server
        .get("/v1/review/queue?limit=100", Some(&reviewer))
        .json();
    assert!(
        !open["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == a)
    );

    // False positive with a reason, then reopened with a note.
    let r = decide(
        &server,
        &reviewer,
        b,
        json!({ "decision": "false_positive", "version": 1, "reason": "lookalike_crop",
                "note": "Ruộng bắp cải" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    let r = decide(
        &server,
        &reviewer,
        b,
        json!({ "decision": "reopen", "version": 2, "note": "Ảnh mới cho thấy hoa" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    assert_eq!(r.json()["status"], "new");

    // Priority: an urgent flag goes to the head of the queue.
    let r = server.send_json(
        "PUT",
        &format!("/v1/flags/{c}/priority"),
        Some(&reviewer),
        &json!({ "priority": "urgent", "version": 1 }),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(r.json()["priority"], "urgent");
    let head = server
        .get("/v1/review/queue?limit=1", Some(&reviewer))
        .json();
    assert_eq!(head["items"][0]["id"], c);
    let r = server.send_json(
        "PUT",
        &format!("/v1/flags/{c}/priority"),
        Some(&reviewer),
        &json!({ "priority": "asap", "version": 1 }),
    );
    assert_eq!(r.status, 422);
    // Re-ordering the queue does not make decisions on the flag stale; a stale version is
    // refused.
    assert_eq!(flag(&server, &reviewer, c)["version"], 1);
    let r = server.send_json(
        "PUT",
        &format!("/v1/flags/{c}/priority"),
        Some(&reviewer),
        &json!({ "priority": "low", "version": 7 }),
    );
    assert_eq!(r.status, 409);

    // Two reviewers on one flag at the same version: one wins, the other gets a conflict.
    let reviewer2 = server.add_user("bp08b", "reviewer", &["08"], false);
    let version = flag(&server, &reviewer, c)["version"].as_i64().unwrap();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = [
            (&reviewer, "confirmed_poppy"),
            (&reviewer2, "confirmed_cannabis"),
        ]
        .into_iter()
        .map(|(tok, d)| {
            let server = &server;
            s.spawn(move || {
                decide(server, tok, c, json!({ "decision": d, "version": version })).status
            })
        })
        .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [201, 409], "{statuses:?}");
    assert_eq!(
        flag(&server, &reviewer, c)["history"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Every change is in the audit log.
    let audit = server.get("/v1/audit?entity=flag&limit=100", Some(&admin));
    assert_eq!(audit.status, 200, "{}", audit.describe());
    let audit = audit.json();
    let entries = audit["entries"].as_array().unwrap();
    let decides = entries.iter().filter(|e| e["action"] == "decide").count();
    assert_eq!(decides, 6, "{audit}");
    assert!(entries.iter().any(|e| e["action"] == "priority"));
}

/// A second flight over a plot recorded eradicated through the review raises a re-planting flag,
/// linked to the eradicated one and first in the queue.
#[test]
fn a_second_flight_over_an_eradicated_plot_is_replanting() {
    let (_dir, tif, mut server) = flown(None);
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let q = server
        .get("/v1/review/queue?limit=100", Some(&reviewer))
        .json();
    let items = q["items"].as_array().unwrap();
    let id = items[0]["id"].as_i64().unwrap();
    for (v, body) in [
        (1, json!({ "decision": "confirmed_poppy" })),
        (
            2,
            json!({ "decision": "eradicated", "eradicated_on": "2026-01-15",
                    "area_destroyed_m2": 120.0, "team": "Đồn Biên phòng 2" }),
        ),
    ] {
        let mut body = body;
        body["version"] = json!(v);
        let r = decide(&server, &reviewer, id, body);
        assert_eq!(r.status, 201, "{}", r.describe());
    }
    server.terminate(std::time::Duration::from_secs(10));
    // The second flight, two months later, over the same fields.
    server.data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-03-10T08:00:00Z"],
    );
    server.restart();
    let q = server
        .get("/v1/review/queue?limit=200", Some(&reviewer))
        .json();
    let head = &q["items"][0];
    assert_eq!(head["replanting_of"], id, "{q}");
    // The eradicated plot's file points to the flag that re-plants it.
    let old = flag(&server, &reviewer, id);
    assert!(
        old["replanted_by"]
            .as_array()
            .unwrap()
            .contains(&head["id"]),
        "{old}"
    );
    let file = flag(&server, &reviewer, head["id"].as_i64().unwrap());
    // Both flights show the plot: the earlier is the "before" image.
    let imagery = file["imagery"].as_array().unwrap();
    assert_eq!(imagery.len(), 2, "{file}");
    assert_eq!(imagery[1]["own"], true);
    let before = server.get(
        &imagery[0]["chip"]
            .as_str()
            .unwrap()
            .replace(&server.base_url(), ""),
        Some(&reviewer),
    );
    assert_eq!(before.status, 200, "{}", before.describe());
    assert_eq!(before.header("content-type"), Some("image/png"));
}

/// `ogrinfo`/`gdalinfo` output of a file (panics with the tool's output on failure).
fn gdal(tool: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is not installed (gdal-bin): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{tool} {args:?}: {text}");
    text
}

/// Field exports (GPX, KML, GeoJSON, MBTiles) open in GDAL, hold the selected flags with their
/// outlines, are scoped to the caller's province, and an empty selection is a valid empty file.
#[test]
fn field_exports_open_in_gdal() {
    let (dir, _, server) = flown(None);
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let other = server.add_user("bp24", "reviewer", &["24"], false);
    let operator = server.add_user("uav08", "operator", &["08"], false);
    let q = server
        .get("/v1/review/queue?limit=100", Some(&reviewer))
        .json();
    let items = q["items"].as_array().unwrap();
    let ids: Vec<String> = items[..2].iter().map(|i| i["id"].to_string()).collect();
    let commune = items[0]["commune_code"].as_str().unwrap().to_string();
    let in_commune = items
        .iter()
        .filter(|i| i["commune_code"] == commune.as_str())
        .count();
    let sel = format!("ids={}", ids.join(","));

    let save = |name: &str, r: &common::Response| {
        assert_eq!(r.status, 200, "{name}: {}", r.describe());
        assert!(
            r.header("content-disposition")
                .is_some_and(|d| d.starts_with("attachment")),
            "{name}"
        );
        let p = dir.path().join(name);
        std::fs::write(&p, &r.body).unwrap();
        p.display().to_string()
    };
    let gpx = save(
        "f.gpx",
        &server.get(&format!("/v1/exports/flags.gpx?{sel}"), Some(&reviewer)),
    );
    let info = gdal("ogrinfo", &["-ro", "-al", "-so", &gpx]);
    assert!(info.contains("Layer name: waypoints"), "{info}");
    assert!(info.contains("Feature Count: 2"), "{info}");
    let info = gdal("ogrinfo", &["-ro", "-al", &gpx, "waypoints"]);
    assert!(
        info.contains(&format!("name (String) = V{}", ids[0])),
        "{info}"
    );
    let kml = save(
        "f.kml",
        &server.get(&format!("/v1/exports/flags.kml?{sel}"), Some(&reviewer)),
    );
    let info = gdal("ogrinfo", &["-ro", "-al", "-so", &kml]);
    assert!(info.contains("Feature Count: 2"), "{info}");
    let gj = save(
        "f.geojson",
        &server.get(
            &format!("/v1/exports/flags.geojson?commune={commune}"),
            Some(&reviewer),
        ),
    );
    let info = gdal("ogrinfo", &["-ro", "-al", "-so", &gj]);
    assert!(
        info.contains(&format!("Feature Count: {in_commune}")),
        "{in_commune} open flags in {commune}: {info}"
    );
    assert!(info.contains("Multi Polygon"), "{info}");
    // Another province's reviewer gets a valid file without these flags; an empty selection too.
    for (name, token, query) in [
        ("other.gpx", &other, sel.clone()),
        ("none.gpx", &reviewer, "ids=99999999".to_string()),
    ] {
        let p = save(
            name,
            &server.get(&format!("/v1/exports/flags.gpx?{query}"), Some(token)),
        );
        let info = gdal("ogrinfo", &["-ro", "-al", "-so", &p]);
        assert!(
            !info.contains("Feature Count: 1") && !info.contains("Feature Count: 2"),
            "{info}"
        );
    }
    assert_eq!(
        server
            .get(&format!("/v1/exports/flags.gpx?{sel}"), Some(&operator))
            .status,
        403
    );
    assert_eq!(
        server.get("/v1/exports/flags.gpx", Some(&reviewer)).status,
        400,
        "a selection is required"
    );
    assert_eq!(
        server
            .get(&format!("/v1/exports/flags.shp?{sel}"), Some(&reviewer))
            .status,
        404
    );
    // The imagery package: an MBTiles GDAL opens, covering the plots at the survey's zooms.
    let mb = save(
        "f.mbtiles",
        &server.get(
            &format!("/v1/exports/imagery.mbtiles?{sel}"),
            Some(&reviewer),
        ),
    );
    let info = gdal("gdalinfo", &[&mb]);
    assert!(info.contains("Driver: MBTiles/MBTiles"), "{info}");
    assert!(info.contains("ZOOM_LEVEL="), "{info}");
    let conn = rusqlite::Connection::open(&mb).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM tiles", [], |r| r.get(0))
        .unwrap();
    assert!(n >= 4, "{n} tiles");
    // Exports are audited.
    let admin = server.add_user("admin", "admin", &[], true);
    let audit = server.get("/v1/audit?entity=flag", Some(&admin)).json();
    let exports = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "export")
        .count();
    assert!(exports >= 5, "{audit}");
}

/// Field photos: kept with what their EXIF says (time, place, distance to the plot) and warnings
/// when it is weak evidence; refused by name when they are not JPEG, broken or too big; stored
/// under their checksum and served back unchanged, only inside the jurisdiction.
#[test]
fn field_photos_are_checked_and_kept() {
    use common::photos::{
        app1_exif, camera_ifd0, gps_at, gps_vn, jpeg_with, le, plain_jpeg, time_ifd,
    };
    let (_dir, _, server) = flown(Some("[evidence]\nmax_bytes = 200000\n"));
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let other = server.add_user("bp24", "reviewer", &["24"], false);
    let operator = server.add_user("uav08", "operator", &["08"], false);
    let q = server
        .get("/v1/review/queue?limit=2", Some(&reviewer))
        .json();
    let a = &q["items"][0];
    let id = a["id"].as_i64().unwrap();
    let other_flag = q["items"][1]["id"].as_i64().unwrap();
    let (lon, lat) = (
        a["point"][0].as_f64().unwrap(),
        a["point"][1].as_f64().unwrap(),
    );
    let r = decide(
        &server,
        &reviewer,
        id,
        json!({ "decision": "needs_field_check", "version": 1 }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    let decision = r.json()["decision"]["id"].as_i64().unwrap();
    let post = |token: &str, flag: i64, query: &str, body: &[u8]| {
        server.request(
            "POST",
            &format!("/v1/flags/{flag}/evidence{query}"),
            Some(token),
            &[("Content-Type", "image/jpeg")],
            Some(body),
        )
    };
    // Taken at the plot, ten days after the flight, Vietnam time.
    let at_plot = jpeg_with(&[app1_exif(&le().build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_at(lon, lat)),
    ))]);
    let r = post(&reviewer, id, &format!("?decision={decision}"), &at_plot);
    assert_eq!(r.status, 201, "{}", r.describe());
    let good = r.json();
    assert_eq!(good["decision_id"], decision);
    assert!(good["distance_m"].as_f64().unwrap() < 5.0, "{good}");
    assert!(
        (good["location"][0].as_f64().unwrap() - lon).abs() < 1e-5,
        "{good}"
    );
    assert!(
        good["taken_at"].as_str().unwrap().starts_with("2026-01-20"),
        "{good}"
    );
    let codes = |v: &Value| -> Vec<String> {
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(codes(&good).is_empty(), "{good}");
    // Weak evidence is kept, with the reason.
    let r = post(&reviewer, id, "", &plain_jpeg(64, 48));
    assert_eq!(r.status, 201, "{}", r.describe());
    assert_eq!(codes(&r.json()), ["no_exif"]);
    let far = jpeg_with(&[app1_exif(&le().build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_vn()),
    ))]);
    let r = post(&reviewer, id, "", &far);
    assert_eq!(r.status, 201, "{}", r.describe());
    assert!(
        codes(&r.json()).contains(&"far_from_plot".to_string()),
        "{}",
        r.text()
    );
    // Refused, by name.
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(8, 8)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let r = post(&reviewer, id, "", &png);
    assert_eq!(r.status, 415, "{}", r.describe());
    assert!(r.text().contains("PNG"), "{}", r.text());
    assert_eq!(post(&reviewer, id, "", b"not a photo").status, 415);
    let r = post(&reviewer, id, "", &at_plot[..at_plot.len() / 2]);
    assert_eq!(r.status, 422, "truncated: {}", r.describe());
    let big = plain_jpeg(1200, 900);
    let big = if big.len() > 200_000 {
        big
    } else {
        [big.clone(), vec![0; 200_001]].concat()
    };
    assert_eq!(post(&reviewer, id, "", &big).status, 413);
    let r = post(
        &reviewer,
        other_flag,
        &format!("?decision={decision}"),
        &at_plot,
    );
    assert_eq!(r.status, 422, "{}", r.describe());
    assert_eq!(post(&operator, id, "", &at_plot).status, 403);
    assert_eq!(post(&other, id, "", &at_plot).status, 404);
    // Served back unchanged, inside the jurisdiction only; listed in the flag's file.
    let eid = good["id"].as_i64().unwrap();
    let r = server.get(&format!("/v1/evidence/{eid}"), Some(&reviewer));
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(r.body, at_plot);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        server
            .get(&format!("/v1/evidence/{eid}"), Some(&other))
            .status,
        404
    );
    let file = flag(&server, &reviewer, id);
    assert_eq!(file["evidence"].as_array().unwrap().len(), 3, "{file}");
    // A stored photo that was altered on disk is never served as evidence.
    let sha = good["sha256"].as_str().unwrap();
    let stored = server
        .data
        .path()
        .join("evidence")
        .join(&sha[..2])
        .join(format!("{sha}.jpg"));
    assert!(stored.is_file(), "{}", stored.display());
    std::fs::write(&stored, b"tampered").unwrap();
    assert_eq!(
        server
            .get(&format!("/v1/evidence/{eid}"), Some(&reviewer))
            .status,
        500
    );
}

/// Reviewers' decisions become labelled examples: `vigil train --feedback DATA_DIR` learns from
/// the cells of confirmed and rejected flags and reports, on held-out reviewed flags, how the new
/// model compares with the one in use.
#[test]
fn reviewers_decisions_feed_training() {
    let (dir, _, server) = flown(None);
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let q = server
        .get("/v1/review/queue?limit=100", Some(&reviewer))
        .json();
    let items = q["items"].as_array().unwrap();
    assert!(items.len() >= 4, "{q}");
    review_every_third_as_false(&server, &reviewer, items);
    let model = dir.path().join("m.json");
    let out = vigil_ok(&[
        "train",
        "--out",
        path_str(&model),
        "--generate",
        "1",
        "--size",
        "512",
        "--held-out",
        "0",
        "--epochs",
        "2",
        "--seed",
        "60",
        "--feedback",
        server.data.path_str(),
    ]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(&format!("{} flags", items.len())),
        "every reviewed flag is used: {log}"
    );
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let fb = &m["training"]["feedback"];
    assert_eq!(fb["flags"], items.len(), "{fb}");
    assert!(fb["cells"].as_u64().unwrap() > 0, "{fb}");
    // Every 4th flag by id is held out (this scene raises flags 1–6, so flag 4 is).
    assert!(fb["held_out_cells"].as_u64().unwrap() > 0, "{fb}");
    assert!(log.contains("held-out reviewed cells"), "{log}");
    let e = fb["effect"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .cloned()
        .unwrap();
    assert!(e["previous_accuracy"].is_number(), "{fb}");
    assert!(e["new_accuracy"].is_number(), "{fb}");
}

/// A province learns from its own reviewers (issue 12, item 4): `vigil learn --province 08`
/// fine-tunes the model in use on province 08's reviewed flags, writes
/// `DATA_DIR/models/province-08.json` and audits it; the province's next survey is classified
/// with it, a survey in another province with the base model.
#[test]
fn a_province_learns_from_its_reviewers() {
    let (dir, _, server) = flown(None);
    let reviewer = server.add_user("bp08l", "reviewer", &["08"], false);
    let q = server
        .get("/v1/review/queue?limit=100", Some(&reviewer))
        .json();
    let items = q["items"].as_array().unwrap();
    assert!(items.len() >= 4, "{q}");
    // Too few reviewed flags: refused, and nothing written.
    let early = server.data.run(&["learn"], &["--province", "08"]);
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("at least 3"),
        "{}",
        common::describe_output(&early)
    );
    review_every_third_as_false(&server, &reviewer, items);
    let out = server.data.run_ok(&["learn"], &["--province", "08"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{} reviewed flags", items.len())),
        "{text}"
    );
    let path = server.data.path().join("models/province-08.json");
    let m = vigil::classify::model::Model::load(&path).expect("the province model loads");
    assert!(m.version.contains("+province-08-"), "{}", m.version);
    assert_eq!(m.training["province"], "08");
    // Bad province codes are refused before anything is read.
    let bad = server.data.run(&["learn"], &["--province", "../x"]);
    assert!(!bad.status.success());
    // The province's next flight is classified with its model; another province's with the base.
    let again = common::review_scene(dir.path());
    let line = |out: std::process::Output| -> Value {
        serde_json::from_slice(
            out.stdout
                .split(|b| *b == b'\n')
                .find(|l| !l.is_empty())
                .unwrap(),
        )
        .unwrap()
    };
    let here = line(
        server
            .data
            .run_ok(&["ingest"], &["--name", "again", &again]),
    );
    assert_eq!(here["model"].as_str(), Some(m.version.as_str()), "{here}");
    let elsewhere = dir.path().join("bn");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let bn = common::sample_scene(&elsewhere, "bn", "9004", "106.3,21.2");
    let there = line(
        server
            .data
            .run_ok(&["ingest"], &["--name", "bac-ninh", path_str(&bn)]),
    );
    let base = vigil::classify::model::Model::builtin().version;
    assert_eq!(there["model"].as_str(), Some(base.as_str()), "{there}");
    // Audited.
    let admin = server.add_user("adm-l", "admin", &[], true);
    let audit = server
        .get("/v1/audit?entity=province_model", Some(&admin))
        .json();
    assert!(audit.to_string().contains("\"train\""), "{audit}");
}

/// Truth plots of a sample scene (`SCENE.truth.geojson`): class and outline.
fn truth_plots(tif: &str) -> Vec<(String, geo::Geometry<f64>)> {
    let text = std::fs::read_to_string(Path::new(tif).with_extension("truth.geojson")).unwrap();
    let fc: geojson::FeatureCollection = text.parse().unwrap();
    fc.features
        .into_iter()
        .filter_map(|f| {
            let class = f.property("class")?.as_str()?.to_string();
            let g: geo::Geometry<f64> = f.geometry?.try_into().ok()?;
            Some((class, g))
        })
        .collect()
}

#[test]
fn more_like_this_ranks_the_flights_other_flags() {
    use geo::Intersects;
    let (_dir, tif, server) = flown(None);
    let reviewer = server.add_user("bp08s", "reviewer", &["08"], false);
    let flags = server
        .get("/collections/flags/items?limit=1000", Some(&reviewer))
        .json();
    let feats = flags["features"].as_array().unwrap();
    assert!(feats.len() >= 4, "{flags}");
    // Which flags lie on a real plot of their class.
    let truth = truth_plots(&tif);
    let on_plot = |f: &Value| -> bool {
        let g: geo::Geometry<f64> =
            serde_json::from_value::<geojson::Geometry>(f["geometry"].clone())
                .unwrap()
                .try_into()
                .unwrap();
        let class = f["properties"]["class"].as_str().unwrap();
        truth.iter().any(|(c, t)| c == class && t.intersects(&g))
    };
    let anchor = feats
        .iter()
        .find(|f| f["properties"]["class"] == "poppy" && on_plot(f))
        .expect("a flag on a real poppy plot");
    let id = anchor["id"].as_i64().unwrap();
    let r = decide(
        &server,
        &reviewer,
        id,
        json!({ "decision": "confirmed_poppy", "version": 1 }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());

    let r = server.get(&format!("/v1/flags/{id}/similar"), Some(&reviewer));
    assert_eq!(r.status, 200, "{}", r.describe());
    let s = r.json();
    assert_eq!(s["flag"], id);
    let cands = s["candidates"].as_array().unwrap();
    // Every other live flag of the flight, once, most similar first, scores in 0..1.
    assert_eq!(cands.len(), feats.len() - 1, "{s}");
    let sims: Vec<f64> = cands
        .iter()
        .map(|c| c["similarity"].as_f64().unwrap())
        .collect();
    assert!(sims.iter().all(|x| (0.0..=1.0).contains(x)), "{sims:?}");
    assert!(sims.windows(2).all(|w| w[0] >= w[1]), "{sims:?}");
    assert!(cands.iter().all(|c| c["id"] != id));
    // Flags on real poppy plots look more like the confirmed one than flags on anything else.
    let by_id: std::collections::HashMap<i64, &Value> = feats
        .iter()
        .map(|f| (f["id"].as_i64().unwrap(), f))
        .collect();
    let (mut real, mut other) = (Vec::new(), Vec::new());
    for c in cands {
        let f = by_id[&c["id"].as_i64().unwrap()];
        let sim = c["similarity"].as_f64().unwrap();
        if f["properties"]["class"] == "poppy" && on_plot(f) {
            real.push(sim);
        } else {
            other.push(sim);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    eprintln!(
        "more like this: {} flags on poppy plots, mean similarity {:.3}; {} others, {:.3}",
        real.len(),
        mean(&real),
        other.len(),
        mean(&other)
    );
    if !real.is_empty() && !other.is_empty() {
        assert!(
            mean(&real) > mean(&other),
            "poppy plots {real:?} should look more like the confirmed one than others {other:?}"
        );
    }
    // Outside the jurisdiction the flag does not exist.
    let far = server.add_user("bp24s", "reviewer", &["24"], false);
    let r = server.get(&format!("/v1/flags/{id}/similar"), Some(&far));
    assert_eq!(r.status, 404, "{}", r.describe());
    let r = server.get("/v1/flags/999999/similar", Some(&reviewer));
    assert_eq!(r.status, 404, "{}", r.describe());
}

/// Issue 16's server side of the offline outbox: a decision sent with an `Idempotency-Key` and
/// replayed (twice, and after a restart) gets the first answer and leaves one decision row; the
/// key on another request is refused; another reviewer's key is theirs alone.
#[test]
fn a_replayed_decision_gets_the_first_answer_and_no_second_row() {
    let (_dir, _, mut server) = flown(None);
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let other = server.add_user("bp08b", "reviewer", &["08"], false);
    let q = server
        .get("/v1/review/queue?limit=100", Some(&reviewer))
        .json();
    let items = q["items"].as_array().unwrap().clone();
    assert!(items.len() >= 2, "{q}");
    let (a, b) = (
        items[0]["id"].as_i64().unwrap(),
        items[1]["id"].as_i64().unwrap(),
    );
    let send = |server: &TestServer, token: &str, id: i64, key: &str, body: &Value| {
        let bytes = serde_json::to_vec(body).unwrap();
        server.request(
            "POST",
            &format!("/v1/flags/{id}/decisions"),
            Some(token),
            &[
                ("Content-Type", "application/json"),
                ("Idempotency-Key", key),
            ],
            Some(&bytes),
        )
    };
    let body = json!({ "decision": "needs_field_check", "version": 1, "note": "đi kiểm tra" });
    let first = send(&server, &reviewer, a, "outbox-7f3a", &body);
    assert_eq!(first.status, 201, "{}", first.describe());
    assert_eq!(first.header("idempotency-replayed"), None);
    let decided = first.json()["decision"].clone();
    let rows = |server: &TestServer| {
        server
            .get(&format!("/v1/flags/{a}/decisions"), Some(&reviewer))
            .json()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(rows(&server), 1);
    for _ in 0..2 {
        let again = send(&server, &reviewer, a, "outbox-7f3a", &body);
        assert_eq!(again.status, 201, "{}", again.describe());
        assert_eq!(again.header("idempotency-replayed"), Some("true"));
        assert_eq!(again.json()["decision"], decided, "the first answer");
    }
    assert_eq!(rows(&server), 1, "a replay makes no second row");
    // ... also after a restart (the key is in the store, with the decision).
    server.restart();
    let again = send(&server, &reviewer, a, "outbox-7f3a", &body);
    assert_eq!(again.status, 201, "{}", again.describe());
    assert_eq!(again.json()["decision"]["id"], decided["id"]);
    assert_eq!(rows(&server), 1);
    // The same key on another request: refused, nothing written.
    let other_body =
        json!({ "decision": "false_positive", "version": 2, "reason": "lookalike_crop" });
    let r = send(&server, &reviewer, a, "outbox-7f3a", &other_body);
    assert_eq!(r.status, 409, "{}", r.describe());
    assert!(r.text().contains("another request"), "{}", r.text());
    let r = send(&server, &reviewer, b, "outbox-7f3a", &body);
    assert_eq!(r.status, 409, "{}", r.describe());
    assert_eq!(
        flag(&server, &reviewer, b)["version"],
        1,
        "flag {b} untouched"
    );
    // Keys are per user: another reviewer's "outbox-7f3a" is a new request (and, made on the
    // version the first reviewer changed, a conflict to resolve, not an overwrite).
    let r = send(&server, &other, a, "outbox-7f3a", &body);
    assert_eq!(r.status, 409, "{}", r.describe());
    assert_eq!(r.json()["code"], "stale_version", "{}", r.text());
    assert_eq!(rows(&server), 1);
    // A key that is not visible ASCII is named.
    let r = send(&server, &reviewer, b, "has space", &body);
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.text().contains("Idempotency-Key"), "{}", r.text());

    // A field photo from the outbox, sent three times: one evidence row.
    let photo = common::photos::plain_jpeg(64, 48);
    let upload = |key: &str, bytes: &[u8]| {
        server.request(
            "POST",
            &format!("/v1/flags/{a}/evidence"),
            Some(&reviewer),
            &[("Content-Type", "image/jpeg"), ("Idempotency-Key", key)],
            Some(bytes),
        )
    };
    let first = upload("outbox-photo-1", &photo);
    assert_eq!(first.status, 201, "{}", first.describe());
    for _ in 0..2 {
        let again = upload("outbox-photo-1", &photo);
        assert_eq!(again.status, 201, "{}", again.describe());
        assert_eq!(again.header("idempotency-replayed"), Some("true"));
        assert_eq!(again.json()["id"], first.json()["id"]);
    }
    let listed = server
        .get(&format!("/v1/flags/{a}/evidence"), Some(&reviewer))
        .json();
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let mut changed = photo.clone();
    changed.extend_from_slice(b"\xff\xd9");
    let r = upload("outbox-photo-1", &changed);
    assert_eq!(r.status, 409, "{}", r.describe());
}
