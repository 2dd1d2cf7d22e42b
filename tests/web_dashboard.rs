//! The dashboard of the web map (issue 6, item 3) in a real headless Chromium, against the real
//! `vigil serve`: runs `tests/browser/dashboard.mjs` (Playwright) as an analyst of province 08, who
//! opens the dashboard, reads the KPI cards (the same numbers, ratings and texts as
//! `/v1/reports/kpis`), changes the period, reads the chart over time and the commune choropleth,
//! and downloads the PDF, XLSX and CSV reports; then a national analyst picks province 14 and
//! switches on the hotspot analysis layers (heat map tiles, Gi*, suggested clusters, emerging hot
//! spots). The script does the checking and exits non-zero on a failure; this test prepares a
//! history with known answers (the hotspot history of `tests/reports.rs`, without the drone
//! flight), a sample province 14 of 5 × 5 communes whose south-west 3 × 3 block holds four active
//! hotspots each (its middle commune a clear Gi* hot spot, six of the blocks tight enough to be
//! suggested clusters), and shows the script's output when it fails, keeping its temporary
//! directory with the screenshots.
//!
//! Needs `node`, `tests/browser/node_modules/playwright-core` and `/usr/bin/chromium`; a missing
//! one fails the test with a hint to run `make test`, unless `VIGIL_SKIP_EXTERNAL=1`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use common::{DataDir, TUYEN_QUANG, TestServer, describe_output};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

/// Commune 02200 (A) and 02201 (B) of province 08, 07000 (C) of province 24.
const A: (f64, f64) = (105.0, 22.0);
const B: (f64, f64) = (105.4, 22.0);
const C: (f64, f64) = (106.1, 21.2);

/// (point, kind, reported_on, dated steps): the registry's history, as in tests/reports.rs.
type Seeded = (
    (f64, f64),
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);
const HISTORY: &[Seeded] = &[
    (
        A,
        "diem_nong",
        "2024-03-10",
        &[("eliminated", "2024-09-01")],
    ),
    (
        A,
        "diem_ban_le",
        "2024-05-05",
        &[("verifying", "2025-02-01"), ("eliminated", "2025-03-15")],
    ),
    (
        A,
        "diem_nong",
        "2025-01-20",
        &[("eliminated", "2025-04-10"), ("reemerged", "2026-02-01")],
    ),
    (
        B,
        "tu_diem_su_dung",
        "2025-06-01",
        &[("eliminated", "2025-08-20")],
    ),
    (
        B,
        "diem_nong",
        "2026-01-05",
        &[("verifying", "2026-01-20"), ("eliminated", "2026-05-30")],
    ),
    (
        B,
        "diem_ban_le",
        "2026-03-03",
        &[("eliminated", "2026-04-04")],
    ),
    (A, "diem_nong", "2026-02-14", &[]),
    (A, "boong_ke", "2026-06-30", &[("eliminated", "2026-07-02")]),
    (B, "khac", "2026-08-01", &[]),
    (
        C,
        "diem_nong",
        "2026-01-10",
        &[("eliminated", "2026-02-10")],
    ),
];

/// Sample province 14: 5 × 5 communes of 0.1°, south-west corner (103.6, 21.0).
const P14: &str = "14";
const P14_W: f64 = 103.6;
const P14_S: f64 = 21.0;
const P14_STEP: f64 = 0.1;
/// The middle commune of the hot 3 × 3 block (column 1, row 1).
const HOT_COMMUNE: &str = "04006";
/// Communes of the hot block whose four hotspots are ~2 km apart (no cluster); the other six
/// have theirs within ~30 m (one suggested cluster each).
const SPREAD: &[(usize, usize)] = &[(0, 0), (2, 0), (0, 2)];
const CLUSTERS_14: usize = 6;
/// Lone hotspots outside the block (column, row).
const LONE: &[(usize, usize)] = &[(4, 4), (4, 1), (1, 4)];
/// When the four hotspots of a block commune were reported: more of them active every year.
const REPORTED_14: [&str; 4] = ["2024-02-10", "2024-11-05", "2025-06-15", "2026-03-20"];

fn commune_code(col: usize, row: usize) -> String {
    format!("040{:02}", row * 5 + col)
}

fn square(w: f64, s: f64, side: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[w, s], [w + side, s], [w + side, s + side], [w, s + side], [w, s]]] })
}

/// Province 14 and its 25 communes, imported through the CLI like the fixtures.
fn import_province_14(data: &DataDir, dir: &Path) {
    let province = json!({ "type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": { "code": P14, "name": "Sơn La (mẫu)", "level": "province" },
        "geometry": square(P14_W, P14_S, 5.0 * P14_STEP),
    }]});
    let mut communes = Vec::new();
    for row in 0..5 {
        for col in 0..5 {
            communes.push(json!({
                "type": "Feature",
                "properties": {
                    "code": commune_code(col, row),
                    "name": format!("Xã mẫu {}", row * 5 + col + 1),
                    "province_code": P14,
                    "level": "commune",
                },
                "geometry": square(
                    P14_W + col as f64 * P14_STEP,
                    P14_S + row as f64 * P14_STEP,
                    P14_STEP,
                ),
            }));
        }
    }
    let communes = json!({ "type": "FeatureCollection", "features": communes });
    for (name, fc, level) in [
        ("p14.geojson", province, "province"),
        ("c14.geojson", communes, "commune"),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, fc.to_string()).expect("write boundaries");
        data.run_ok(
            &["import", "boundaries"],
            &[common::path_str(&file), "--level", level],
        );
    }
}

/// The hotspots of province 14 as CSV rows (lon,lat,name,kind,status,reported_on).
fn hotspots_14() -> String {
    let mut csv = String::from("lon,lat,name,kind,status,reported_on\n");
    let centre = |col: usize, row: usize| {
        (
            P14_W + (col as f64 + 0.5) * P14_STEP,
            P14_S + (row as f64 + 0.5) * P14_STEP,
        )
    };
    for row in 0..3 {
        for col in 0..3 {
            let (x, y) = centre(col, row);
            let spread = SPREAD.contains(&(col, row));
            for (i, on) in REPORTED_14.iter().enumerate() {
                // ~2 km apart when spread, else ~20 m: corners of a small square.
                let d = if spread { 0.02 } else { 0.0002 };
                let (dx, dy) = [(-d, -d), (d, -d), (d, d), (-d, d)][i];
                csv.push_str(&format!(
                    "{},{},Điểm mẫu {} {i},diem_nong,reported,{on}\n",
                    x + dx,
                    y + dy,
                    commune_code(col, row)
                ));
            }
        }
    }
    for (col, row) in LONE {
        let (x, y) = centre(*col, *row);
        csv.push_str(&format!(
            "{x},{y},Điểm mẫu lẻ {},diem_ban_le,reported,2025-01-15\n",
            commune_code(*col, *row)
        ));
    }
    csv
}

fn get_json(server: &TestServer, token: &str, path: &str) -> Value {
    let r = server.get(path, Some(token));
    assert_eq!(r.status, 200, "{path}: {}", r.describe());
    r.json()
}

fn kpis(server: &TestServer, token: &str, query: &str) -> Value {
    let r = server.get(&format!("/v1/reports/kpis?{query}"), Some(token));
    assert_eq!(r.status, 200, "{query}: {}", r.describe());
    r.json()
}

#[test]
fn a_province_08_analyst_reads_the_dashboard_in_headless_chromium() {
    let Some((browser_dir, script)) = common::browser_script("dashboard.mjs") else {
        return;
    };
    let work = tempfile::Builder::new()
        .prefix("vigil-web-dashboard-")
        .tempdir()
        .expect("tempdir");

    let data = DataDir::with_boundaries();
    import_province_14(&data, work.path());
    // A drone flight over province 08 in January 2026, so the cultivation and coverage cards show
    // real figures (the script compares every card with the API).
    let scene = common::sample_scene(work.path(), "bay", "9003", "105.2,22.0");
    common::ingest_scene(&data, &scene, "Bay Minh Quang", "2026-01-10T08:00:00Z");
    let server = TestServer::serve(data);
    let analyst = server.add_user("lan", "analyst", &[TUYEN_QUANG], false);
    let national = server.add_user("minh", "analyst", &[], true);
    let admin = server.add_user("admin", "admin", &[], true);

    let history: Vec<common::DatedHotspot<'_>> = HISTORY
        .iter()
        .map(|&(at, kind, on, steps)| (at, kind, on, steps.to_vec()))
        .collect();
    server.import_dated_hotspots(&admin, &history);
    // A border guard confirms a flag of the flight and records its eradication in January.
    let reviewer = server.add_user("bp08", "reviewer", &[TUYEN_QUANG], false);
    let flags = get_json(&server, &reviewer, "/collections/flags/items?limit=1000");
    let flag = flags["features"]
        .as_array()
        .and_then(|f| f.first())
        .unwrap_or_else(|| panic!("the flight raised no flag: {flags}"))
        .clone();
    let class = flag["properties"]["class"].as_str().unwrap().to_string();
    for body in [
        json!({ "decision": format!("confirmed_{class}"), "version": 1 }),
        json!({ "decision": "eradicated", "version": 2, "eradicated_on": "2026-01-20",
                "area_destroyed_m2": 60.0, "team": "Đồn Biên phòng 1" }),
    ] {
        let r = server.send_json(
            "POST",
            &format!("/v1/flags/{}/decisions", flag["id"]),
            Some(&reviewer),
            &body,
        );
        assert_eq!(r.status, 201, "{body}: {}", r.describe());
    }
    let r = server.send_json(
        "POST",
        "/v1/communes/02200/drug-free",
        Some(&analyst),
        &json!({ "year": 2026, "drug_free": true, "decision_ref": "QĐ 123/QĐ-UBND", "decided_on": "2026-05-15" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());

    let csv14 = hotspots_14();
    let r = server.request(
        "POST",
        "/v1/import/hotspots",
        Some(&admin),
        &[("Content-Type", "text/csv")],
        Some(csv14.as_bytes()),
    );
    assert_eq!(r.status, 200, "import 14: {}", r.describe());

    // The hotspot analysis the page must draw for 14 (the script compares it with the API too).
    let gi = get_json(
        &server,
        &national,
        "/v1/analytics/gistar?province=14&grid=commune&permutations=999",
    );
    let hot = gi["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["id"] == HOT_COMMUNE)
        .unwrap_or_else(|| panic!("no Gi* unit {HOT_COMMUNE}: {gi}"));
    assert_eq!(hot["properties"]["value"], 4.0, "{hot}");
    assert!(
        hot["properties"]["class_fdr"]
            .as_str()
            .is_some_and(|c| c.starts_with("hot_")),
        "commune {HOT_COMMUNE} is not a Gi* hot spot: {hot}"
    );
    let clusters = get_json(
        &server,
        &national,
        "/v1/analytics/clusters?province=14&eps_m=150&min_points=3",
    );
    assert_eq!(
        clusters["features"].as_array().map(Vec::len),
        Some(CLUSTERS_14),
        "{clusters}"
    );
    let emerging = get_json(
        &server,
        &national,
        "/v1/analytics/emerging?province=14&grid=commune&step=quarter&periods=12&measure=active",
    );
    assert_eq!(
        emerging["periods"].as_array().map(Vec::len),
        Some(12),
        "{emerging}"
    );
    assert_eq!(
        emerging["features"].as_array().map(Vec::len),
        Some(25),
        "{emerging}"
    );
    let tj = get_json(
        &server,
        &national,
        "/v1/analytics/density.json?province=14&bandwidth_m=1000",
    );
    assert!(tj["vigil:max"].as_f64().is_some_and(|m| m > 0.0), "{tj}");

    // The known answers the page must show (the script also compares every card with the API).
    let h1 = kpis(&server, &analyst, "period=2026-H1&province=08");
    assert_eq!(h1["kpis"]["hotspots_new"]["value"], 4, "{h1:#}");
    assert_eq!(h1["kpis"]["hotspots_new"]["status"], "red");
    assert_eq!(h1["kpis"]["drug_free_share"]["value"], 50.0);
    let ha = |key: &str| h1["kpis"][key]["value"].as_f64().unwrap_or(0.0);
    assert!(ha("cultivation_flagged_ha") > 0.0, "{h1:#}");
    assert_eq!(h1["kpis"]["cultivation_eradicated_ha"]["value"], 0.006);
    assert_eq!(h1["kpis"]["cultivation_eradicated_share"]["value"], 100.0);
    assert!(ha("survey_km2") > 0.0, "{h1:#}");
    let march = kpis(&server, &analyst, "period=2026-03&province=08");
    assert_eq!(march["kpis"]["hotspots_new"]["value"], 1);

    // VIGIL_KEEP_SCREENSHOTS=DIR keeps them for a person to look at.
    let shots = std::env::var_os("VIGIL_KEEP_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| work.path().to_path_buf());
    let screenshot = shots.join("dashboard.png");
    let (out, timed_out) = common::run_with_timeout(
        Command::new("node")
            .arg(&script)
            .current_dir(&browser_dir)
            .env("VIGIL_URL", server.base_url())
            .env("VIGIL_TOKEN", &analyst)
            .env("VIGIL_NATIONAL_TOKEN", &national)
            .env("VIGIL_HOT_PROVINCE", P14)
            .env("VIGIL_HOT_COMMUNE", HOT_COMMUNE)
            .env("VIGIL_SCREENSHOT", &screenshot),
        SCRIPT_TIMEOUT,
    );
    if timed_out || !out.status.success() {
        let kept = work.keep();
        panic!(
            "node tests/browser/dashboard.mjs {}\n{}\nscreenshots (if taken): {} (and dashboard-hotspots.png beside it)\n\
             --- server stderr ---\n{}",
            if timed_out {
                format!("timed out after {SCRIPT_TIMEOUT:?}")
            } else {
                "failed".to_string()
            },
            describe_output(&out),
            kept.join("dashboard.png").display(),
            server.stderr()
        );
    }
    println!("{}", String::from_utf8_lossy(&out.stdout));
}
