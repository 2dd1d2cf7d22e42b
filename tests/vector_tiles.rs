//! Issue 16, first part: hotspots as Mapbox Vector Tiles (OGC API – Tiles, `WebMercatorQuad`).
//! Every tile is read by two decoders that are not Vigil's — GDAL's MVT driver (`ogrinfo`) and
//! PyPI's `mapbox-vector-tile` —; at high zoom a tile's points are the items over its bounds, at
//! low zoom its cell counts add up to their `numberMatched`; another province's user gets no
//! point and no count of this one's.

mod common;

use std::path::Path;
use std::process::Command;

use common::{DataDir, TestServer, venv_python};
use serde_json::Value;

/// The tile `(x, y)` holding `(lon, lat)` at zoom `z`.
fn tile_at(lon: f64, lat: f64, z: u32) -> (u64, u64) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u64;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u64;
    (x, y)
}

/// `[w, s, e, n]` of a tile in lon/lat.
fn tile_bounds(z: u32, x: u64, y: u64) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| {
        (std::f64::consts::PI * (1.0 - 2.0 * y / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    [
        lon(x as f64),
        lat(y as f64 + 1.0),
        lon(x as f64 + 1.0),
        lat(y as f64),
    ]
}

fn decode(files: &[&Path]) -> Option<Value> {
    let script = common::manifest_dir().join("tests/clients/mvt_decode.py");
    let out = Command::new(venv_python())
        .arg(script)
        .args(files)
        .output()
        .expect("run mvt_decode.py");
    if out.status.code() == Some(2)
        && common::external_tool_missing(
            false,
            "mapbox-vector-tile (tests/clients/requirements.txt)",
        )
    {
        return None;
    }
    assert!(out.status.success(), "{}", common::describe_output(&out));
    Some(serde_json::from_slice(&out.stdout).expect("mvt_decode.py JSON"))
}

/// A data directory with the boundaries and the review scene ingested (flags of both classes);
/// the scene lives in the returned directory.
fn flown_scene() -> (tempfile::TempDir, DataDir) {
    let dir = tempfile::tempdir().unwrap();
    let tif = common::review_scene(dir.path());
    let data = DataDir::with_boundaries();
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-01-10T08:00:00Z"],
    );
    (dir, data)
}

/// Fetches `collection`'s tile `(z, x, y)` as `token` into `file` (200 asserted) and returns the
/// items' `numberMatched` over the tile's bounds (with `query`, `&`-joined, when not empty).
fn tile_and_matched(
    server: &TestServer,
    collection: &str,
    (z, x, y): (u32, u64, u64),
    token: &str,
    file: &Path,
    query: &str,
) -> u64 {
    let path = format!("/collections/{collection}/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let r = server.get(&path, Some(token));
    assert_eq!(r.status, 200, "{path}: {}", r.describe());
    std::fs::write(file, &r.body).unwrap();
    let [w, s, e, n] = tile_bounds(z, x, y);
    let extra = if query.is_empty() {
        String::new()
    } else {
        format!("&{query}")
    };
    server
        .get(
            &format!("/collections/{collection}/items?limit=1&bbox={w},{s},{e},{n}{extra}"),
            Some(token),
        )
        .json()["numberMatched"]
        .as_u64()
        .unwrap()
}

/// GDAL's MVT driver: the feature count of the tile's `hotspots` layer.
fn gdal_count(file: &Path, z: u32, x: u64, y: u64) -> Option<u64> {
    gdal_layer_count(file, z, x, y, "hotspots")
}

/// GDAL's MVT driver: the feature count of one layer of a tile.
fn gdal_layer_count(file: &Path, z: u32, x: u64, y: u64, layer: &str) -> Option<u64> {
    let out = Command::new("ogrinfo")
        .args([
            "-ro",
            "-so",
            "-oo",
            &format!("X={x}"),
            "-oo",
            &format!("Y={y}"),
            "-oo",
            &format!("Z={z}"),
        ])
        .arg(format!("MVT:{}", file.display()))
        .arg(layer)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|n| n.trim().parse().ok())
}

#[test]
fn hotspot_tiles_read_by_gdal_and_mapbox_vector_tile_add_up_to_number_matched() {
    let data = DataDir::with_boundaries();
    let national = data.add_user("tiles-national", "viewer", &[], true);
    let viewer08 = data.add_user("tiles-viewer08", "viewer", &["08"], false);
    let viewer24 = data.add_user("tiles-viewer24", "viewer", &["24"], false);
    // More than a tile draws one by one (10 000), so low zooms aggregate.
    data.seed_hotspots(25_000);
    let server = TestServer::serve(data);
    let dir = tempfile::tempdir().unwrap();
    let gdal = common::runs("ogrinfo", &["--version"]);
    let mut checked = Vec::new();
    for (who, token) in [
        ("national", &national),
        ("viewer08", &viewer08),
        ("viewer24", &viewer24),
    ] {
        // The tiles over one of the hotspots this user may see, from the whole world down.
        let one = server
            .get("/collections/hotspots/items?limit=1", Some(token))
            .json();
        let at = &one["features"][0]["geometry"]["coordinates"];
        let (cx, cy) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        for z in [0u32, 4, 8, 12, 15] {
            let (x, y) = tile_at(cx, cy, z);
            let path = format!("/collections/hotspots/tiles/WebMercatorQuad/{z}/{y}/{x}");
            let r = server.get(&path, Some(token));
            assert_eq!(r.status, 200, "{path}: {}", r.describe());
            assert_eq!(
                r.header("content-type"),
                Some("application/vnd.mapbox-vector-tile")
            );
            let file = dir.path().join(format!("{who}-{z}-{x}-{y}.pbf"));
            std::fs::write(&file, &r.body).unwrap();
            let [w, s, e, n] = tile_bounds(z, x, y);
            let bbox = format!("bbox={w},{s},{e},{n}");
            let matched = server.hotspots_matched(token, &bbox);
            let Some(decoded) = decode(&[&file]) else {
                return;
            };
            let t = &decoded[file.to_str().unwrap()];
            assert_eq!(
                t["count"], matched,
                "{who} z{z}: counts vs numberMatched ({bbox}): {t}"
            );
            if t["aggregated"] == 0 {
                // Points: exactly the items over the tile (compared id by id where one page of
                // items holds them all).
                assert_eq!(t["features"], matched, "{who} z{z}");
            }
            if t["aggregated"] == 0 && matched <= 10_000 {
                let items = server
                    .get(
                        &format!("/collections/hotspots/items?limit=10000&{bbox}"),
                        Some(token),
                    )
                    .json();
                let mut ids: Vec<i64> = items["features"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["id"].as_i64().unwrap())
                    .collect();
                ids.sort_unstable();
                assert!(
                    t["ids"] == serde_json::json!(ids),
                    "{who} z{z}: the tile's ids differ from the items'"
                );
            }
            if t["aggregated"] != 0 {
                assert!(
                    matched > 10_000,
                    "{who} z{z}: aggregated with only {matched}"
                );
            }
            if gdal {
                assert_eq!(
                    gdal_count(&file, z, x, y),
                    t["features"].as_u64(),
                    "GDAL, {who} z{z}"
                );
            }
            // A filter narrows the tile as it narrows the items.
            let r = server.get(&format!("{path}?status=reported"), Some(token));
            std::fs::write(&file, &r.body).unwrap();
            let narrowed = &decode(&[&file]).unwrap()[file.to_str().unwrap()];
            assert_eq!(
                narrowed["count"],
                server.hotspots_matched(token, &format!("{bbox}&status=reported")),
                "{who} z{z} status=reported"
            );
            checked.push(format!(
                "{who} z{z}: {matched} hotspots, {} features",
                t["features"]
            ));
        }
    }
    eprintln!("{}", checked.join("\n"));
    // The highest zoom draws points one by one; at z0 the national user's 25 000 are counted
    // per cell; province 24's user counts none of province 08's (and the two add up).
    assert!(
        checked.iter().all(|c| !c.contains(" 0 hotspots")),
        "a tile over a hotspot is empty"
    );
    let r = server.get("/collections/hotspots/tiles/WebMercatorQuad/0/0/0", None);
    assert_eq!(r.status, 401);
    let r = server.get(
        "/collections/roads/tiles/WebMercatorQuad/0/0/0",
        Some(&national),
    );
    assert_eq!(r.status, 404, "{}", r.describe());
    let r = server.get(
        "/collections/hotspots/tiles/WebMercatorQuad/0/0/0?limit=5",
        Some(&national),
    );
    assert_eq!(
        r.status,
        400,
        "an items parameter a tile does not take: {}",
        r.describe()
    );
    let r = server.get(
        "/collections/hotspots/tiles/WebMercatorQuad/3/9/1",
        Some(&national),
    );
    assert_eq!(r.status, 404, "a tile outside the matrix: {}", r.describe());
}

/// The other layers as vector tiles: communes, provinces, survey footprints and flagged plots
/// over a flown scene, each tile's features those of the items over its bounds (read by both
/// decoders); another province's user gets none of them.
#[test]
fn boundary_survey_and_flag_tiles_hold_the_items_over_them() {
    let (dir, data) = flown_scene();
    let national = data.add_user("vt-national", "viewer", &[], true);
    let viewer24 = data.add_user("vt-viewer24", "viewer", &["24"], false);
    let server = TestServer::serve(data);
    let flags = server
        .get("/collections/flags/items?limit=1", Some(&national))
        .json();
    assert!(
        flags["numberMatched"].as_u64().is_some_and(|n| n > 0),
        "{flags}"
    );
    let b = &flags["features"][0]["bbox"];
    let (cx, cy) = (
        (b[0].as_f64().unwrap() + b[2].as_f64().unwrap()) / 2.0,
        (b[1].as_f64().unwrap() + b[3].as_f64().unwrap()) / 2.0,
    );
    let gdal = common::runs("ogrinfo", &["--version"]);
    let mut seen = Vec::new();
    for (collection, zooms) in [
        ("provinces", &[5u32, 8][..]),
        ("communes", &[8, 12]),
        ("surveys", &[12, 16]),
        ("flags", &[12, 16, 18]),
    ] {
        for &z in zooms {
            let (x, y) = tile_at(cx, cy, z);
            for (who, token) in [("national", &national), ("viewer24", &viewer24)] {
                let file = dir.path().join(format!("{collection}-{who}-{z}.pbf"));
                let matched = tile_and_matched(&server, collection, (z, x, y), token, &file, "");
                let Some(decoded) = decode(&[&file]) else {
                    return;
                };
                let t = &decoded[file.to_str().unwrap()];
                assert_eq!(t["features"], matched, "{collection} z{z} for {who}: {t}");
                if gdal && matched > 0 {
                    assert_eq!(
                        gdal_layer_count(&file, z, x, y, collection),
                        Some(matched),
                        "GDAL: {collection} z{z} for {who}"
                    );
                }
                if who == "viewer24" && collection != "provinces" {
                    assert_eq!(
                        matched, 0,
                        "{collection} z{z}: province 24 sees province 08's"
                    );
                }
                seen.push(format!("{collection} z{z} {who}: {matched}"));
            }
        }
    }
    // Discovery: the collection links its tile sets; the tile set and TileJSON give the
    // template; a tile from the template is the tile; conformance says OGC API – Tiles.
    let col = server.get("/collections/flags", Some(&national)).json();
    let sets = col["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector")
        .and_then(|l| l["href"].as_str())
        .expect("a tilesets-vector link")
        .to_string();
    let local = |href: &str| format!("/{}", href.splitn(4, '/').nth(3).unwrap());
    let sets = server.get(&local(&sets), Some(&national)).json();
    assert_eq!(sets["tilesets"][0]["dataType"], "vector", "{sets}");
    let meta = server
        .get("/collections/flags/tiles/WebMercatorQuad", Some(&national))
        .json();
    let template = meta["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "item")
        .and_then(|l| l["href"].as_str())
        .unwrap()
        .to_string();
    let tj = server
        .get(
            "/collections/flags/tiles/WebMercatorQuad/tilejson.json",
            Some(&national),
        )
        .json();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["vector_layers"][0]["id"], "flags", "{tj}");
    let (x, y) = tile_at(cx, cy, 16);
    let from_template = template
        .replace("{tileMatrix}", "16")
        .replace("{tileRow}", &y.to_string())
        .replace("{tileCol}", &x.to_string());
    let from_tilejson = tj["tiles"][0]
        .as_str()
        .unwrap()
        .replace("{z}", "16")
        .replace("{y}", &y.to_string())
        .replace("{x}", &x.to_string());
    let a = server.get(&local(&from_template), Some(&national));
    let b = server.get(&local(&from_tilejson), Some(&national));
    assert_eq!(a.status, 200, "{}", a.describe());
    assert!(
        a.body == b.body && !a.body.is_empty(),
        "template and TileJSON give the same tile"
    );
    let conf = server
        .get("/conformance", Some(&national))
        .json()
        .to_string();
    assert!(conf.contains("ogcapi-tiles-1/1.0/conf/mvt"), "{conf}");
    // The tiling scheme, linked from the landing page (ogc-client needs it).
    let landing = server.get("/", None).json();
    assert!(
        landing["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"),
        "{landing}"
    );
    let tms = server
        .get("/tileMatrixSets/WebMercatorQuad?f=json", None)
        .json();
    let m = tms["tileMatrices"].as_array().unwrap();
    assert_eq!(m.len(), 25);
    assert_eq!(m[16]["matrixWidth"], 65536);
    assert!((m[0]["cellSize"].as_f64().unwrap() - 156_543.033_928).abs() < 1e-3);

    eprintln!("{}", seen.join("\n"));
    assert!(
        seen.iter()
            .filter(|s| s.contains("national"))
            .all(|s| !s.ends_with(": 0")),
        "every national tile over the scene holds something: {seen:?}"
    );
}

/// Where a tile holds more than 10,000 flags it carries counts per cell with the class breakdown,
/// adding up to the items' `numberMatched` over the tile (read by both decoders); nearer, every
/// flag is a point again; another province's user gets no count of them.
#[test]
fn dense_flag_tiles_count_per_cell_with_the_class_breakdown() {
    let (dir, data) = flown_scene();
    // 10,500 more flags, copies of the scene's first one spread over about a kilometre (what a
    // season of surveys over one valley leaves), a third of them cannabis.
    let store = data.store();
    let db = store.db();
    let added = db
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 10499)
             INSERT INTO flags (survey_id, class, confidence, area_m2, status, geometry, min_lon,
               min_lat, max_lon, max_lat, lon, lat, province_code, commune_code, acquired_at,
               model_version, drivers, created_at, near_hotspots, probabilities)
             SELECT f.survey_id, CASE WHEN n.i % 3 = 0 THEN 'cannabis' ELSE 'poppy' END,
               f.confidence, f.area_m2, 'new', f.geometry,
               f.min_lon + (n.i % 100 - 50) * 1e-4, f.min_lat + (n.i / 100 - 50) * 1e-4,
               f.max_lon + (n.i % 100 - 50) * 1e-4, f.max_lat + (n.i / 100 - 50) * 1e-4,
               f.lon + (n.i % 100 - 50) * 1e-4, f.lat + (n.i / 100 - 50) * 1e-4,
               f.province_code, f.commune_code, f.acquired_at, f.model_version, f.drivers,
               f.created_at, '[]', '{}'
             FROM n, (SELECT * FROM flags WHERE superseded_at IS NULL ORDER BY id LIMIT 1) AS f",
            (),
        )
        .unwrap();
    assert_eq!(added, 10_500);
    let (lon, lat): (f64, f64) = db
        .query_row(
            "SELECT lon, lat FROM flags WHERE superseded_at IS NULL ORDER BY id LIMIT 1",
            (),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();

    drop(store);
    let national = data.add_user("vt-flags-national", "viewer", &[], true);
    let viewer24 = data.add_user("vt-flags-24", "viewer", &["24"], false);
    let server = TestServer::serve(data);
    let gdal = common::runs("ogrinfo", &["--version"]);
    let mut seen = Vec::new();
    for z in [10u32, 12, 17] {
        let (x, y) = tile_at(lon, lat, z);
        for (who, token) in [("national", &national), ("viewer24", &viewer24)] {
            let file = dir.path().join(format!("dense-flags-{who}-{z}.pbf"));
            let matched = tile_and_matched(&server, "flags", (z, x, y), token, &file, "");
            let poppy = {
                let f = dir.path().join(format!("dense-flags-{who}-{z}-poppy.pbf"));
                tile_and_matched(&server, "flags", (z, x, y), token, &f, "class=poppy")
            };
            let Some(decoded) = decode(&[&file]) else {
                return;
            };
            let t = &decoded[file.to_str().unwrap()];
            if matched > 10_000 {
                assert!(t["aggregated"].as_u64().unwrap() > 0, "z{z} {who}: {t}");
                assert_eq!(t["aggregated"], t["features"], "z{z} {who}: {t}");
                assert_eq!(t["count"], matched, "z{z} {who}: cells add up: {t}");
                assert_eq!(t["classes"]["poppy"], poppy, "z{z} {who}: {t}");
                assert_eq!(t["classes"]["cannabis"], matched - poppy, "z{z} {who}: {t}");
            } else {
                assert_eq!(t["aggregated"], 0, "z{z} {who}: {t}");
                assert_eq!(t["features"], matched, "z{z} {who}: {t}");
            }
            if gdal && matched > 0 {
                assert_eq!(
                    gdal_layer_count(&file, z, x, y, "flags"),
                    t["features"].as_u64(),
                    "GDAL: flags z{z} for {who}"
                );
            }
            if who == "viewer24" {
                assert_eq!(matched, 0, "z{z}: province 24 sees province 08's flags");
                assert_eq!(t["features"], 0, "z{z}: province 24's tile: {t}");
            }
            seen.push(format!(
                "z{z} {who}: {matched} flags, {} features",
                t["features"]
            ));
        }
    }
    eprintln!("{}", seen.join("\n"));
    assert!(
        seen.iter().any(|s| s.starts_with("z10 national: 105")),
        "the z10 tile should hold all 10,500+ flags: {seen:?}"
    );
}
