//! Issue 15, the clients users already have: sign-in that desktop GIS can do. QGIS and ArcGIS Pro
//! offer HTTP Basic only; Vigil takes the user name with an access token — or the web-map
//! password — as the password, over the same token store, counted against the login lock-out and
//! audited.

mod common;

use base64::Engine;
use common::{DataDir, TestServer, describe_output};

fn basic(name: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{name}:{secret}"))
    )
}

fn get_as(server: &TestServer, path: &str, authorization: &str) -> common::Response {
    server.request("GET", path, None, &[("Authorization", authorization)], None)
}

fn set_password(data: &DataDir, name: &str, password: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(common::VIGIL)
        .args([
            "user",
            "passwd",
            "--data-dir",
            data.path_str(),
            "--name",
            name,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", describe_output(&out));
}

#[test]
fn desktop_gis_signs_in_with_basic() {
    let data = DataDir::with_boundaries();
    let token = data.add_user("qgis-analyst", "analyst", &["08"], false);
    let other = data.add_user("someone-else", "analyst", &["08"], false);
    set_password(&data, "qgis-analyst", "đúng-mật-khẩu-2026");
    let server = TestServer::serve(data);
    let items = "/collections/hotspots/items?limit=1";

    // The user name with one of their tokens, or with their password.
    let r = get_as(&server, items, &basic("qgis-analyst", &token));
    assert_eq!(r.status, 200, "{}", r.describe());
    let r = get_as(&server, items, &basic("qgis-analyst", "đúng-mật-khẩu-2026"));
    assert_eq!(r.status, 200, "{}", r.describe());
    // The scheme name is case-insensitive, as HTTP says.
    let lower = basic("qgis-analyst", &token).replacen("Basic", "basic", 1);
    assert_eq!(get_as(&server, items, &lower).status, 200);
    // Bearer tokens keep working for the web map.
    assert_eq!(server.get(items, Some(&token)).status, 200);

    // Another user's token under this name, a wrong password, malformed credentials: 401.
    let r = get_as(&server, items, &basic("qgis-analyst", &other));
    assert_eq!(r.status, 401, "{}", r.describe());
    let r = get_as(&server, items, &basic("qgis-analyst", "sai"));
    assert_eq!(r.status, 401, "{}", r.describe());
    for bad in ["Basic !!!", "Basic bm9jb2xvbg==", "Basic OnNlY3JldA=="] {
        let r = get_as(&server, items, bad);
        assert_eq!(r.status, 401, "{bad}: {}", r.describe());
        assert!(r.text().contains("Basic"), "{bad}: {}", r.text());
    }

    // Guessing is limited like the login form: after five failures in the window (two above)
    // the name is locked, even for a right secret not seen before (credentials accepted in the
    // last 30 s are remembered, like tokens).
    let out = server
        .data
        .run_ok(&["user", "token"], &["--name", "qgis-analyst"]);
    let second = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    for _ in 0..3 {
        let r = get_as(&server, items, &basic("qgis-analyst", "sai"));
        assert_eq!(r.status, 401, "{}", r.describe());
    }
    let r = get_as(&server, items, &basic("qgis-analyst", &second));
    assert_eq!(r.status, 429, "{}", r.describe());
    assert_eq!(
        server.get(items, Some(&second)).status,
        200,
        "bearer is not locked"
    );

    // Audited: one entry per user and kind of secret within the hour, not one per request.
    let admin = server.add_user("adm15", "admin", &[], true);
    let audit = server.get("/v1/audit?entity=user&limit=1000", Some(&admin));
    assert_eq!(audit.status, 200, "{}", audit.describe());
    let entries: Vec<serde_json::Value> = audit.json()["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let basic_entries: Vec<_> = entries
        .iter()
        .filter(|e| e["action"] == "sign_in_basic")
        .collect();
    assert_eq!(basic_entries.len(), 2, "{}", audit.text());
}

#[test]
fn single_features_name_their_crs() {
    let data = DataDir::with_boundaries();
    let token = data.add_user("crs-viewer", "viewer", &[], true);
    let server = TestServer::serve(data);
    let epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326";
    let crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
    let list = server.get("/collections/communes/items?limit=1", Some(&token));
    assert_eq!(list.status, 200, "{}", list.describe());
    let code = list.json()["features"][0]["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            list.json()["features"][0]["properties"]["code"]
                .as_str()
                .map(str::to_string)
        })
        .expect("a commune");
    let r = server.get(&format!("/collections/communes/items/{code}"), Some(&token));
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(r.header("content-crs"), Some(format!("<{crs84}>").as_str()));
    let r = server.get(
        &format!("/collections/communes/items/{code}?crs={epsg4326}"),
        Some(&token),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(
        r.header("content-crs"),
        Some(format!("<{epsg4326}>").as_str())
    );
    // Part 1's links: a single feature links itself, its HTML page and its collection, and
    // /collections its HTML page.
    let rels = |v: &serde_json::Value| -> Vec<String> {
        v["links"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| l["rel"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let one = r.json();
    for rel in ["self", "alternate", "collection"] {
        assert!(rels(&one).contains(&rel.to_string()), "{rel}: {one}");
    }
    let cols = server.get("/collections", Some(&token)).json();
    assert!(rels(&cols).contains(&"alternate".to_string()), "{cols}");
}

/// One set of paging and time parameters on every collection: hotspots take `offset` (GeoNetwork's
/// ogc-client always sends `offset=0`) beside their `after` cursor, and the boundary collections
/// take `datetime` (they have no time, so every boundary is in any interval).
#[test]
fn every_collection_takes_offset_and_datetime() {
    let data = DataDir::with_boundaries();
    let token = data.add_user("paging-viewer", "viewer", &[], true);
    data.seed_hotspots(25);
    let server = TestServer::serve(data);
    let ids = |path: &str| -> Vec<i64> {
        let r = server.get(path, Some(&token));
        assert_eq!(r.status, 200, "{path}: {}", r.describe());
        r.json()["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let all = ids("/collections/hotspots/items?limit=25");
    assert_eq!(all.len(), 25);
    assert_eq!(
        ids("/collections/hotspots/items?limit=10&offset=0"),
        all[..10]
    );
    assert_eq!(
        ids("/collections/hotspots/items?limit=10&offset=10"),
        all[10..20]
    );
    assert_eq!(
        ids("/collections/hotspots/items?limit=10&offset=20"),
        all[20..]
    );
    // The next link of an offset page continues with the cursor.
    let r = server.get(
        "/collections/hotspots/items?limit=10&offset=5",
        Some(&token),
    );
    let next = r.json()["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .map(|l| l["href"].as_str().unwrap().to_string())
        .expect("a next link");
    let path = next.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    assert!(path.contains("after="), "{path}");
    assert_eq!(ids(&path), all[15..25]);
    for bad in [
        "/collections/hotspots/items?offset=-1",
        "/collections/hotspots/items?offset=5&after=3",
        "/collections/hotspots/items?offset=20000",
    ] {
        let r = server.get(bad, Some(&token));
        assert_eq!(r.status, 400, "{bad}: {}", r.describe());
    }
    // Boundaries: a valid datetime changes nothing, a bad one is refused.
    let communes = ids_text(&server, &token, "/collections/communes/items?limit=100");
    let dated = ids_text(
        &server,
        &token,
        "/collections/communes/items?limit=100&datetime=2025-01-01T/..",
    );
    assert_eq!(communes, dated);
    let r = server.get(
        "/collections/provinces/items?datetime=yesterday",
        Some(&token),
    );
    assert_eq!(r.status, 400, "{}", r.describe());
}

fn ids_text(server: &TestServer, token: &str, path: &str) -> Vec<String> {
    let r = server.get(path, Some(token));
    assert_eq!(r.status, 200, "{path}: {}", r.describe());
    r.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].to_string())
        .collect()
}
