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
