//! The dashboard of the web map (issue 6, item 3) in a real headless Chromium, against the real
//! `vigil serve`: runs `tests/browser/dashboard.mjs` (Playwright) as an analyst of province 08, who
//! opens the dashboard, reads the KPI cards (the same numbers, ratings and texts as
//! `/v1/reports/kpis`), changes the period, reads the chart over time and the commune choropleth,
//! and downloads the PDF report. The script does the checking and exits non-zero on a failure;
//! this test prepares a history with known answers (the hotspot history of `tests/reports.rs`,
//! without the drone flight) and shows the script's output when it fails, keeping its temporary
//! directory with the screenshot.
//!
//! Needs `node`, `tests/browser/node_modules/playwright-core` and `/usr/bin/chromium`; a missing
//! one fails the test with a hint to run `make test`, unless `VIGIL_SKIP_EXTERNAL=1`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use common::{
    DataDir, TUYEN_QUANG, TestServer, describe_output, external_tool_missing, manifest_dir, runs,
};

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

fn kpis(server: &TestServer, token: &str, query: &str) -> Value {
    let r = server.get(&format!("/v1/reports/kpis?{query}"), Some(token));
    assert_eq!(r.status, 200, "{query}: {}", r.describe());
    r.json()
}

#[test]
fn a_province_08_analyst_reads_the_dashboard_in_headless_chromium() {
    let browser_dir = manifest_dir().join("tests/browser");
    let script = browser_dir.join("dashboard.mjs");
    if external_tool_missing(runs("node", &["--version"]), "node")
        || external_tool_missing(
            browser_dir.join("node_modules/playwright-core").is_dir(),
            "playwright-core (tests/browser/node_modules, from `npm ci` in tests/browser)",
        )
        || external_tool_missing(
            Path::new("/usr/bin/chromium").exists(),
            "chromium (/usr/bin/chromium)",
        )
    {
        return;
    }
    assert!(script.is_file(), "{} is missing", script.display());
    let work = tempfile::Builder::new()
        .prefix("vigil-web-dashboard-")
        .tempdir()
        .expect("tempdir");

    let data = DataDir::with_boundaries();
    let server = TestServer::serve(data);
    let analyst = server.add_user("lan", "analyst", &[TUYEN_QUANG], false);
    let admin = server.add_user("admin", "admin", &[], true);

    let mut csv = String::from("lon,lat,name,kind,status,reported_on\n");
    for (i, ((lon, lat), kind, reported, _)) in HISTORY.iter().enumerate() {
        csv.push_str(&format!(
            "{lon},{lat},Điểm mẫu {i},{kind},reported,{reported}\n"
        ));
    }
    let r = server.request(
        "POST",
        "/v1/import/hotspots",
        Some(&admin),
        &[("Content-Type", "text/csv")],
        Some(csv.as_bytes()),
    );
    assert_eq!(r.status, 200, "import: {}", r.describe());
    let first = r.json()["first_id"].as_i64().expect("first_id");
    for (i, (_, _, _, steps)) in HISTORY.iter().enumerate() {
        for (to, on) in steps.iter() {
            let r = server.send_json(
                "POST",
                &format!("/v1/hotspots/{}/transitions", first + i as i64),
                Some(&admin),
                &json!({ "to": to, "on": on }),
            );
            assert_eq!(r.status, 200, "#{i} → {to} on {on}: {}", r.describe());
        }
    }
    let r = server.send_json(
        "POST",
        "/v1/communes/02200/drug-free",
        Some(&analyst),
        &json!({ "year": 2026, "drug_free": true, "decision_ref": "QĐ 123/QĐ-UBND", "decided_on": "2026-05-15" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());

    // The known answers the page must show (the script also compares every card with the API).
    let h1 = kpis(&server, &analyst, "period=2026-H1&province=08");
    assert_eq!(h1["kpis"]["hotspots_new"]["value"], 4, "{h1:#}");
    assert_eq!(h1["kpis"]["hotspots_new"]["status"], "red");
    assert_eq!(h1["kpis"]["drug_free_share"]["value"], 50.0);
    let march = kpis(&server, &analyst, "period=2026-03&province=08");
    assert_eq!(march["kpis"]["hotspots_new"]["value"], 1);

    let screenshot = work.path().join("dashboard.png");
    let (out, timed_out) = common::run_with_timeout(
        Command::new("node")
            .arg(&script)
            .current_dir(&browser_dir)
            .env("VIGIL_URL", server.base_url())
            .env("VIGIL_TOKEN", &analyst)
            .env("VIGIL_SCREENSHOT", &screenshot),
        SCRIPT_TIMEOUT,
    );
    if timed_out || !out.status.success() {
        let kept = work.keep();
        panic!(
            "node tests/browser/dashboard.mjs {}\n{}\nscreenshot (if one was taken): {}\n\
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
