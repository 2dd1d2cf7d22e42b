//! Hotspot statistics served as layers (issue 6, item 2) through the real binary: suggested
//! *tụ điểm* from DBSCAN, kernel density cells and Gi* per commune for a province, scoped to the
//! caller's jurisdiction, and reconciled with the hotspots layer's counts. The statistics
//! themselves are checked against esda, scikit-learn and numpy in `tests/analytics.rs`.

mod common;

use common::{DataDir, TestServer, hotspot_feature};
use serde_json::{Value, json};

#[test]
fn statistics_layers_for_a_province() {
    let dir = tempfile::tempdir().unwrap();
    // Six điểm within ~40 m of each other, and four more about a kilometre apart, in province 08.
    let mut features = Vec::new();
    for i in 0..6 {
        let d = f64::from(i) * 0.00006;
        features.push(hotspot_feature(
            &format!("Cụm {i}"),
            105.2 + d,
            22.0 + d / 2.0,
        ));
    }
    for (i, (dx, dy)) in [(0.01, 0.0), (-0.01, 0.0), (0.0, 0.01), (0.0, -0.01)]
        .iter()
        .enumerate()
    {
        features.push(hotspot_feature(&format!("Lẻ {i}"), 105.2 + dx, 22.0 + dy));
    }
    let file = dir.path().join("h.geojson");
    std::fs::write(
        &file,
        json!({ "type": "FeatureCollection", "features": features }).to_string(),
    )
    .unwrap();
    let data = DataDir::with_boundaries();
    let out = data.import_hotspots(&file, &[]);
    assert!(out.status.success(), "{}", common::describe_output(&out));
    let server = TestServer::serve(data);
    let analyst = server.add_user("ca08", "analyst", &["08"], false);
    let other = server.add_user("ca24", "analyst", &["24"], false);

    let get = |path: &str, token: &str| -> Value {
        let r = server.get(path, Some(token));
        assert_eq!(r.status, 200, "{path}: {}", r.describe());
        r.json()
    };
    let clusters = get(
        "/v1/analytics/clusters?province=08&eps_m=150&min_points=3",
        &analyst,
    );
    let cs = clusters["features"].as_array().unwrap();
    assert_eq!(cs.len(), 1, "one suggested tụ điểm: {clusters}");
    assert_eq!(cs[0]["properties"]["count"], 6);
    assert!(cs[0]["properties"]["radius_m"].as_f64().unwrap() < 50.0);

    let density = get(
        "/v1/analytics/density?province=08&bandwidth_m=500&cell_m=200",
        &analyst,
    );
    let cells = density["features"].as_array().unwrap();
    assert!(!cells.is_empty());
    let top = cells
        .iter()
        .max_by(|a, b| {
            a["properties"]["value"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["properties"]["value"].as_f64().unwrap())
        })
        .unwrap();
    let ring = &top["geometry"]["coordinates"][0];
    let (lon, lat) = (ring[0][0].as_f64().unwrap(), ring[0][1].as_f64().unwrap());
    assert!(
        (lon - 105.2).abs() < 0.01 && (lat - 22.0).abs() < 0.01,
        "the densest cell is at the cluster: {top}"
    );

    let gi = get("/v1/analytics/gistar?province=08&permutations=99", &analyst);
    let units = gi["features"].as_array().unwrap();
    assert!(!units.is_empty(), "{gi}");
    // Reconciles with the hotspots layer: the communes' counts add up to the province's active
    // hotspots.
    let total: f64 = units
        .iter()
        .map(|u| u["properties"]["value"].as_f64().unwrap())
        .sum();
    let layer = get(
        "/collections/hotspots/items?province=08&status=reported,verifying,reemerged&limit=1",
        &analyst,
    );
    assert_eq!(total, layer["numberMatched"].as_f64().unwrap());
    let hottest = units
        .iter()
        .max_by(|a, b| {
            a["properties"]["z"]
                .as_f64()
                .unwrap_or(f64::MIN)
                .total_cmp(&b["properties"]["z"].as_f64().unwrap_or(f64::MIN))
        })
        .unwrap();
    let most = units
        .iter()
        .map(|u| u["properties"]["value"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(
        hottest["properties"]["value"].as_f64().unwrap(),
        most,
        "{hottest}"
    );
    for u in units {
        let p = &u["properties"];
        assert!(p["p_sim"].is_number() || p["p_sim"].is_null(), "{p}");
        assert!(p["class_fdr"].is_string(), "{p}");
    }

    // Scoped: another province's analyst cannot read 08; bad input is named.
    for layer in ["clusters", "density", "gistar"] {
        assert_eq!(
            server
                .get(&format!("/v1/analytics/{layer}?province=08"), Some(&other))
                .status,
            404
        );
    }
    assert_eq!(
        server
            .get("/v1/analytics/hexbins?province=08", Some(&analyst))
            .status,
        404
    );
    assert_eq!(
        server
            .get(
                "/v1/analytics/clusters?province=08&eps_m=wide",
                Some(&analyst)
            )
            .status,
        400
    );
    assert_eq!(
        server
            .get(
                "/v1/analytics/clusters?province=08&eps_m=-5",
                Some(&analyst)
            )
            .status,
        422
    );
    assert_eq!(
        server
            .get("/v1/analytics/clusters?province=08", None)
            .status,
        401
    );
}

/// `(lon, lat)` → the XYZ tile containing it at zoom `z`.
fn tile_at(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let l = lat.to_radians();
    let y =
        ((1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

/// A dated registry with known trends: cluster P (10 điểm) active for the whole window, cluster
/// H (7) eliminated in the window's last quarter, cluster N (6) reported in it, and five lone
/// điểm. Quarterly emerging hot spots over 2023-Q3..2026-Q2 on 5 km hexagons must call P
/// persistent, H historical and N new; counting new reports instead, only N is a hot spot.
/// Also: Gi* on hexagons and for the whole country, the heat map as TileJSON and PNG tiles, and
/// the parameters' errors.
#[test]
fn emerging_trends_hexagons_country_and_heat_map_tiles() {
    const P: (f64, f64) = (105.3, 22.1);
    const H: (f64, f64) = (105.0, 21.7);
    const N: (f64, f64) = (105.45, 21.65);
    let data = DataDir::with_boundaries();
    let server = TestServer::serve(data);
    let admin = server.add_user("admin", "admin", &[], true);
    let analyst = server.add_user("ca08", "analyst", &["08"], false);
    let other = server.add_user("ca24", "analyst", &["24"], false);
    let both = server.add_user("cuc", "analyst", &["08", "24"], false);

    let mut rows: Vec<common::DatedHotspot<'_>> = Vec::new();
    let near = |(lon, lat): (f64, f64), i: usize| {
        let d = i as f64 * 0.0002;
        (lon + d, lat + d / 2.0)
    };
    for i in 0..10 {
        rows.push((near(P, i), "diem_ban_le", "2023-01-15", vec![]));
    }
    for i in 0..7 {
        let gone = vec![("eliminated", "2026-05-01")];
        rows.push((near(H, i), "diem_ban_le", "2022-11-02", gone));
    }
    for i in 0..6 {
        rows.push((near(N, i), "diem_ban_le", "2026-04-15", vec![]));
    }
    for at in [
        (104.9, 22.4),
        (105.55, 22.45),
        (104.85, 21.55),
        (105.5, 21.9),
        (105.15, 22.3),
    ] {
        rows.push((at, "diem_ban_le", "2023-02-01", vec![]));
    }
    server.import_dated_hotspots(&admin, &rows);
    let get = |path: &str, token: &str| -> Value {
        let r = server.get(path, Some(token));
        assert_eq!(r.status, 200, "{path}: {}", r.describe());
        r.json()
    };
    let unit_with = |fc: &Value, values: &[f64]| -> Value {
        fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                let v: Vec<f64> = f["properties"]["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                v == values
            })
            .unwrap_or_else(|| panic!("no unit with values {values:?}"))
            .clone()
    };

    let q = "/v1/analytics/emerging?province=08&grid=hex&cell_m=5000&step=quarter&periods=12&end=2026-06-30";
    let em = get(q, &analyst);
    let periods: Vec<&str> = em["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(periods.len(), 12);
    assert_eq!((periods[0], periods[11]), ("2023-Q3", "2026-Q2"));
    assert_eq!(em["measure"], "active");
    let p = unit_with(&em, &[10.0; 12]);
    assert_eq!(p["properties"]["pattern"], "persistent_hot_spot", "{p}");
    assert_eq!(p["properties"]["label"], "Điểm nóng dai dẳng");
    let mut h_values = [7.0; 12];
    h_values[11] = 0.0;
    let h = unit_with(&em, &h_values);
    assert_eq!(h["properties"]["pattern"], "historical_hot_spot", "{h}");
    let mut n_values = [0.0; 12];
    n_values[11] = 6.0;
    let n = unit_with(&em, &n_values);
    assert_eq!(n["properties"]["pattern"], "new_hot_spot", "{n}");
    assert_eq!(n["properties"]["bins"].as_array().unwrap()[11], 1);
    // Every unit's last-period count adds up to the province's active hotspots on that day.
    let last_total: f64 = em["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["values"][11].as_f64().unwrap())
        .sum();
    assert_eq!(last_total, 10.0 + 6.0 + 5.0);

    // Counting reports instead: only N's cell has anything in the window's last quarter.
    let em_new = get(&format!("{q}&measure=new"), &analyst);
    let hot: Vec<&str> = em_new["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["bins"][11] == 1 && f["properties"]["values"][11] == 6.0)
        .map(|f| f["properties"]["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(hot, ["new_hot_spot"]);
    let persistent = em_new["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["pattern"] == "persistent_hot_spot")
        .count();
    assert_eq!(persistent, 0, "no reports in P's cell in the window");

    // Gi* on hexagons: P's cell is a 99 % hot spot; the cells add up to the layer's count.
    let gi = get(
        "/v1/analytics/gistar?province=08&grid=hex&cell_m=5000&permutations=99",
        &analyst,
    );
    let cells = gi["features"].as_array().unwrap();
    assert!(cells.len() > 300 && cells.len() < 600, "{}", cells.len());
    let p_cell = cells
        .iter()
        .find(|f| f["properties"]["value"] == 10.0)
        .expect("P's cell");
    assert_eq!(p_cell["properties"]["class_fdr"], "hot_99", "{p_cell}");
    let total: f64 = cells
        .iter()
        .map(|f| f["properties"]["value"].as_f64().unwrap())
        .sum();
    let layer = get(
        "/collections/hotspots/items?province=08&status=reported,verifying,reemerged&limit=1",
        &analyst,
    );
    assert_eq!(total, layer["numberMatched"].as_f64().unwrap());

    // Without a province: the whole country for national callers, the only province otherwise.
    let country = get("/v1/analytics/gistar?permutations=99", &admin);
    let ids: Vec<&str> = country["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["02200", "02201", "07000", "07001"]);
    let own = get("/v1/analytics/gistar?permutations=99", &analyst);
    assert_eq!(own["features"].as_array().unwrap().len(), 2);
    let r = server.get("/v1/analytics/gistar", Some(&both));
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.text().contains("province"), "{}", r.describe());

    // The heat map: TileJSON with the colour scale, a tile over P coloured, one far away empty.
    let tj = get(
        "/v1/analytics/density.json?province=08&bandwidth_m=1000",
        &analyst,
    );
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["vigil:points"], 21);
    let max = tj["vigil:max"].as_f64().unwrap();
    assert!(
        max > 1.0,
        "10 điểm within 200 m make a peak over 1 per km²: {max}"
    );
    let template = tj["tiles"][0].as_str().unwrap();
    assert!(template.contains("province=08"), "{template}");
    let tile = |z: u32, at: (f64, f64), token: &str| {
        let (x, y) = tile_at(at.0, at.1, z);
        server.get(
            &format!("/v1/analytics/density/{z}/{x}/{y}.png?province=08&bandwidth_m=1000"),
            Some(token),
        )
    };
    let pixels = |r: &common::Response| -> Vec<[u8; 4]> {
        assert_eq!(r.status, 200, "{}", r.describe());
        assert_eq!(r.header("content-type"), Some("image/png"));
        let img = image::load_from_memory(&r.body).unwrap().to_rgba8();
        assert_eq!(img.dimensions(), (256, 256));
        img.pixels().map(|p| p.0).collect()
    };
    for z in [8, 11, 13] {
        let px = pixels(&tile(z, P, &analyst));
        let red = px
            .iter()
            .filter(|p| p[3] > 0 && p[0] > 180 && p[2] < 100)
            .count();
        assert!(red > 0, "zoom {z}: the tile over P shows density");
    }
    let far = pixels(&tile(13, (104.85, 22.45), &analyst));
    assert!(far.iter().all(|p| p[3] == 0), "no điểm near: transparent");
    assert_eq!(tile(3, P, &analyst).status, 404);
    assert_eq!(tile(11, P, &other).status, 404);

    // Errors name the parameter.
    for (path, status) in [
        ("/v1/analytics/emerging?province=08&step=week", 400),
        ("/v1/analytics/emerging?province=08&periods=2", 422),
        ("/v1/analytics/emerging?province=08&measure=all", 400),
        ("/v1/analytics/emerging?province=08&end=2026-13-01", 400),
        ("/v1/analytics/gistar?province=08&cell_m=5000", 400),
        ("/v1/analytics/gistar?province=08&grid=square", 400),
        ("/v1/analytics/gistar?province=08&grid=hex&cell_m=500", 422),
        ("/v1/analytics/gistar?grid=hex&cell_m=100", 422),
        ("/v1/analytics/density.json?province=08&bandwidth_m=10", 422),
        ("/v1/analytics/density/11/1/1.webp?province=08", 404),
        ("/v1/analytics/emerging?province=24", 404),
    ] {
        let token = if path.contains("province=24") {
            &analyst
        } else {
            &admin
        };
        let r = server.get(path, Some(token));
        assert_eq!(r.status, status, "{path}: {}", r.describe());
    }
}
