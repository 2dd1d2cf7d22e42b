//! Reports end to end through the real binary (issue 6): a seeded three-year history of
//! hotspots with dated lifecycle steps, drug-free records (one overturned), a drone survey whose
//! flags are reviewed and one eradicated; then exact KPI numbers for 2026-H1 and 2025 with the
//! previous period's values and the ratings, a province's own target from `vigil.toml`,
//! jurisdiction scoping, the choropleth, and the report files — CSV, XLSX (read back with
//! calamine), HTML and PDF (read back with `pdftotext`) — reconciled with the JSON KPIs and
//! with the layers' counts for the same filters. A second history of review decisions with chosen
//! dates checks that cultivation counts each flag's status on the period's last day.

mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use common::{DataDir, TestServer, external_tool_missing, path_str, runs};
use serde_json::{Value, json};

/// Hotspots: (commune point, kind, reported_on, dated steps). Commune A is 02200, B 02201 (both
/// in province 08), C 07000 in province 24.
const A: (f64, f64) = (105.0, 22.0);
const B: (f64, f64) = (105.4, 22.0);
const C: (f64, f64) = (106.1, 21.2);

#[allow(clippy::type_complexity)]
fn history() -> Vec<(
    (f64, f64),
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
)> {
    vec![
        (
            A,
            "diem_nong",
            "2024-03-10",
            vec![("eliminated", "2024-09-01")],
        ),
        (
            A,
            "diem_ban_le",
            "2024-05-05",
            vec![("verifying", "2025-02-01"), ("eliminated", "2025-03-15")],
        ),
        (
            A,
            "diem_nong",
            "2025-01-20",
            vec![("eliminated", "2025-04-10"), ("reemerged", "2026-02-01")],
        ),
        (
            B,
            "tu_diem_su_dung",
            "2025-06-01",
            vec![("eliminated", "2025-08-20")],
        ),
        (
            B,
            "diem_nong",
            "2026-01-05",
            vec![("verifying", "2026-01-20"), ("eliminated", "2026-05-30")],
        ),
        (
            B,
            "diem_ban_le",
            "2026-03-03",
            vec![("eliminated", "2026-04-04")],
        ),
        (A, "diem_nong", "2026-02-14", vec![]),
        (
            A,
            "boong_ke",
            "2026-06-30",
            vec![("eliminated", "2026-07-02")],
        ),
        (B, "khac", "2026-08-01", vec![]),
        (
            C,
            "diem_nong",
            "2026-01-10",
            vec![("eliminated", "2026-02-10")],
        ),
        (
            A,
            "diem_ban_le",
            "2025-03-01",
            vec![
                ("eliminated", "2025-06-15"),
                ("reemerged", "2025-12-01"),
                ("eliminated", "2026-03-01"),
            ],
        ),
    ]
}

/// The review tests' seeded scene (`common::review_scene`).
fn scene(dir: &Path) -> String {
    common::review_scene(dir)
}

fn ok_json(r: common::Response, what: &str) -> Value {
    assert_eq!(r.status, 200, "{what}: {}", r.describe());
    r.json()
}

fn kpis(server: &TestServer, token: &str, query: &str) -> Value {
    ok_json(
        server.get(&format!("/v1/reports/kpis?{query}"), Some(token)),
        query,
    )
}

fn value(k: &Value, key: &str) -> Value {
    k["kpis"][key]["value"].clone()
}

fn round(x: f64, d: i32) -> f64 {
    let p = 10f64.powi(d);
    (x * p).round() / p
}

fn matched(server: &TestServer, token: &str, path: &str) -> u64 {
    ok_json(server.get(path, Some(token)), path)["numberMatched"]
        .as_u64()
        .unwrap()
}

#[test]
fn reports_count_a_seeded_history_exactly_and_reconcile_with_the_layers() {
    let scratch = tempfile::tempdir().unwrap();
    let tif = scene(scratch.path());
    let data = DataDir::with_boundaries();
    // Tuyên Quang's own drug-free target for 2026 (the default is 40 %).
    data.write_config("[targets.provinces.\"08\"]\ndrug_free_share = { 2026 = 0.6 }\n");
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-01-10T08:00:00Z"],
    );
    // A drug-free record through the CLI (audited as the local operator).
    data.run_ok(
        &["communes", "drug-free"],
        &[
            "--commune",
            "02200",
            "--year",
            "2025",
            "--decision-ref",
            "QĐ 45/QĐ-UBND",
            "--decided-on",
            "2025-12-20",
        ],
    );
    let server = TestServer::serve(data);
    let analyst = server.add_user("lan", "analyst", &["08"], false);
    let other = server.add_user("binh", "analyst", &["24"], false);
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let viewer = server.add_user("ld08", "viewer", &["08"], false);
    let admin = server.add_user("admin", "admin", &[], true);

    // The registry: import, then the dated lifecycle.
    server.import_dated_hotspots(&admin, &history());

    // Drug-free records: 02200 for 2026; 02201 recorded, then overturned (the newest is in force).
    let record = |token: &str, commune: &str, body: Value| {
        server.send_json(
            "POST",
            &format!("/v1/communes/{commune}/drug-free"),
            Some(token),
            &body,
        )
    };
    let r = record(
        &analyst,
        "02200",
        json!({ "year": 2026, "drug_free": true, "decision_ref": "QĐ 123/QĐ-UBND", "decided_on": "2026-05-15" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    assert_eq!(r.json()["status"], "drug_free");
    let r = record(
        &analyst,
        "02201",
        json!({ "year": 2026, "drug_free": true, "decision_ref": "QĐ 124/QĐ-UBND" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    let r = record(
        &analyst,
        "02201",
        json!({ "year": 2026, "drug_free": false, "decision_ref": "QĐ 130/QĐ-UBND (thu hồi)", "decided_on": "2026-06-01" }),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    // Refusals change nothing: wrong role, other province, unknown commune, bad fields.
    let good = json!({ "year": 2026, "drug_free": true, "decision_ref": "QĐ 9" });
    assert_eq!(record(&reviewer, "02200", good.clone()).status, 403);
    assert_eq!(record(&viewer, "02200", good.clone()).status, 403);
    assert_eq!(record(&other, "02200", good.clone()).status, 404);
    assert_eq!(record(&analyst, "99999", good.clone()).status, 404);
    for bad in [
        json!({ "year": 2026, "drug_free": true, "decision_ref": "  " }),
        json!({ "year": 1990, "drug_free": true, "decision_ref": "QĐ 1" }),
        json!({ "year": 2026, "drug_free": true, "decision_ref": "QĐ 1", "decided_on": "2099-01-01" }),
        json!({ "year": 2026, "drug_free": true, "decision_ref": "QĐ 1", "colour": "red" }),
    ] {
        let r = record(&analyst, "02200", bad.clone());
        assert_eq!(r.status, 422, "{bad}: {}", r.describe());
    }
    let h = ok_json(
        server.get("/v1/communes/02201/drug-free", Some(&viewer)),
        "history",
    );
    let statuses: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["drug_free", "not_drug_free"]);
    assert_eq!(
        server
            .get("/v1/communes/02201/drug-free", Some(&other))
            .status,
        404
    );
    let audit = ok_json(
        server.get("/v1/audit?entity=commune_drug_free", Some(&admin)),
        "audit",
    );
    assert_eq!(
        audit["entries"].as_array().unwrap().len(),
        4,
        "every record is audited (CLI + 3 API), refusals are not: {audit}"
    );

    // Flags of the flight: confirm a poppy plot and eradicate it, confirm another, reject a third.
    let layer = ok_json(
        server.get("/collections/flags/items?limit=1000", Some(&admin)),
        "flags",
    );
    let flags = layer["features"].as_array().unwrap().clone();
    assert!(flags.len() >= 3, "{layer}");
    let a = flags
        .iter()
        .find(|f| f["properties"]["class"] == "poppy")
        .expect("a poppy flag")
        .clone();
    let rest: Vec<&Value> = flags.iter().filter(|f| f["id"] != a["id"]).collect();
    let (b, c) = (rest[0].clone(), rest[1].clone());
    let decide = |f: &Value, body: Value| -> Value {
        let r = server.send_json(
            "POST",
            &format!("/v1/flags/{}/decisions", f["id"]),
            Some(&reviewer),
            &body,
        );
        assert_eq!(r.status, 201, "{body}: {}", r.describe());
        r.json()
    };
    let made = decide(&a, json!({ "decision": "confirmed_poppy", "version": 1 }));
    // Decisions are dated when they are made (today, UTC): a period that ended before counts
    // these flags as they were then (found, not reviewed yet), one ending today or later as now.
    let decided_on = made["decision"]["decided_at"].as_str().unwrap()[..10].to_string();
    let reviewed_by = |last_day: &str| decided_on.as_str() <= last_day;
    decide(
        &a,
        json!({ "decision": "eradicated", "version": 2, "eradicated_on": "2026-01-20", "area_destroyed_m2": 60.0, "team": "Đồn Biên phòng 1" }),
    );
    let b_class = b["properties"]["class"].as_str().unwrap();
    decide(
        &b,
        json!({ "decision": format!("confirmed_{b_class}"), "version": 1 }),
    );
    decide(
        &c,
        json!({ "decision": "false_positive", "version": 1, "reason": "lookalike_crop" }),
    );
    let area = |f: &Value| f["properties"]["area_m2"].as_f64().unwrap();
    let all_m2: f64 = flags.iter().map(area).sum();
    let confirmed_m2 = area(&a) + area(&b);
    let share = round(area(&a) / confirmed_m2 * 100.0, 1);

    // ---- 2026-H1 in Tuyên Quang (08), read by its analyst --------------------------------------
    let k = kpis(&server, &analyst, "period=2026-H1&province=08");
    assert_eq!(k["area"]["code"], "08");
    assert_eq!(k["area"]["name"], "Tuyên Quang");
    assert_eq!(
        (k["period"]["from"].clone(), k["period"]["to"].clone()),
        (json!("2026-01-01"), json!("2026-06-30"))
    );
    assert_eq!(k["previous_period"]["code"], "2025-H2");
    assert_eq!(k["same_period_last_year"]["code"], "2025-H1");
    // (key, value, previous, status)
    let expected = [
        ("hotspots_new", json!(4), json!(0), "red"),
        ("hotspots_eliminated", json!(3), json!(1), "info"),
        (
            "hotspots_elimination_growth",
            json!(0.0),
            json!(0.0),
            "amber",
        ),
        ("hotspots_reemerged", json!(1), json!(1), "red"),
        ("hotspots_active_end", json!(3), json!(1), "info"),
        (
            "diem_nong_eliminated_share",
            json!(50.0),
            json!(100.0),
            "red",
        ),
        // 1 of 2 communes; 08's own target is 60 %: within 10 points.
        ("drug_free_share", json!(50.0), json!(50.0), "amber"),
        (
            "cultivation_eradicated_ha",
            json!(0.006),
            json!(0.0),
            "info",
        ),
        ("cultivation_replanting", json!(0), json!(0), "green"),
        ("history_communes_not_flown", json!(0), json!(0), "green"),
    ];
    for (key, v, prev, status) in expected {
        let kpi = &k["kpis"][key];
        assert_eq!(kpi["value"], v, "{key}: {kpi}");
        assert_eq!(kpi["previous"], prev, "{key} previous: {kpi}");
        assert_eq!(kpi["status"], status, "{key} status: {kpi}");
    }
    assert_eq!(k["kpis"]["hotspots_eliminated"]["same_period_last_year"], 3);
    assert_eq!(k["kpis"]["drug_free_share"]["target"]["value"], 60.0);
    assert_eq!(
        k["kpis"]["diem_nong_eliminated_share"]["target"]["value"],
        80.0
    );
    assert_eq!(
        k["kpis"]["diem_nong_eliminated_share"]["detail"],
        "2/4 điểm nóng"
    );
    assert_eq!(
        value(&k, "cultivation_flagged_ha"),
        json!(round(all_m2 / 1e4, 4))
    );
    // Reviewed after H1: only `a` counts, as eradicated on 20 January (its field date), so it was
    // confirmed cultivation then, all of it destroyed.
    let (h1_confirmed_m2, h1_share, h1_rating) = if reviewed_by("2026-06-30") {
        (confirmed_m2, json!(share), "red")
    } else {
        (area(&a), json!(100.0), "green")
    };
    assert_eq!(
        value(&k, "cultivation_confirmed_ha"),
        json!(round(h1_confirmed_m2 / 1e4, 4))
    );
    assert_eq!(value(&k, "cultivation_eradicated_share"), h1_share);
    assert_eq!(
        k["kpis"]["cultivation_eradicated_share"]["status"],
        h1_rating
    );
    let km2 = value(&k, "survey_km2").as_f64().unwrap();
    assert!((0.001..=0.0027).contains(&km2), "a 51 m flight: {km2} km²");
    assert_eq!(k["totals"]["crops"][0]["eradicated"], 1);
    assert_eq!(k["totals"]["crops"][0]["destroyed_m2"], 60.0);

    // The breakdown adds up to the province.
    let rows = k["breakdown"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["code"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["02200", "02201"]
    );
    let a_row = &rows[0];
    assert_eq!(a_row["tally"]["hotspots_new"], 2); // #7, #8
    assert_eq!(a_row["tally"]["hotspots_eliminated"], 1); // #11
    assert_eq!(rows[1]["tally"]["hotspots_new"], 2); // #5, #6
    assert_eq!(a_row["drug_free"]["decision_ref"], "QĐ 123/QĐ-UBND");
    assert_eq!(rows[1]["drug_free"]["status"], "not_drug_free");
    for key in [
        "hotspots_new",
        "hotspots_eliminated",
        "hotspots_reemerged",
        "hotspots_active_end",
    ] {
        let sum: u64 = rows.iter().map(|r| r["tally"][key].as_u64().unwrap()).sum();
        assert_eq!(json!(sum), value(&k, key), "{key}");
    }

    // A year with growth: 2025 eliminated 4 against 1 in 2024 (+300 %).
    let y = kpis(&server, &viewer, "period=2025&province=08");
    assert_eq!(value(&y, "hotspots_eliminated"), 4);
    assert_eq!(value(&y, "hotspots_elimination_growth"), 300.0);
    assert_eq!(y["kpis"]["hotspots_elimination_growth"]["status"], "green");
    assert_eq!(value(&y, "drug_free_share"), 50.0); // 02200 for 2025, through the CLI
    assert_eq!(y["kpis"]["drug_free_share"]["target"], Value::Null);
    // 2026-H2: the season that began in September has no flight, so the communes where
    // cultivation was confirmed are "not flown".
    let h2 = kpis(&server, &analyst, "period=2026-H2&province=08");
    let history_communes: std::collections::BTreeSet<&str> = [&a, &b]
        .iter()
        .filter_map(|f| f["properties"]["commune_code"].as_str())
        .collect();
    let (not_flown, rating) = if reviewed_by("2026-12-31") {
        (history_communes.len(), "red")
    } else {
        (0, "green")
    };
    assert_eq!(value(&h2, "history_communes_not_flown"), json!(not_flown));
    assert_eq!(h2["kpis"]["history_communes_not_flown"]["status"], rating);
    assert_eq!(value(&h2, "hotspots_new"), 1); // #9
    // A month and a range.
    assert_eq!(
        value(
            &kpis(&server, &analyst, "period=2026-03&province=08"),
            "hotspots_new"
        ),
        1
    );
    assert_eq!(
        value(
            &kpis(
                &server,
                &analyst,
                "period=2026-01-01..2026-01-31&commune=02201"
            ),
            "hotspots_new"
        ),
        1
    );

    // ---- Reconciliation with the layers (same filters) ------------------------------------------
    let year = kpis(&server, &analyst, "period=2026&province=08");
    assert_eq!(
        json!(matched(
            &server,
            &analyst,
            "/collections/hotspots/items?limit=1&province=08&status=reported,verifying,reemerged"
        )),
        value(&year, "hotspots_active_end"),
        "active at the end of a period not over yet = the layer's active hotspots now"
    );
    assert_eq!(
        json!(matched(
            &server,
            &analyst,
            "/collections/hotspots/items?limit=1&province=08&datetime=2026-01-01/2026-06-30"
        )),
        value(&k, "hotspots_new")
    );
    let flagged = matched(
        &server,
        &analyst,
        "/collections/flags/items?limit=1&province=08&datetime=2026-01-01/2026-06-30",
    );
    let t = &k["totals"]["crops"];
    assert_eq!(
        flagged,
        t[0]["flagged"].as_u64().unwrap() + t[1]["flagged"].as_u64().unwrap()
    );
    // Confirmed flags by today's status: the layer's status filter = a period ending today.
    let to_today = kpis(
        &server,
        &analyst,
        &format!("period=2026-01-01..{decided_on}&province=08"),
    );
    let confirmed = matched(
        &server,
        &analyst,
        &format!(
            "/collections/flags/items?limit=1&province=08&datetime=2026-01-01/{decided_on}\
             &status=confirmed_poppy,confirmed_cannabis,verified_in_field,eradicated"
        ),
    );
    let t = &to_today["totals"]["crops"];
    assert_eq!(
        confirmed,
        t[0]["confirmed"].as_u64().unwrap() + t[1]["confirmed"].as_u64().unwrap()
    );
    assert_eq!(confirmed, 2);
    assert_eq!(
        value(&to_today, "cultivation_confirmed_ha"),
        json!(round(confirmed_m2 / 1e4, 4))
    );
    assert_eq!(value(&to_today, "cultivation_eradicated_share"), share);

    // ---- Jurisdiction ------------------------------------------------------------------------
    for path in [
        "/v1/reports/kpis?period=2026-H1&province=08",
        "/v1/reports/kpis?period=2026-H1&commune=02200",
        "/v1/reports/communes?period=2026-H1&province=08",
        "/v1/reports/report.pdf?period=2026-H1&province=08",
        "/v1/reports/kpis?period=2026-H1&province=99",
    ] {
        assert_eq!(server.get(path, Some(&other)).status, 404, "{path}");
    }
    // Bắc Ninh's analyst gets Bắc Ninh: one new hotspot (#10), nothing of Tuyên Quang.
    let own = kpis(&server, &other, "period=2026-H1");
    assert_eq!(own["area"]["code"], "24");
    assert_eq!(value(&own, "hotspots_new"), 1);
    assert_eq!(value(&own, "cultivation_flagged_ha"), 0.0);
    for bad in [
        "/v1/reports/kpis",
        "/v1/reports/kpis?period=2026-H3&province=08",
        "/v1/reports/kpis?period=2026&province=08&commune=02200",
        "/v1/reports/kpis?period=2026&colour=red",
    ] {
        assert_eq!(server.get(bad, Some(&analyst)).status, 400, "{bad}");
    }
    assert_eq!(
        server
            .get("/v1/reports/report.docx?period=2026", Some(&analyst))
            .status,
        404
    );
    // The whole country for national users, by province.
    let national = kpis(&server, &admin, "period=2026-H1");
    assert_eq!(national["area"]["level"], "national");
    assert_eq!(national["breakdown_level"], "province");
    assert_eq!(value(&national, "hotspots_new"), 5);

    let api = ok_json(server.get("/api", Some(&viewer)), "/api");
    for path in [
        "/v1/communes/{code}/drug-free",
        "/v1/reports/kpis",
        "/v1/reports/communes",
        "/v1/reports/{file}",
    ] {
        assert!(
            api["paths"][path].is_object(),
            "{path} is not in the OpenAPI document"
        );
    }

    // ---- Choropleth ----------------------------------------------------------------------------
    let fc = ok_json(
        server.get(
            "/v1/reports/communes?period=2026-H1&province=08",
            Some(&viewer),
        ),
        "communes",
    );
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert_eq!(features[0]["properties"]["code"], "02200");
    assert_eq!(features[0]["properties"]["hotspots_new"], 2);
    assert_eq!(features[0]["properties"]["drug_free"], true);
    assert_eq!(features[1]["properties"]["drug_free"], false);
    assert_eq!(features[0]["geometry"]["type"], "MultiPolygon");
    // Without outlines (the web map draws them from the communes' vector tiles): the same values
    // and each commune's bbox, which holds its outline.
    let lean = ok_json(
        server.get(
            "/v1/reports/communes?period=2026-H1&province=08&geometry=false",
            Some(&viewer),
        ),
        "communes without geometry",
    );
    let lean = lean["features"].as_array().unwrap();
    assert_eq!(lean.len(), features.len());
    for (a, b) in lean.iter().zip(features) {
        assert!(a["geometry"].is_null(), "{a}");
        assert_eq!(a["properties"], b["properties"]);
        assert_eq!(a["bbox"], b["bbox"]);
        let bb: Vec<f64> = a["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for ring in b["geometry"]["coordinates"].as_array().unwrap() {
            for c in ring
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap())
            {
                let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
                assert!(
                    bb[0] <= x && x <= bb[2] && bb[1] <= y && y <= bb[3],
                    "{c} outside {bb:?}"
                );
            }
        }
    }
    let bad = server.get(
        "/v1/reports/communes?period=2026-H1&province=08&geometry=no",
        Some(&viewer),
    );
    assert_eq!(bad.status, 400, "{}", bad.describe());
    assert!(bad.text().contains("geometry"), "{}", bad.text());

    // ---- Files: CSV = JSON, XLSX = JSON, HTML and PDF show the same figures -----------------------
    let csv = server.get(
        "/v1/reports/report.csv?period=2026-H1&province=08",
        Some(&viewer),
    );
    assert_eq!(csv.status, 200, "{}", csv.describe());
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("bao-cao-08-2026-H1.csv")
    );
    let text = csv.text();
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut area_rows = 0;
    let mut commune_sums: std::collections::HashMap<String, f64> = Default::default();
    for rec in reader.records() {
        let rec = rec.unwrap();
        let (level, key, now) = (&rec[0], &rec[3], &rec[6]);
        if level == "province" {
            area_rows += 1;
            let json_value = &k["kpis"][key]["value"];
            match json_value.as_f64() {
                Some(v) => assert_eq!(now.parse::<f64>().unwrap(), v, "CSV {key}"),
                None => assert_eq!(now, "", "CSV {key}"),
            }
            assert_eq!(
                &rec[11],
                k["kpis"][key]["status"].as_str().unwrap(),
                "CSV {key}"
            );
        } else if level == "commune" && !now.is_empty() {
            *commune_sums.entry(key.to_string()).or_default() += now.parse::<f64>().unwrap();
        }
    }
    assert_eq!(area_rows, k["kpis"].as_object().unwrap().len());
    assert_eq!(commune_sums["hotspots_new"], 4.0);
    assert_eq!(commune_sums["hotspots_active_end"], 3.0);

    // The CLI writes the same CSV (it has no generation time in it).
    let cli = server.data.run_ok(
        &["report"],
        &["--period", "2026-H1", "--province", "08", "--format", "csv"],
    );
    assert_eq!(
        cli.stdout, csv.body,
        "vigil report --format csv = GET report.csv"
    );

    let xlsx = server.get(
        "/v1/reports/report.xlsx?period=2026-H1&province=08",
        Some(&viewer),
    );
    assert_eq!(xlsx.status, 200, "{}", xlsx.describe());
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx.body.clone())).unwrap();
    let names = wb.sheet_names().to_vec();
    assert_eq!(names[0], "Báo cáo", "{names:?}");
    let sheet = wb.worksheet_range("Chỉ tiêu").unwrap();
    let mut seen = 0;
    for (i, row) in sheet.rows().skip(1).enumerate() {
        let kpi = k["kpis"]
            .as_object()
            .unwrap()
            .values()
            .find(|v| v["label"] == row[1].to_string())
            .unwrap_or_else(|| panic!("row {i}: {:?}", row[1]));
        match (&row[3], kpi["value"].as_f64()) {
            (Data::Float(x), Some(v)) => assert_eq!(*x, v, "XLSX {}", kpi["key"]),
            (Data::String(s), None) => assert_eq!(s, "", "XLSX {}", kpi["key"]),
            // No value: an empty string cell, which calamine reads back as empty.
            (Data::Empty, None) => {}
            (cell, v) => panic!("XLSX {}: {cell:?} vs {v:?}", kpi["key"]),
        }
        seen += 1;
    }
    assert_eq!(seen, k["kpis"].as_object().unwrap().len());
    let by_commune = wb.worksheet_range("Theo xã").unwrap();
    let total = by_commune.rows().next_back().unwrap();
    assert_eq!(total[2].to_string(), "Tổng cộng");
    assert_eq!(total[3], Data::Float(4.0), "new hotspots in the total row");
    assert_eq!(
        total[6],
        Data::Float(3.0),
        "active hotspots in the total row"
    );

    let html = server.get(
        "/v1/reports/report.html?period=2026-H1&province=08",
        Some(&viewer),
    );
    assert_eq!(html.status, 200);
    let page = html.text();
    for needle in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Kết quả công tác phòng, chống ma túy 6 tháng đầu năm 2026",
        "Công an tỉnh Tuyên Quang",
        "QĐ 123/QĐ-UBND",
        "2/4 điểm nóng",
        "Xã Minh Quang",
        "GHI CHÚ VỀ PHƯƠNG PHÁP",
    ] {
        assert!(page.contains(needle), "HTML lacks {needle:?}");
    }

    // The PDF through the CLI, read back with pdftotext.
    if external_tool_missing(runs("pdftotext", &["-v"]), "pdftotext (poppler-utils)") {
        return;
    }
    let pdf = scratch.path().join("r.pdf");
    server.data.run_ok(
        &["report"],
        &[
            "--period",
            "2026-H1",
            "--province",
            "08",
            "--format",
            "pdf",
            "--out",
            path_str(&pdf),
        ],
    );
    let out = Command::new("pdftotext")
        .args([path_str(&pdf), "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "BÁO CÁO",
        "6 tháng đầu năm 2026",
        "Tỷ lệ điểm nóng đã triệt xóa",
        "2/4 điểm nóng",
        "Xã Minh Quang",
        "Phường Minh Xuân",
        "Chưa đạt",
        "không chứa thông tin cá nhân",
    ] {
        assert!(text.contains(needle), "PDF lacks {needle:?}\n{text}");
    }
    // The same figures as the JSON, written the Vietnamese way.
    let share = format!(
        "{:.1}",
        value(&k, "diem_nong_eliminated_share").as_f64().unwrap()
    )
    .replace('.', ",");
    assert!(text.contains(&share), "{share}");
    let api_pdf = server.get(
        "/v1/reports/report.pdf?period=2026-H1&province=08",
        Some(&viewer),
    );
    assert_eq!(api_pdf.status, 200);
    assert!(api_pdf.body.starts_with(b"%PDF-"));
}

/// Appends a review decision with a chosen date (the API dates decisions "now") and moves the
/// flag to its status, as `POST /v1/flags/{id}/decisions` does in one transaction.
fn record_decision(
    db: &vigil::store::Db<'_>,
    flag: i64,
    to: &str,
    decided_at: &str,
    eradication: Option<(&str, f64)>,
) {
    let (from, version): (String, i64) = db
        .query_row(
            "SELECT status, version FROM flags WHERE id = ?1",
            [flag],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    db.execute(
        "INSERT INTO flag_decisions (flag_id, decision, from_status, to_status, eradicated_on, \
         area_destroyed_m2, team, actor, decided_at, version) \
         VALUES (?1, ?2, ?3, ?2, ?4, ?5, ?6, 'reviewer', ?7, ?8)",
        vigil::store::sql::params![
            flag,
            to,
            from,
            eradication.map(|e| e.0),
            eradication.map(|e| e.1),
            eradication.map(|_| "Đồn Biên phòng 1"),
            decided_at,
            version + 1
        ],
    )
    .unwrap();
    db.execute(
        "UPDATE flags SET status = ?2, status_at = ?3, version = ?4 WHERE id = ?1",
        vigil::store::sql::params![flag, to, decided_at, version + 1],
    )
    .unwrap();
}

#[test]
fn cultivation_counts_each_flags_status_on_the_periods_last_day() {
    let scratch = tempfile::tempdir().unwrap();
    let tif = scene(scratch.path());
    let data = DataDir::with_boundaries();
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2025-01-20T08:00:00Z"],
    );
    // Three flags of the flight (found in January 2025), reviewed on chosen days:
    // p confirmed in February 2025 and eradicated in August; r confirmed late on 30 June 2025
    // (H1's last day) and eradicated on 30 December 2025 (recorded in 2026); q confirmed only
    // in 2026.
    let store = data.store();
    let db = store.db();
    #[allow(clippy::type_complexity)]
    let flags: Vec<(i64, String, f64, Option<String>)> = db
        .prepare(
            "SELECT id, class, area_m2, commune_code FROM flags WHERE superseded_at IS NULL \
             ORDER BY id",
        )
        .unwrap()
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(flags.len() >= 3, "{flags:?}");
    let all_m2: f64 = flags.iter().map(|f| f.2).sum();
    let (p, r, q) = (&flags[0], &flags[1], &flags[2]);
    let confirm = |f: &(i64, String, f64, Option<String>), at: &str| {
        record_decision(&db, f.0, &format!("confirmed_{}", f.1), at, None)
    };
    confirm(p, "2025-02-14T03:00:00.000Z");
    confirm(r, "2025-06-30T23:59:59.999Z");
    record_decision(
        &db,
        p.0,
        "eradicated",
        "2025-08-15T02:00:00.000Z",
        Some(("2025-08-12", 40.0)),
    );
    confirm(q, "2026-01-15T09:00:00.000Z");
    // r's eradication was done in the field on 30 December and recorded on 10 January: it
    // counts from the day it was done.
    record_decision(
        &db,
        r.0,
        "eradicated",
        "2026-01-10T23:00:00.000Z",
        Some(("2025-12-30", 20.0)),
    );

    drop(store);

    let server = TestServer::serve(data);
    let admin = server.add_user("admin", "admin", &[], true);
    let ha = |m2: f64| json!(round(m2 / 1e4, 4));
    // (period, confirmed flags, confirmed area, eradicated share of it)
    let cases = [
        // Both confirmed by H1's end (r on its very last day), neither eradicated yet.
        ("2025-H1", 2, p.2 + r.2, json!(0.0)),
        // The day before: r was not reviewed yet.
        ("2025-01-01..2025-06-29", 1, p.2, json!(0.0)),
        // The whole year: both eradicated by 31 December (r recorded later, counted by the
        // day it was done); q, confirmed in 2026, is not.
        ("2025", 2, p.2 + r.2, json!(100.0)),
        // The day before r was destroyed: r was still only confirmed.
        (
            "2025-01-01..2025-12-29",
            2,
            p.2 + r.2,
            json!(round(p.2 / (p.2 + r.2) * 100.0, 1)),
        ),
        // Before any decision: flagged, nothing confirmed.
        ("2025-01", 0, 0.0, Value::Null),
        ("2025-Q1", 1, p.2, json!(0.0)),
        // A period reaching into 2026: q confirmed too.
        ("2025-01-01..2026-06-30", 3, p.2 + r.2 + q.2, {
            let share = (p.2 + r.2) / (p.2 + r.2 + q.2) * 100.0;
            json!(round(share, 1))
        }),
    ];
    for (period, confirmed, confirmed_m2, share) in cases {
        let k = kpis(&server, &admin, &format!("period={period}&province=08"));
        let t = &k["totals"]["crops"];
        let count = |key: &str| t[0][key].as_u64().unwrap() + t[1][key].as_u64().unwrap();
        assert_eq!(count("flagged"), flags.len() as u64, "{period}");
        assert_eq!(value(&k, "cultivation_flagged_ha"), ha(all_m2), "{period}");
        assert_eq!(count("confirmed"), confirmed, "{period}");
        assert_eq!(
            value(&k, "cultivation_confirmed_ha"),
            ha(confirmed_m2),
            "{period}"
        );
        assert_eq!(value(&k, "cultivation_eradicated_share"), share, "{period}");
        assert_eq!(
            k["kpis"]["cultivation_confirmed_ha"]["detail"],
            format!("{confirmed} lô"),
            "{period}"
        );
    }
    // Eradications still count by their own date (`eradicated_on`): none in H1, both in 2025.
    assert_eq!(
        value(
            &kpis(&server, &admin, "period=2025-H1&province=08"),
            "cultivation_eradicated_ha"
        ),
        ha(0.0)
    );
    assert_eq!(
        value(
            &kpis(&server, &admin, "period=2025&province=08"),
            "cultivation_eradicated_ha"
        ),
        ha(60.0)
    );
    // Communes with a cultivation history: those of the flags confirmed by the period's end.
    let communes = |fs: &[&(i64, String, f64, Option<String>)]| {
        let set: std::collections::BTreeSet<&str> =
            fs.iter().filter_map(|f| f.3.as_deref()).collect();
        json!(set.len())
    };
    for (period, confirmed) in [
        ("2025-01", vec![]),
        ("2025-H2", vec![p, r]),
        ("2026-H1", vec![p, r, q]),
    ] {
        let k = kpis(&server, &admin, &format!("period={period}&province=08"));
        assert_eq!(
            k["totals"]["history_communes"],
            communes(&confirmed),
            "{period}"
        );
    }
}
